from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from fabrictui.model import Host
from fabrictui.render.hosts import VM_COLUMNS, host_row
from fabrictui.session.state import LabState
from fabrictui.ui.widgets.map_view import MapView
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
        Binding("v", "toggle_map", "Map here", id="vm.map", show=False,
                tooltip="the fabric map in the VM pane's place, and back (VM pane)"),
    ]  # fmt: skip

    def __init__(self, state: LabState, **kwargs) -> None:
        super().__init__(state, "VMs", 1, id="pane-vms", **kwargs)

    def compose(self) -> ComposeResult:
        # State fits "running, no SSH 59s"
        yield KeyedTable(VM_COLUMNS, widths=(15, 6, 4, 19, 8, 22), id="vm-table")
        yield MapView(self.state, id="vm-map")

    def on_mount(self) -> None:
        self.query_one(MapView).display = False
        # the map follows the fabric too, not only the hosts: redrawn as often as the map screen
        self.set_interval(1.0, self._draw_map)

    def action_toggle_map(self) -> None:
        view, table = self.query_one(MapView), self.query_one(KeyedTable)
        view.display = not view.display
        table.display = not view.display
        (view if view.display else table).focus()
        self.border_title = "1 Fabric map (v: VMs)" if view.display else "1 VMs"
        self.call_after_refresh(self._draw_map)

    def _draw_map(self) -> None:
        self.query_one(MapView).draw(self.palette)

    def redraw(self) -> None:
        self._draw_map()
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
