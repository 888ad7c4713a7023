"""`fabrictui verify`: the checks of a healthy lab as a table or JSON.

The mode is read from the cluster (Calico's IPPool): VXLAN mode runs the six checks
of LAB.md, BGP mode the eight of `actions/verify/bgp.py`. The JSON is an object:
`{"mode": "vxlan"|"bgp", "checks": [{name, passed, evidence, cause}, ...]}`.

Exit 0 when every check passes, 1 when any fails, 2 for bad input or a lab
that cannot be reached. With `--demo` the checks run on a fresh in-process
demo lab: `--demo ready` (and `ready-bgp`) passes them all, `--demo fresh`
(before Calico) fails checks 2 to 6.
"""

from __future__ import annotations

import argparse
import json

from fabrictui.actions.progress import Progress
from fabrictui.actions.verify.bgp import detect_mode
from fabrictui.actions.verify.run import verify
from fabrictui.backends.base import LabBackend
from fabrictui.cli import add_lab_selection
from fabrictui.commands._headless import emit, print_progress, run_on_lab
from fabrictui.model import CheckResult

PROG = "fabrictui verify"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list of the checks")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    add_lab_selection(parser)


def to_json(results: list[CheckResult], mode: str = "vxlan") -> str:
    checks = [
        {
            "name": r.name,
            "passed": r.passed,
            "not_observed": r.not_observed,
            "evidence": list(r.evidence),
            "cause": r.cause,
        }
        for r in results
    ]
    return json.dumps({"mode": mode, "checks": checks}, indent=2)


def to_table(results: list[CheckResult], mode: str = "vxlan") -> str:
    width = max(len(r.name) for r in results)
    lines: list[str] = [f"mode: {mode}"]
    for number, r in enumerate(results, start=1):
        word = "PASS" if r.passed else "NOT OBSERVED" if r.not_observed else "FAIL"
        lines.append(f"{number}. {r.name:<{width}}  {word}")
        if r.cause:
            lines.append(f"     cause: {r.cause}")
        lines.extend(f"     {e}" for e in r.evidence)
    passed = sum(r.passed for r in results)
    lines.append(f"{passed}/{len(results)} checks passed")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    def report(progress: Progress) -> None:
        if not args.quiet and not args.json:
            print_progress(progress)

    async def body(backend: LabBackend) -> int:
        mode = await detect_mode(backend)
        results = await verify(backend, report, mode=mode)
        emit(to_json(results, mode) if args.json else to_table(results, mode))
        if all(r.passed for r in results):
            return 0
        # 3: nothing failed, but a check could not run its probe (issue 28's exit code
        # for "not observed")
        return 3 if all(r.passed or r.not_observed for r in results) else 1

    return run_on_lab(args, PROG, body)
