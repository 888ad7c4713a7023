"""`fabrictui routes [--switch NAME] [--json]`: per switch, its routes to the racks' node
subnets and (in BGP mode) the nodes' pod blocks, with protocol, next hops, ECMP count, and
what is expected but missing.

Exit 0 when nothing expected is missing, 1 when something is, 2 on bad input or a lab that
cannot be reached, 3 when nothing seen is missing but a switch could not be read (refused,
or not answering: named on stderr); the exit codes of verify (`docs/checks.md`).
"""

from __future__ import annotations

import argparse
import json

from fabrictui.actions.routes import RoutesReport, read_routes
from fabrictui.backends.base import LabBackend
from fabrictui.commands._headless import (
    EXIT_FAILED,
    EXIT_NOT_OBSERVED,
    EXIT_OK,
    emit,
    run_on_lab,
)
from fabrictui.commands.options import add_lab_selection
from fabrictui.model import LabInfo

PROG = "fabrictui routes"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--switch", metavar="NAME", help="only this switch")
    parser.add_argument("--json", action="store_true", help="print the routes as JSON")
    add_lab_selection(parser)


def to_json(lab: LabInfo, report: RoutesReport) -> str:
    return json.dumps(
        {
            "lab": lab.to_json(),
            "observed": not lab.not_observed,
            "mode": report.mode,
            "routes": [row.to_json() for row in report.rows],
            "missing": len(report.missing),
            "errors": list(report.errors),
        },
        indent=2,
    )


def to_table(lab: LabInfo, report: RoutesReport) -> str:
    lines = [lab.describe(), f"mode: {report.mode}"]
    header = ("SWITCH", "PREFIX", "KIND", "OF", "PROTO", "ECMP", "NEXT HOPS")
    rows = [
        (
            r.switch,
            r.prefix,
            r.kind,
            r.owner,
            r.route.protocol if r.route else "MISSING",
            str(r.route.ecmp) if r.route else "0",
            r.nexthops,
        )
        for r in report.rows
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    lines += [f"error: {e}" for e in report.errors]
    if lab.not_observed:
        lines.append(f"not observed: {lab.not_observed}")
    lines.append(f"{len(report.missing)} expected routes missing")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    async def body(backend: LabBackend) -> int:
        report = await read_routes(backend, args.switch)
        lab = backend.info()
        emit(to_json(lab, report) if args.json else to_table(lab, report))
        if report.missing:
            return EXIT_FAILED
        return EXIT_NOT_OBSERVED if report.errors else EXIT_OK

    return run_on_lab(args, PROG, body)
