"""`fabrictui describe KIND NAME [-n NS] [--json]`: what is known about one object, through
actions.drill.DESCRIBERS (the TUI's detail screen reads the same table).

Exit 0 when the object was read, 2 when it is not found or its source does not answer (the
source's own words on stderr), or for a kind no describer knows (the known ones named)."""

from __future__ import annotations

import argparse
import json

from fabrictui.actions.drill import DESCRIBERS
from fabrictui.backends.base import LabBackend
from fabrictui.commands._headless import EXIT_OK, emit, error, run_on_lab
from fabrictui.commands.options import add_lab_selection
from fabrictui.render.detail import detail_text

PROG = "fabrictui describe"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", help="pod, node, session (SWITCH/PEER), switch, vm")
    parser.add_argument("name", help="the object's name (a session: SWITCH/PEER)")
    parser.add_argument("-n", "--namespace", help="the pod's namespace (default: default)")
    parser.add_argument("--json", action="store_true", help="print the detail as JSON")
    add_lab_selection(parser)


def run(args: argparse.Namespace) -> int:
    describer = DESCRIBERS.get(args.kind)
    if describer is None:
        known = ", ".join(sorted(DESCRIBERS)) or "none yet"
        return error(PROG, f"no detail for kind {args.kind!r} (known kinds: {known})")

    async def body(backend: LabBackend) -> int:
        detail = await describer(backend, args.name, args.namespace)
        if args.json:
            emit(json.dumps({"lab": backend.info().to_json(), **detail.to_json()}, indent=2))
        else:
            emit(backend.info().describe() + "\n" + detail_text(detail).rstrip("\n"))
        return EXIT_OK

    return run_on_lab(args, PROG, body, target=f"{args.kind} {args.name}")
