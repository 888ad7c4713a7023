"""`fabrictui verify`: the checks of a healthy lab as a table or JSON.

The mode is read from the cluster (Calico's IPPool): VXLAN mode runs the six checks
of LAB.md, BGP mode the eight of `actions/verify/bgp.py`. The JSON is an object:
`{"mode": "vxlan"|"bgp", "checks": [{name, state, passed, evidence, cause, unseen}, ...]}`
where `state` is "pass", "fail" or "not_observed" (what the check needs could not be read;
then `passed` is false) and `unseen` what a check that decided could not see.

Exit codes (`commands/_headless.exit_code`): 0 when every check passes, 1 when any fails, 2
for bad input, a lab that cannot be reached or a part that did not answer (named on stderr),
3 when nothing failed but something was not observed (a check not observed, or one that
passed without seeing everything).

With `--demo` the checks run on a fresh in-process demo lab: `--demo ready` (and
`ready-bgp`) passes them all, `--demo fresh` (before Calico) fails checks 2 to 6. Without
`--demo`, a lab must be named (`--lab DIR`, a Vagrant project, `--kubeconfig FILE`): never
the demo lab by surprise. The table's first line and the JSON's `"lab"` object say which lab
the checks describe. A check the lab gives nothing to look at (the fabric of a cluster known
only from its kubeconfig) is not observed, saying why.
"""

from __future__ import annotations

import argparse
import json

from fabrictui.actions.progress import Progress
from fabrictui.actions.verify.bgp import detect_mode
from fabrictui.actions.verify.run import verify
from fabrictui.backends.base import LabBackend
from fabrictui.commands._headless import emit, error, exit_code, print_progress, run_on_lab
from fabrictui.commands.options import add_lab_selection
from fabrictui.model import CheckResult, LabInfo, checks_verdict
from fabrictui.render.checks import VERDICT_WORDS, checks_summary
from fabrictui.report.metrics import write_findings

PROG = "fabrictui verify"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list of the checks")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument(
        "--metrics",
        metavar="FILE",
        help="also write the checks in the Prometheus text format (node exporter's textfile "
        "collector: FILE.prom; written atomically)",
    )
    add_lab_selection(parser)


def to_json(lab: LabInfo, results: list[CheckResult], mode: str = "vxlan") -> str:
    checks = [
        {
            "name": r.name,
            "state": r.state.value,
            "passed": r.passed,
            "evidence": list(r.evidence),
            "cause": r.cause,
            "unseen": list(r.unseen),
        }
        for r in results
    ]
    return json.dumps({"lab": lab.to_json(), "mode": mode, "checks": checks}, indent=2)


def to_table(lab: LabInfo, results: list[CheckResult], mode: str = "vxlan") -> str:
    width = max(len(r.name) for r in results)
    lines: list[str] = [lab.describe(), f"mode: {mode}"]
    for number, r in enumerate(results, start=1):
        lines.append(f"{number}. {r.name:<{width}}  {VERDICT_WORDS[r.state]}")
        if r.cause:
            lines.append(f"     {'cause' if r.observed else 'why'}: {r.cause}")
        lines.extend(f"     not seen: {u}" for u in r.unseen)
        lines.extend(f"     {e}" for e in r.evidence)
    lines.append(checks_summary(results, "passed"))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    def report(progress: Progress) -> None:
        if not args.quiet and not args.json:
            print_progress(progress)

    async def body(backend: LabBackend) -> int:
        mode = await detect_mode(backend)
        results = await verify(backend, report, mode=mode)
        lab = backend.info()
        emit(to_json(lab, results, mode) if args.json else to_table(lab, results, mode))
        if args.metrics:
            try:
                write_findings(args.metrics, lab, results, mode)
            except OSError as err:
                return error(PROG, f"--metrics {args.metrics}: {err.strerror or err}")
        return exit_code(checks_verdict(results))

    return run_on_lab(args, PROG, body)
