"""The ping mesh as a matrix: a row per source pod, a column per target, loss
and rtt per pair, same-rack (=) and cross-rack (x) marked; frames of the
overlay scroll underneath while the mesh runs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from fabrictui.intent.labshape import same_rack
from fabrictui.model import KubePod, PingResult, Verdict
from fabrictui.render.checks import ping_cell, verdict_style
from fabrictui.render.common import Palette
from fabrictui.ui.widgets.overlay_pane import FrameLog


def short_pod(pod: KubePod) -> str:
    """`z9pl9@l2-1`: the pod's random suffix and its node's rack/index."""
    node = (pod.node or "?").replace("k8s-node-", "").replace("k8s-master-", "m-")
    return f"{pod.short_name}@{node}"


class PingMatrixScreen(Screen[None]):
    DEFAULT_CSS = """
    PingMatrixScreen #matrix-title { text-style: bold; background: $panel; padding: 0 1; }
    PingMatrixScreen DataTable { height: auto; max-height: 60%; }
    PingMatrixScreen #matrix-legend { height: auto; padding: 0 1; }
    PingMatrixScreen #matrix-diagnosis { height: auto; padding: 0 1; }
    PingMatrixScreen FrameLog { height: 1fr; border-top: solid $panel-lighten-2; }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Close", id="matrix.close"),
        Binding("T", "trace_pair", "Trace pair", id="matrix.trace",
                tooltip="trace the failed pair under the cursor (else the first failed one)"),
    ]  # fmt: skip

    def __init__(
        self,
        pods: list[KubePod],
        racks: Mapping[str, int | None],
        palette: Palette,
        on_trace: Callable[[str, str], None] | None = None,
    ):
        super().__init__(id="ping-matrix")
        self.pods = pods
        self.racks = dict(racks)
        self.palette = palette
        self.results: dict[tuple[str, str], PingResult] = {}
        self.on_trace = on_trace
        self._drawn = False  # the table's cells exist (on_mount ran)

    def compose(self) -> ComposeResult:
        yield Static("Ping mesh: running…", id="matrix-title")
        yield DataTable(cursor_type="cell", id="matrix")
        yield Static(
            "= same rack   x cross rack   rtt is the average; loss in %", id="matrix-legend"
        )
        yield Static("", id="matrix-diagnosis")
        yield FrameLog(max_lines=500, id="matrix-frames")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("from \\ to", key="src", width=18)
        for pod in self.pods:
            table.add_column(short_pod(pod), key=pod.key, width=14)
        for src in self.pods:
            cells = [Text(short_pod(src), style="bold")]
            for dst in self.pods:
                cells.append(Text("—") if src.key == dst.key else Text("…"))
            table.add_row(*cells, key=src.key)
        self._drawn = True
        by_key = {p.key: p for p in self.pods}
        for (src_key, dst_key), result in list(self.results.items()):  # came before the mount
            self._draw_cell(by_key[src_key], by_key[dst_key], result)

    def cross_rack(self, a: KubePod, b: KubePod) -> bool:
        """Not known to share a rack: the one rule, shared with the ping mesh."""
        return not same_rack(self.racks.get(a.node or ""), self.racks.get(b.node or ""))

    def set_result(self, src: KubePod, dst: KubePod, result: PingResult) -> None:
        self.results[(src.key, dst.key)] = result
        if self._drawn:  # else on_mount draws it: a fast lab answers before the screen mounts
            self._draw_cell(src, dst, result)

    def _draw_cell(self, src: KubePod, dst: KubePod, result: PingResult) -> None:
        cell = ping_cell(result, self.cross_rack(src, dst), self.palette)
        self.query_one(DataTable).update_cell(src.key, dst.key, cell)

    def finish(self, summary: str, verdict: Verdict, diagnoses: list[str]) -> None:
        style = verdict_style(verdict, self.palette)
        title = self.query_one("#matrix-title", Static)
        title.update(Text(f"Ping mesh: {summary}", style=style))
        self.query_one("#matrix-diagnosis", Static).update(
            Text("\n".join(diagnoses), style=style) if diagnoses else ""
        )

    def add_frame_lines(self, lines: list[str]) -> None:
        if lines:
            self.query_one(FrameLog).write_lines(lines)

    def pair_to_trace(self) -> tuple[str, str] | None:
        """The failed pair under the cursor, else the first failed pair, else the cursor's."""
        table = self.query_one(DataTable)
        coordinate = table.cursor_coordinate
        cursor: tuple[str, str] | None = None
        with contextlib.suppress(Exception):  # a cursor outside the cells: no pair there
            row, column = table.coordinate_to_cell_key(coordinate)
            if row.value and column.value and column.value != "src" and row.value != column.value:
                cursor = (str(row.value), str(column.value))
        failed = [pair for pair, r in self.results.items() if not r.ok and r.probed]
        if cursor is not None and cursor in failed:
            return cursor
        return failed[0] if failed else cursor

    def action_trace_pair(self) -> None:
        pair = self.pair_to_trace()
        if pair is not None and self.on_trace is not None:
            self.dismiss(None)
            self.on_trace(*pair)

    def action_close(self) -> None:
        self.dismiss(None)
