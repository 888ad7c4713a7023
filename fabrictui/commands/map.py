"""`fabrictui map [--json] [--width N] [--height N]`: the fabric map once, as text, or its
graph (nodes, links, states) as JSON. Reads the lab once, as `routes` does: hosts, every
switch's BGP summary, the nodes and pods, Calico's mode and in BGP mode each node's BIRD.
No capture runs, so traffic per rack pair is the TUI's (`m`) and the report's.

Exit 0 when every switch, node and link is up, 1 when something is down, 2 on bad input or
a lab that cannot be reached, 3 when nothing seen is down but something could not be seen.
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


def _size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 20 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"must be 20..1000 (got {value})")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the graph as JSON")
    parser.add_argument("--width", type=_size, default=100, help="columns (default 100)")
    parser.add_argument("--height", type=_size, default=40, help="lines (default 40)")
    add_lab_selection(parser)


def run(args: argparse.Namespace) -> int:
    async def body(backend: LabBackend) -> int:
        import time

        from fabrictui.render.map.draw import map_text
        from fabrictui.render.map.graph import BAD, UNSEEN
        from fabrictui.render.map.layout import layout_map
        from fabrictui.session.mapping import fabric_map, read_once
        from fabrictui.session.state import LabState

        lab = backend.info()
        state = LabState(lab, time.time)
        await read_once(backend, state)
        graph = fabric_map(state)
        if args.json:
            layout = layout_map(graph, args.width, args.height)
            doc = {"lab": lab.to_json(), **graph.to_json(), "left_out": layout.left_out}
            emit(json.dumps(doc, indent=2))
        else:
            lines = [lab.describe(), f"mode: {graph.mode or 'not known'}"]
            lines.append(map_text(graph, args.width, args.height))
            lines += [f"not read: {note}" for note in graph.notes]
            if lab.not_observed:
                lines.append(f"not observed: {lab.not_observed}")
            emit("\n".join(lines))
        states = {x.state for x in (*graph.all_nodes, *graph.links)}
        if BAD in states:
            return EXIT_FAILED
        return EXIT_NOT_OBSERVED if UNSEEN in states or graph.notes else EXIT_OK

    return run_on_lab(args, PROG, body)
