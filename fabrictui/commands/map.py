"""`fabrictui map [--json] [--width N] [--height N] [--traffic SECONDS]`: the fabric map once,
as text, or its graph (nodes, links, states) as JSON. Reads the lab once, as `routes` does:
hosts, every switch's BGP summary and interfaces, the nodes and pods, Calico's mode and in
BGP mode each node's BIRD. With `--traffic SECONDS` it also runs the TUI's capture (every
node's, the transit table) for that long from the first frame, and 3 s more so that every
frame sent has its verdict (arrived or lost), then draws each rack pair's frames/s, one-way
time and loss; without it the traffic is said not measured (JSON: `"traffic": null`).

Exit 0 when every switch, node and link is up, 1 when something is down or a rack pair loses
frames, 2 on bad input or a lab that cannot be reached, 3 when nothing seen is down but
something could not be seen.
"""

from __future__ import annotations

import argparse
import json

from fabrictui.backends.base import LabBackend
from fabrictui.commands._headless import (
    EXIT_FAILED,
    EXIT_NOT_OBSERVED,
    EXIT_OK,
    emit,
    run_on_lab,
)
from fabrictui.commands.options import add_lab_selection

PROG = "fabrictui map"


def _within(kind: type[int] | type[float], low: float, high: float, unit: str = ""):
    """An argparse type: a number of `kind` between `low` and `high` (`unit` in its words)."""
    what = f"a number of {unit}" if unit else "a whole number"

    def read(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if not low <= value <= high:
            span = f"{low:g}..{high:g}" + (f" {unit}" if unit else "")
            raise argparse.ArgumentTypeError(f"must be {span} (got {text})")
        return value

    return read


_size = _within(int, 20, 1000)
_seconds = _within(float, 1.0, 600.0, "seconds")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the graph as JSON")
    parser.add_argument("--width", type=_size, default=100, help="columns (default 100)")
    parser.add_argument("--height", type=_size, default=40, help="lines (default 40)")
    parser.add_argument(
        "--traffic",
        type=_seconds,
        metavar="SECONDS",
        help="capture on every node for this long and draw traffic per rack pair "
        "(frames/s, one-way time, loss)",
    )
    add_lab_selection(parser)


def run(args: argparse.Namespace) -> int:
    async def body(backend: LabBackend) -> int:
        import time

        from fabrictui.render.map.draw import map_text
        from fabrictui.render.map.graph import BAD, UNSEEN, WARN
        from fabrictui.render.map.layout import layout_map
        from fabrictui.session.mapping import fabric_map, measure_traffic, read_once
        from fabrictui.session.state import LabState

        lab = backend.info()
        state = LabState(lab, time.time)
        await read_once(backend, state)
        measured = None
        if args.traffic:
            graph, measured = await measure_traffic(backend, state, args.traffic)
        else:
            graph = fabric_map(state, capturing=False)
        if args.json:
            layout = layout_map(graph, args.width, args.height)
            doc = {"lab": lab.to_json(), **graph.to_json(), "left_out": layout.left_out}
            doc["traffic_seconds"] = None if measured is None else round(measured, 1)
            emit(json.dumps(doc, indent=2))
        else:
            lines = [lab.describe(), f"mode: {graph.mode or 'not known'}"]
            lines.append(map_text(graph, args.width, args.height))
            lines.append(_traffic_words(graph, measured))
            lines += [f"not read: {note}" for note in graph.notes]
            if lab.not_observed:
                lines.append(f"not observed: {lab.not_observed}")
            emit("\n".join(lines))
        states = {x.state for x in (*graph.all_nodes, *graph.links, *graph.traffic)}
        if BAD in states or WARN in {t.state for t in graph.traffic}:
            return EXIT_FAILED
        return EXIT_NOT_OBSERVED if UNSEEN in states or graph.notes else EXIT_OK

    return run_on_lab(args, PROG, body)


def _traffic_words(graph, measured: float | None) -> str:
    """What the traffic lines under the map cover: not measured is said, never drawn as 0."""
    if measured is None:
        return "traffic: not measured (--traffic SECONDS captures on every node)"
    if not graph.traffic:
        return f"traffic: no frames between nodes in {measured:.1f} s of capture"
    lossy = sum(1 for t in graph.traffic if t.state != "good")
    words = f"traffic: {len(graph.traffic)} rack pairs over {measured:.1f} s of capture"
    return words + (f", {lossy} losing frames" if lossy else ", none losing frames")
