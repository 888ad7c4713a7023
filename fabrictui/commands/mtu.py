"""`fabrictui mtu --from POD --to POD`: the path MTU between two pods.

Sends "don't fragment" pings of growing size (`ping -M do -s SIZE`, by the probe's usual
methods: the pod's own ping, else the node's in the pod's namespace), bisects to the largest
that crosses, and, when a packet as large as the pod MTU does not, names where it dies and
what to set (docs/mtu.md). Exit codes as verify's (`commands/_headless.exit_code`): 0 when
full-size pod packets cross, 1 when they do not, 2 on bad input or a lab that cannot be
reached, 3 when no probe could be sent.
"""

from __future__ import annotations

import argparse
import json

from fabrictui.actions.mtu.result import MtuResult
from fabrictui.actions.mtu.run import PROBE_TIMEOUT, run_mtu
from fabrictui.actions.mtu.text import result_lines
from fabrictui.actions.progress import Progress
from fabrictui.backends.base import LabBackend
from fabrictui.commands._headless import emit, error, exit_code, print_progress, run_on_lab
from fabrictui.commands.options import add_lab_selection
from fabrictui.model import LabInfo

PROG = "fabrictui mtu"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="source", required=True, metavar="[NS/]POD", help="the pod to ping from"
    )
    parser.add_argument(
        "--to", dest="target", required=True, metavar="[NS/]POD", help="the pod to ping"
    )
    parser.add_argument(
        "--timeout", type=float, default=PROBE_TIMEOUT, metavar="S",
        help=f"seconds for each probe (default {PROBE_TIMEOUT:g})",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    add_lab_selection(parser)


def to_text(lab: LabInfo, result: MtuResult) -> str:
    return "\n".join([lab.describe(), *result_lines(result)])


def run(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        return error(PROG, "--timeout must be positive")

    def report(progress: Progress) -> None:
        if not args.quiet and not args.json:
            print_progress(progress)

    async def body(backend: LabBackend) -> int:
        result = await run_mtu(backend, report, args.source, args.target, args.timeout)
        lab = backend.info()
        doc = {"lab": lab.to_json(), **result.to_json()}
        emit(json.dumps(doc, indent=2) if args.json else to_text(lab, result))
        return exit_code(result.verdict)

    return run_on_lab(args, PROG, body, target=f"{args.source} -> {args.target}")
