"""The main screen: title, the four panes (or one at a time with tabs), the
filter box, the action log and the status line.

It owns the layout (which pane is active, zoom, single-pane mode below
120x34) and the filter; it draws what the `LabState` holds when told that
something changed. It does no I/O and holds no lab data of its own.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static

from fabrictui.model import LabInfo
from fabrictui.render.common import Palette, freshness
from fabrictui.session.state import LabState
from fabrictui.ui.drill_ui import DrillController
from fabrictui.ui.widgets.action_log import ActionLog, StatusLine
from fabrictui.ui.widgets.fabric_pane import FabricPane, FabricView
from fabrictui.ui.widgets.footer import KeyFooter
from fabrictui.ui.widgets.kube_pane import KubePane
from fabrictui.ui.widgets.overlay_pane import OverlayPane
from fabrictui.ui.widgets.pane import Pane
from fabrictui.ui.widgets.vm_pane import VmPane

PANE_IDS = ("pane-vms", "pane-fabric", "pane-kube", "pane-overlay")
# which of the state's sources each pane shows
PANE_SOURCES = {
    "pane-vms": ("hosts",),
    "pane-fabric": ("fabric",),
    # bgp: Calico's mode, read from the API every fabric refresh: the watches are silent
    # between changes, so this poll is what tells a pane that the API stopped answering
    "pane-kube": ("nodes", "pods", "bgp"),
    "pane-overlay": ("capture",),
}
# the tables whose rows Enter opens, and the kind of object a row is (actions.drill)
ROW_KINDS = {"pod-table": "pod", "node-table": "node", "vm-table": "vm", "service-table": "service"}
# below this size one pane at a time is shown, with tabs to switch
SINGLE_PANE_WIDTH = 120
SINGLE_PANE_HEIGHT = 34
IDLE_STATUS = "1-4 panes  z zoom  / filter  space pause  w pcap  f transit  t theme  x cancel"


class MainScreen(Screen):
    BINDINGS = [
        Binding("1", "focus_pane(1)", "VMs", id="pane.1", show=False,
                tooltip="show / focus the VM pane"),
        Binding("2", "focus_pane(2)", "Fabric", id="pane.2", show=False,
                tooltip="show / focus the fabric (BGP) pane"),
        Binding("3", "focus_pane(3)", "K8s", id="pane.3", show=False,
                tooltip="show / focus the Kubernetes pane"),
        Binding("4", "focus_pane(4)", "Overlay", id="pane.4", show=False,
                tooltip="show / focus the overlay (VXLAN) pane"),
        Binding("z", "zoom", "Zoom", id="pane.zoom", show=False,
                tooltip="zoom the focused pane to the whole screen, and back"),
        Binding("slash", "filter", "Filter", id="pane.filter", show=False,
                tooltip="filter the focused pane (pods: ns:NAME words)"),
        # Enter on a table's row comes as RowSelected (on_data_table_row_selected), on the
        # fabric pane's as FabricView.Chosen; this one serves a pane whose view lost focus
        Binding("enter", "detail", "Detail", id="drill.detail", show=False,
                tooltip="what is known about the selected row (pod, node, session, switch, vm)"),
        Binding("l", "logs", "Logs", id="drill.logs", show=False,
                tooltip="the selected pod's logs"),
        Binding("E", "events", "Events", id="drill.events", show=False,
                tooltip="the cluster's events, Warning first"),
    ]  # fmt: skip

    def __init__(self, state: LabState, read_only: bool, overlay_lines: int) -> None:
        super().__init__()
        self.state = state
        self.read_only = read_only
        self.overlay_lines = overlay_lines
        self.palette = Palette()
        self.zoomed = False
        self.active_pane = 1
        self.title_note = ""  # e.g. the recorded time of a replay
        self.idle_status = IDLE_STATUS  # the status line's keys when nothing runs
        self._drill: DrillController | None = None

    def compose(self) -> ComposeResult:
        yield Static(self._title_text(), id="title-bar")
        yield Static("", id="pane-tabs")
        with Vertical(id="panes"):
            with Horizontal(id="top-row"):
                yield VmPane(self.state)
                yield FabricPane(self.state)
            yield KubePane(self.state)
            yield OverlayPane(self.state, max_lines=self.overlay_lines)
        yield Input(placeholder="filter (ns:NAME words), enter to keep, esc to clear", id="filter")
        yield ActionLog(id="action-log")
        yield StatusLine("", id="status")
        yield KeyFooter()

    class Ready(Message):
        """The screen's widgets exist: the app may start drawing and feeding."""

    def on_mount(self) -> None:
        self.layout_for(self.app.size.width, self.app.size.height)
        self.show_status(None)
        self.pane(1).focus_content()
        self.post_message(self.Ready())

    # -- what the app tells it -----

    def set_palette(self, palette: Palette) -> None:
        self.palette = palette
        for pane in self.query(Pane):
            pane.palette = palette
            pane.redraw_border()
            pane.redraw()
        self.query_one("#title-bar", Static).update(self._title_text())

    def set_title_note(self, note: str) -> None:
        self.title_note = note
        self.query_one("#title-bar", Static).update(self._title_text())

    def log_line(self, message: str, level: str = "info") -> None:
        self.query_one(ActionLog).add(message, level, self.palette, when=self.state.clock())

    def show_status(
        self, running: str | None, message: str = "", fraction: float | None = None
    ) -> None:
        if running:
            bar = ""
            if fraction is not None:
                filled = int(max(0.0, min(1.0, fraction)) * 20)
                bar = f" [{'#' * filled}{'.' * (20 - filled)}] {fraction:.0%}"
            text = f"▶ {running}{bar}  {message}   (x cancels)"
        else:
            text = ("READ-ONLY  " if self.read_only else "") + self.idle_status
        self.query_one(StatusLine).update(text, layout=False)

    def tick(self) -> None:
        """Once a second: data ages, stale marks, problems, counters, pod ages."""
        now = self.state.clock()
        for pane_id, sources in PANE_SOURCES.items():
            fresh = self.state.freshness(sources)
            pane = self.query_one(f"#{pane_id}", Pane)
            pane.problem = fresh.problem
            waiting = pane.waiting_text()
            text, stale = freshness(fresh.fetched_at, now, fresh.stale_after, waiting)
            pane.set_freshness(text, stale)
        overlay = self.query_one(OverlayPane)
        title = overlay.border_title
        overlay.show_counters()
        if overlay.border_title != title:  # Calico's mode changed: a narrow screen's tabs say it
            self.layout_for(self.size.width, self.size.height)
        overlay.show_transit()
        self.query_one(KubePane).refresh_rows()

    # -- layout -----

    def pane(self, number: int) -> Pane:
        return self.query_one(f"#{PANE_IDS[number - 1]}", Pane)

    def on_resize(self, event) -> None:
        self.layout_for(event.size.width, event.size.height)

    def layout_for(self, width: int, height: int) -> None:
        single = self.zoomed or width < SINGLE_PANE_WIDTH or height < SINGLE_PANE_HEIGHT
        self.set_class(single, "-single")
        if not single:
            # with all panes shown the classes change nothing visible, but changing
            # them restyles a pane (and re-renders a 5,000-row table): skip it
            return
        for number in range(1, len(PANE_IDS) + 1):
            self.pane(number).set_class(number == self.active_pane, "-active")
        self.query_one("#top-row").set_class(self.active_pane in (1, 2), "-has-active")
        tabs = []
        for number in range(1, len(PANE_IDS) + 1):
            title = self.pane(number).border_title or ""
            marker, end = ("[reverse]", "[/reverse]") if number == self.active_pane else ("", "")
            tabs.append(f"{marker} {title} {end}")
        self.query_one("#pane-tabs", Static).update(" ".join(tabs))

    def on_descendant_focus(self, event) -> None:
        self._show_focused_pane()

    def on_descendant_blur(self, event) -> None:
        self._show_focused_pane()

    def _show_focused_pane(self) -> None:
        focused = self.focused
        for pane in self.query(Pane):
            pane.show_focus(focused is not None and pane in focused.ancestors)

    def focused_pane_number(self) -> int:
        node = self.focused
        while node is not None:
            if isinstance(node, Pane):
                return node.number
            node = node.parent
        return self.active_pane

    def action_focus_pane(self, number: int) -> None:
        self.active_pane = number
        self.layout_for(self.app.size.width, self.app.size.height)
        self.pane(number).focus_content()

    def action_zoom(self) -> None:
        self.active_pane = self.focused_pane_number()
        self.zoomed = not self.zoomed
        self.layout_for(self.app.size.width, self.app.size.height)
        self.pane(self.active_pane).focus_content()

    # -- filter -----

    def action_filter(self) -> None:
        self.active_pane = self.focused_pane_number()
        pane = self.pane(self.active_pane)
        box = self.query_one("#filter", Input)
        box.value = pane.text_filter
        box.border_title = f"filter {pane.border_title}"
        box.add_class("-open")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter" and event.input.has_class("-open"):
            self.pane(self.active_pane).apply_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self._close_filter(keep=True)

    def _close_filter(self, keep: bool) -> None:
        box = self.query_one("#filter", Input)
        if not keep:
            self.pane(self.active_pane).apply_filter("")
        box.remove_class("-open")
        self.pane(self.active_pane).focus_content()

    def on_key(self, event) -> None:
        if event.key == "escape" and self.query_one("#filter", Input).has_focus:
            event.stop()
            self._close_filter(keep=False)

    # -- drill down (issue 26) -----

    @property
    def drill(self) -> DrillController:
        if self._drill is None:
            self._drill = DrillController(self.app)  # type: ignore[arg-type]
        return self._drill

    def _open(self, kind: str, key: str) -> None:
        namespace, _, name = key.rpartition("/") if kind == "pod" else ("", "", key)
        refused = self.drill.open_detail(kind, name, namespace or None)
        if refused:
            self.query_one(StatusLine).update(refused, layout=False)

    def on_data_table_row_selected(self, event) -> None:
        kind = ROW_KINDS.get(event.data_table.id or "")
        if kind is not None and event.row_key.value is not None:
            event.stop()
            self._open(kind, str(event.row_key.value))

    def on_fabric_view_chosen(self, event: FabricView.Chosen) -> None:
        # the fabric pane's text rows: a switch's header, a session (SWITCH/PEER)
        event.stop()
        self._open(event.kind, event.name)

    def action_detail(self) -> None:
        if self.focused_pane_number() == 2:
            self.query_one(FabricView).action_choose()

    def _selected_pod(self) -> str | None:
        table = self.focused
        if getattr(table, "id", None) == "pod-table":
            return table.selected_key()  # type: ignore[union-attr]
        return None

    def action_logs(self) -> None:
        key = self._selected_pod()
        if key is None:
            self.query_one(StatusLine).update("l: select a pod in the Kubernetes pane (3)")
            return
        namespace, _, name = key.rpartition("/")
        self.drill.open_logs(namespace, name)

    def action_events(self) -> None:
        self.drill.open_events()

    # -- title -----

    def _title_text(self) -> Text:
        lab: LabInfo = self.state.lab
        text = Text()
        text.append(" fabrictui ", style="bold")
        if lab.badge:
            text.append(f" {lab.badge} ", style=self.palette.badge)
            text.append(" ")
        text.append(lab.name)
        if lab.kind not in lab.name:
            text.append(f" ({lab.kind})")
        if self.read_only:
            text.append("  READ-ONLY", style=self.palette.warn)
        if self.title_note:
            text.append(self.title_note, style="bold")
        return text
