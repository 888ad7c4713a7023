"""The `?` screen, built from the live bindings (after the user's keymap), so
it can never disagree with what the keys do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from fabrictui.ui.screens.report import TextReportScreen

if TYPE_CHECKING:
    from fabrictui.app import FabricApp

EXTRA = [
    ("ctrl+p", "command palette: actions, themes, fault injection"),
    ("esc", "close a screen / clear the filter / answer no"),
    ("y / n", "answer a confirmation"),
    ("arrows, pgup/pgdn", "move in tables and scroll"),
]


def help_screen(app: FabricApp) -> TextReportScreen:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("what it does")
    table.add_column("id (for keymap)", style="dim")
    for _key, active in sorted(
        app.active_bindings.items(), key=lambda item: item[1].binding.id or ""
    ):
        binding = active.binding
        if binding.id is None or binding.id.startswith(("confirm.", "report.")):
            continue
        what = binding.tooltip or binding.description or binding.action
        table.add_row(app.get_key_display(binding), what, binding.id)
    for key, text in EXTRA:
        table.add_row(key, text, "")
    body = Text()
    body.append_text(
        Text.from_markup(
            "[b]fabrictui[/b]: the fabric, the cluster and the overlay on one screen.\n"
            "Keys can be remapped in the config file, section \\[keymap], by id "
            '(e.g. action.deploy = "ctrl+d").\n\n'
        )
    )
    from rich.console import Group

    return TextReportScreen("Help: keys", Group(body, table), "help")  # type: ignore[arg-type]
