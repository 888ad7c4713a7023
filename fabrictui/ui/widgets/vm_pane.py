from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from fabrictui.model import Host
from fabrictui.render.hosts import VM_COLUMNS, host_row
from fabrictui.session.state import LabState
from fabrictui.ui.widgets.pane import Pane
from fabrictui.ui.widgets.tables import KeyedTable


class VmPane(Pane):
    BINDINGS = [
        Binding("u", "app.vm_action('up')", "Up", id="vm.up", show=False,
                tooltip="vagrant up the selected VM (VM pane)"),
        Binding("h", "app.vm_action('halt')", "Halt", id="vm.halt", show=False,
                tooltip="vagrant halt the selected VM (asks first)"),
        Binding("r", "app.vm_action('reload')", "Reload", id="vm.reload", show=False,
                tooltip="vagrant reload the selected VM (asks first)"),
    ]  # fmt: skip

    def __init__(self, state: LabState, **kwargs) -> None:
        super().__init__(state, "VMs", 1, id="pane-vms", **kwargs)

    def compose(self) -> ComposeResult:
        # State fits "running, no SSH 59s"
        yield KeyedTable(VM_COLUMNS, widths=(15, 6, 4, 19, 8, 22), id="vm-table")

    def redraw(self) -> None:
        self.query_one(KeyedTable).sync(
            (h.name, host_row(h, self.palette, self.state.management_view(h)))
            for h in self.state.hosts
            if self._wanted(h)
        )

    def _wanted(self, host: Host) -> bool:
        needle = self.text_filter.lower()
        return not needle or needle in f"{host.name} {host.role} {host.state}".lower()

    def selected_host(self) -> str | None:
        return self.query_one(KeyedTable).selected_key()

    @property
    def table(self) -> DataTable:
        return self.query_one(KeyedTable)
