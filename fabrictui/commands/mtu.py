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

from fabrictui.actions.mtu.result import ICMP_IP_HEADERS, MtuResult
from fabrictui.actions.mtu.run import PROBE_TIMEOUT, run_mtu
from fabrictui.actions.progress import Progress
from fabrictui.backends.base import LabBackend
from fabrictui.commands._headless import emit, error, exit_code, print_progress, run_on_lab
from fabrictui.commands.options import add_lab_selection
from fabrictui.model import LabInfo, Verdict

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
    lines = [lab.describe(), f"path MTU {result.source} -> {result.target} ({result.target_ip})"]
    how = "read from its interface" if result.pod_mtu_read else "not read, the mode's usual"
    lines.append(f"  pod MTU {result.pod_mtu} ({how}); mode {result.mode or 'unknown'}")
    for p in result.probes:
        said = ""
        if p.too_big_mtu is not None:
            said = f"  too big: mtu {p.too_big_mtu} said by {p.too_big_from}"
        state = "crossed" if p.crossed else ("not probed" if not p.probed else "died")
        lines.append(f"  DF ping -s {p.size:<5} ({p.packet} bytes): {state}{said}")
    if result.largest_ok is not None:
        lines.append(
            f"  largest that crossed: -s {result.largest_ok} "
            f"({result.largest_ok + ICMP_IP_HEADERS}-byte packets)"
        )
    if result.smallest_dead is not None:
        lines.append(
            f"  smallest that died:   -s {result.smallest_dead} "
            f"({result.smallest_dead + ICMP_IP_HEADERS}-byte packets)"
        )
    verdict = result.verdict
    if verdict is Verdict.FAIL:
        lines.append(f"  where: {result.where()}")
    if verdict is Verdict.NOT_OBSERVED:
        lines.append(f"  not observed: {result.not_probed or 'no echo crossed at any size'}")
    lines += [f"  note: {n}" for n in result.notes]
    lines.append(f"{verdict.value.upper().replace('_', ' ')}: {result.advice()}")
    return "\n".join(lines)


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
