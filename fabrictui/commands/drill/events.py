"""`fabrictui events [-n NS] [--for KIND/NAME] [--json]`: the cluster's Events, Warning
first, newest first (events.k8s.io where the API serves it, else core/v1).

Exit 0 when the events were read (none is not an error), 2 when the API refuses or does not
answer, or `--for` is not KIND/NAME."""

from __future__ import annotations

import argparse
import dataclasses
import json

from fabrictui.backends.base import LabBackend
from fabrictui.commands._headless import EXIT_OK, emit, error, run_on_lab
from fabrictui.commands.options import add_lab_selection
from fabrictui.parsers.kubedetail.events import KubeEvent, order_events

PROG = "fabrictui events"
KINDS = {"pod": "Pod", "node": "Node", "deployment": "Deployment", "replicaset": "ReplicaSet",
         "daemonset": "DaemonSet", "service": "Service"}  # fmt: skip


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--namespace", help="only this namespace (default: all)")
    parser.add_argument(
        "--for", dest="about", metavar="KIND/NAME", help="only this object's (pod/NAME, node/NAME)"
    )
    parser.add_argument("--json", action="store_true", help="print the events as JSON")
    add_lab_selection(parser)


def table(events: list[KubeEvent]) -> str:
    header = ("NAMESPACE", "LAST SEEN", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE")
    rows = [
        (e.namespace, e.last or "-", e.type, e.reason, e.about, str(e.count),
         e.message.replace("\n", " "))
        for e in events
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]]).rstrip()
        for r in [header, *rows]
    )


def run(args: argparse.Namespace) -> int:
    about: tuple[str, str] | None = None
    if args.about:
        kind, _, name = args.about.partition("/")
        if not name or kind.lower() not in KINDS:
            return error(
                PROG,
                f"--for takes KIND/NAME with KIND one of {', '.join(KINDS)}, not {args.about!r}",
            )
        about = (KINDS[kind.lower()], name)

    async def body(backend: LabBackend) -> int:
        events = order_events(await backend.list_events(args.namespace, about))
        if args.json:
            found = [dataclasses.asdict(e) for e in events]
            emit(json.dumps({"lab": backend.info().to_json(), "events": found}, indent=2))
        else:
            emit(
                backend.info().describe() + "\n" + (table(events) if events else "No events found.")
            )
        return EXIT_OK

    return run_on_lab(args, PROG, body, target=args.about or (args.namespace or "all"))
