from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from fabrictui.model import SwitchReading
from fabrictui.sessions import SessionAnalysis
from fabrictui.ui.render import Palette, fabric_lines
from fabrictui.ui.widgets.pane import Pane


class FabricView(VerticalScroll, can_focus=True):
    """Scrollable text of the fabric; focusable so the keyboard scrolls it."""

    DEFAULT_CSS = "FabricView { height: 1fr; }"


class FabricPane(Pane):
    def __init__(self, **kwargs) -> None:
        super().__init__("Fabric (BGP)", 2, id="pane-fabric", **kwargs)
        self.text_filter = ""
        self.readings: dict[str, SwitchReading] = {}

    def compose(self) -> ComposeResult:
        with FabricView(id="fabric-view"):
            yield Static("waiting for the switches…", id="fabric-text")

    def show_fabric(
        self,
        readings: Mapping[str, SwitchReading],
        analysis: SessionAnalysis,
        palette: Palette,
    ) -> None:
        self.readings = dict(readings)
        lines = fabric_lines(readings, analysis, palette, self.text_filter)
        # switches that did not answer already say so on their own line
        problems = analysis.problems(include_unreachable=False)
        body = Text("\n").join(lines) if lines else Text("no switch matches the filter")
        if problems:
            body.append("\n")
            body.append(f"{len(problems)} problem(s): " + "; ".join(problems), style=palette.bad)
        self.query_one("#fabric-text", Static).update(body)
