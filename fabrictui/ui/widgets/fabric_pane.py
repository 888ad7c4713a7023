from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from fabrictui.render.fabric import fabric_lines
from fabrictui.session.state import LabState
from fabrictui.ui.widgets.pane import Pane


class FabricView(VerticalScroll, can_focus=True):
    """Scrollable text of the fabric; focusable so the keyboard scrolls it."""

    DEFAULT_CSS = "FabricView { height: 1fr; }"


class FabricPane(Pane):
    def __init__(self, state: LabState, **kwargs) -> None:
        super().__init__(state, "Fabric (BGP)", 2, id="pane-fabric", **kwargs)

    def compose(self) -> ComposeResult:
        with FabricView(id="fabric-view"):
            yield Static("waiting for the switches…", id="fabric-text")

    def redraw(self) -> None:
        readings = self.state.readings
        if not readings and "fabric" not in self.state.last_answer:
            return  # nothing read yet: the waiting text stays (a problem shows below the title)
        analysis = self.state.session_analysis()
        announced = {n.name: n.calico_blocks for n in self.state.nodes.values()}
        lines = fabric_lines(readings, analysis, self.palette, self.text_filter, announced)
        # switches that did not answer already say so on their own line
        problems = analysis.problems(include_unreachable=False)
        if lines:
            body = Text("\n").join(lines)
        elif self.text_filter:
            body = Text(f"no switch matches the filter {self.text_filter!r}")
        elif self.state.lab.not_observed:
            body = Text(f"not observed: {self.state.lab.not_observed}", style=self.palette.muted)
        else:
            body = Text("this lab has no switches to read", style=self.palette.muted)
        if problems:
            body.append("\n")
            body.append(
                f"{len(problems)} problem(s): " + "; ".join(problems), style=self.palette.bad
            )
        self.query_one("#fabric-text", Static).update(body)
