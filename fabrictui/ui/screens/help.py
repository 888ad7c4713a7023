"""The `?` screen, built from the live bindings (after the user's keymap), so
it can never disagree with what the keys do."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding

from fabrictui.ui.screens.report import TextReportScreen
from fabrictui.ui.widgets.vm_pane import VmPane

EXTRA = [
    ("ctrl+p", "command palette: actions, themes, fault injection"),
    ("esc", "close a screen / clear the filter / answer no"),
    ("y / n", "answer a confirmation"),
    ("arrows, pgup/pgdn", "move in tables and scroll"),
]


def help_screen(
    active: Mapping[str, tuple[str, Binding]], keymap: Mapping[str, str]
) -> TextReportScreen:
    """`active`: binding id -> (keys as shown, binding), from the live bindings."""
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("what it does")
    table.add_column("id (for keymap)", style="dim")
    rows: dict[str, tuple[str, str]] = {}
    for binding_id, (keys, binding) in active.items():
        if binding_id.startswith(("confirm.", "report.")):
            continue
        rows[binding_id] = (keys, binding.tooltip or binding.description or binding.action)
    # the VM pane's own keys, also when another pane has the focus
    for binding in VmPane.BINDINGS:
        if binding.id not in rows:
            keys = keymap.get(binding.id, binding.key)
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
    return TextReportScreen("Help: keys", Group(body, table), "help")  # type: ignore[arg-type]
