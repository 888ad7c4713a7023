"""The fabric pane back in time through Prometheus's history (`{` on the live screen, with a
Prometheus source set; docs/telemetry.md): each switch's sessions as they were at T, drawn
as the fabric pane draws them and marked "as of T" in the title; `{` / `}` move T a minute,
`esc` closes it: the live panes never stopped.

It draws only: the readings at T come from `read(at)`, which the app hands it (the backend's
`bgp_history`, a round of instant queries at `time=` T that leaves the live source alone), in
a worker; the expectations from `LabState`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from rich.text import Text
from textual.binding import Binding

from fabrictui.backends.base import BackendError
from fabrictui.model import SwitchReading
from fabrictui.render.common import Palette
from fabrictui.render.fabric import fabric_rows
from fabrictui.session.state import LabState
from fabrictui.ui.screens.report import TextReportScreen

HISTORY_ID = "history"
STEP_S = 60.0

Reader = Callable[[float], Awaitable[dict[str, SwitchReading]]]


def as_of(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


class HistoryScreen(TextReportScreen):
    BINDINGS = [
        Binding("escape,q", "close", "Live", id="history.close"),
        Binding("left_curly_bracket", "step(-1)", "-1 min", id="history.back"),
        Binding("right_curly_bracket", "step(1)", "+1 min", id="history.forward"),
    ]

    def __init__(
        self, state: LabState, read: Reader, at: float, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(self._title(at), Text("reading Prometheus's history…"), HISTORY_ID)
        self.state = state
        self.read = read
        self.at = at
        self.clock = clock

    @staticmethod
    def _title(at: float, note: str = "") -> str:
        return f"Fabric (BGP) as of {as_of(at)}: Prometheus history{note}   esc: back to live"

    def on_mount(self) -> None:
        self._load()

    def action_step(self, direction: int) -> None:
        later = self.at + direction * STEP_S
        if later >= self.clock():
            self.app.bell()  # no future in the history: `esc` is live
            return
        self.at = later
        self._load()

    def _load(self) -> None:
        at = self.at
        self.update_body(self._title(at, " (reading…)"), self.body)
        self.run_worker(self._read(at), exclusive=True, group="history")

    async def _read(self, at: float) -> None:
        try:
            readings = await self.read(at)
        except BackendError as err:
            body = Text(f"history not read: {err}", style=Palette().bad)
        else:
            palette = getattr(self.app, "palette", Palette())
            analysis = self.state.session_analysis(readings)
            announced = {n.name: n.calico_blocks for n in self.state.nodes.values()}
            rows = fabric_rows(readings, analysis, palette, "", announced, now=at)
            body = Text("\n").join([row.text for row in rows]) if rows else Text("no switch")
            problems = analysis.problems(include_unreachable=False)
            if problems:
                body.append("\n")
                body.append(f"{len(problems)} problem(s) then: " + "; ".join(problems))
        if at == self.at:  # a later step's read owns the screen
            self.update_body(self._title(at), body)


def available(backend: object) -> bool:
    """The live lab reads its fabric from a Prometheus: it has a history to show (the real
    backend with a Prometheus set; the demo while a telemetry fault is on)."""
    return getattr(backend, "has_history", False) is True


def open_history(app) -> None:  # FabricApp (ui may not import app)
    """`{` on the live screen: the fabric a minute ago."""
    if isinstance(app.screen, HistoryScreen) or not available(app.backend):
        return
    app.push_screen(HistoryScreen(app.state, app.backend.bgp_history, time.time() - STEP_S))
