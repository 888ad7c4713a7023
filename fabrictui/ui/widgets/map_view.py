"""The fabric map drawn into a widget of any size: the map screen's picture, small enough
for the VMs pane's place (`v` there toggles it). Draws from `LabState` only."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from fabrictui.render.common import Palette
from fabrictui.render.map.draw import map_lines
from fabrictui.render.map.graph import FabricMap
from fabrictui.render.map.layout import layout_map
from fabrictui.session.mapping import fabric_map
from fabrictui.session.state import LabState


class MapView(Static, can_focus=True):
    """Focusable: the pane's keys (M back to the VMs) reach it while the table is hidden."""

    DEFAULT_CSS = "MapView { height: 1fr; }"

    def __init__(self, state: LabState, **kwargs) -> None:
        super().__init__(Text(""), **kwargs)
        self.state = state
        self.graph: FabricMap | None = None  # the last drawn: frames/s are measured against it

    def draw(self, palette: Palette) -> None:
        if not self.display or not self.size.width:
            return
        self.graph = fabric_map(self.state, self.graph)
        layout = layout_map(self.graph, self.size.width, self.size.height)
        self.update(Text("\n").join(map_lines(layout, palette)))
