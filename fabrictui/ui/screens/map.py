"""The fabric map screen (`m`): the lab as a leaf-spine drawing, redrawn from `LabState` every
second and at each fabric or host update; arrow keys move a selection between switches and
nodes, Enter opens what is known of the selected one.

It draws only: the graph, its layout and its colours come from `render/map`, the values
from `session.mapping.fabric_map(state)`. What it keeps is a drawing matter: the selection
and the map drawn last (frames/s per rack pair are the change since then)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from fabrictui.render.common import Palette
from fabrictui.render.fabric import fabric_lines, node_bgp_lines
from fabrictui.render.kube import node_row, pod_row
from fabrictui.render.map.draw import map_lines
from fabrictui.render.map.graph import FabricMap
from fabrictui.render.map.layout import MapLayout, layout_map, move
from fabrictui.session.mapping import fabric_map
from fabrictui.session.state import LabState
from fabrictui.ui.screens.report import TextReportScreen

MAP_ID = "map"
REDRAW_SECONDS = 1.0  # the main screen's tick: the panes' freshness is redrawn as often


class MapScreen(Screen[None]):
    DEFAULT_CSS = """
    MapScreen #map-title { height: 1; text-style: bold; background: $panel; padding: 0 1; }
    MapScreen #map-body { height: 1fr; padding: 0 1; }
    MapScreen #map-status { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape,q,m", "close", "Close", id="map.close"),
        Binding("up", "move(0,-1)", "Up", id="map.up", show=False),
        Binding("down", "move(0,1)", "Down", id="map.down", show=False),
        Binding("left", "move(-1,0)", "Left", id="map.left", show=False),
        Binding("right", "move(1,0)", "Right", id="map.right", show=False),
        Binding("enter", "open", "Open", id="map.open", tooltip="what the panes know of it"),
    ]

    def __init__(self, state: LabState) -> None:
        super().__init__(id=MAP_ID)
        self.state = state
        self.palette = Palette()  # the app's, at each drawing: it follows the theme
        self.selected: str | None = None
        self.graph: FabricMap | None = None
        self.map_layout: MapLayout | None = None

    def compose(self) -> ComposeResult:
        yield Static("Fabric map", id="map-title")
        yield Static(Text(""), id="map-body")
        hint = "arrows: select a switch or node   enter: open it   esc: close"
        yield Static(hint, id="map-status")
        yield Footer()

    def on_mount(self) -> None:
        self.redraw()
        self.set_interval(REDRAW_SECONDS, self.redraw)

    def on_resize(self) -> None:
        self.redraw(again=True)

    def redraw(self, again: bool = False) -> None:
        """Build the map from the state now (`again`: the same map at a new size or in new
        colours, so frames/s keep their last measure)."""
        if not self.is_attached:
            return
        self.palette = getattr(self.app, "palette", self.palette)
        if not again or self.graph is None:
            self.graph = fabric_map(self.state, self.graph)
        body = self.query_one("#map-body", Static)
        width = max(20, body.size.width or self.size.width - 2)
        height = max(6, body.size.height or self.size.height - 4)
        self.map_layout = layout_map(self.graph, width, height)
        if self.selected not in self.map_layout.spots:
            self.selected = None
        body.update(Text("\n").join(map_lines(self.map_layout, self.palette, self.selected)))
        self.query_one("#map-title", Static).update(self._title())

    def _title(self) -> Text:
        graph = self.graph
        assert graph is not None
        title = Text("Fabric map", style="bold")
        mode = graph.mode.upper() if graph.mode else "mode not known"
        title.append(f"  {len(graph.spines)} spines, {len(graph.leaves)} leaves, "
                     f"{len(graph.nodes)} nodes, {mode}")  # fmt: skip
        fresh = self.state.freshness(("hosts", "fabric"))
        if fresh.problem:
            title.append(f"  {fresh.problem}", style=self.palette.bad)
        return title

    def action_move(self, dx: int, dy: int) -> None:
        if self.map_layout is None:
            return
        self.selected = move(self.map_layout, self.selected, dx, dy)
        self.redraw(again=True)
        self._status(f"{self.selected}: enter opens it" if self.selected else "")

    def action_open(self) -> None:
        name = self.selected
        if name is None or self.graph is None:
            self._status("select a switch or node first (arrow keys)")
            return
        node = next((n for n in self.graph.all_nodes if n.name == name), None)
        kind = "node" if node is not None and node.kind == "node" else "switch"
        from fabrictui.actions.drill import DESCRIBERS

        describer = DESCRIBERS.get(kind)
        if describer is None:
            self._status(f"no {kind} drill-down yet: what the panes know of {name}")
            title = f"{kind} {name}: what the panes know"
            self.app.push_screen(TextReportScreen(title, self._known(kind, name), "known"))
            return
        self._status(f"reading {kind} {name}…")
        self.run_worker(
            self._describe(describer, kind, name),
            group="map-open",
            exclusive=True,
            exit_on_error=False,
        )

    async def _describe(self, describer, kind: str, name: str) -> None:
        """The drill-down's reader (issue 26), as `fabrictui describe KIND NAME` runs it."""
        from fabrictui.backends.base import BackendError
        from fabrictui.render.detail import detail_text

        try:
            detail = await describer(self.app.backend, name, None)  # type: ignore[attr-defined]
        except BackendError as err:
            self._status(f"{kind} {name}: {err}")
            return
        self._status(f"{kind} {name}: read")
        body = Text(detail_text(detail))
        self.app.push_screen(TextReportScreen(f"{kind} {name}", body, "map-detail"))

    def _known(self, kind: str, name: str) -> Text:
        """The fabric pane's lines for a switch; the Kubernetes pane's row, its BGP status
        and its pods' rows for a node."""
        palette = self.palette
        if kind == "switch":
            readings = {k: v for k, v in self.state.readings.items() if k == name}
            lines = fabric_lines(readings, self.state.session_analysis(), palette)
            return Text("\n").join(lines or [Text(f"{name}: no reading yet", style=palette.muted)])
        now = self.state.clock()
        lines = []
        node = self.state.nodes.get(name)
        if node is None:
            lines.append(Text(f"{name}: not in the API (no Kubernetes node of this name)"))
        else:
            lines.append(Text("  ").join(node_row(node, now, palette)))
        status = {k: v for k, v in self.state.node_bgp.items() if k == name}
        lines += node_bgp_lines(status, palette)
        pods = sorted((p for p in self.state.pods.values() if p.node == name), key=lambda p: p.key)
        lines.append(Text(f"pods on {name}: {len(pods)}", style="bold"))
        lines += [Text("  ").join(pod_row(p, now, palette)) for p in pods]
        return Text("\n").join(lines)

    def _status(self, text: str) -> None:
        if self.is_attached:
            self.query_one("#map-status", Static).update(text)

    def action_close(self) -> None:
        self.dismiss(None)
