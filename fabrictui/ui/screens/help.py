"""The `?` screen, built from the live bindings (after the user's keymap), so
it can never disagree with what the keys do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from fabrictui.ui.screens.report import TextReportScreen
from fabrictui.ui.widgets.vm_pane import VmPane

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
    rows: dict[str, tuple[str, str]] = {}
    for active in app.active_bindings.values():
        binding = active.binding
        if binding.id is None or binding.id.startswith(("confirm.", "report.")):
            continue
        what = binding.tooltip or binding.description or binding.action
        rows[binding.id] = (app.get_key_display(binding), what)
    # the VM pane's own keys, also when another pane has the focus
    for binding in VmPane.BINDINGS:
        if binding.id not in rows:
            keys = app.settings.keymap.get(binding.id, binding.key)
            rows[binding.id] = (keys, binding.tooltip or binding.description)
    for binding_id, (keys, what) in sorted(rows.items()):
        table.add_row(keys, what, binding_id)
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
