"""`fabrictui ping`: full-mesh ping between the demo workload's pods.

Prints a matrix (rows ping, columns answer; `=` marks same-rack pairs) and,
for every failed pair, the cause the lab's state points at. A pair whose ping could not
run (no echo went out: no method had a ping program, or the exec or the API failed) is not
observed ("not probed" / "no probe", with why), not failed: a missing program is not a
network fault. Exit codes as verify's (`commands/_headless.exit_code`): 0 every pair
answers, 1 any pair fails, 2 when the lab cannot be reached or there is nothing to ping, 3
when none fails but some pair could not be probed.
"""

from __future__ import annotations

import argparse
import json

from fabrictui.actions.ping.mesh import PingMatrix, default_pods, ping_mesh
from fabrictui.actions.progress import Progress
from fabrictui.backends.base import DemoWorkload, LabBackend
from fabrictui.commands._headless import emit, error, exit_code, print_progress, run_on_lab
from fabrictui.commands.options import add_lab_selection
from fabrictui.model import LabInfo

PROG = "fabrictui ping"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the matrix as JSON")
    parser.add_argument("-c", "--count", type=int, default=3, metavar="N", help="echoes per pair")
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="seconds per ping (default 10)"
    )
    parser.add_argument("--namespace", default="space1", help="namespace (default space1)")
    parser.add_argument(
        "--deployment", default="nginx-deployment", help="deployment (default nginx-deployment)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    add_lab_selection(parser)


def to_json(lab: LabInfo, matrix: PingMatrix) -> str:
    results = []
    for src, dst in matrix.pairs:
        r = matrix.results.get((src, dst))
        target = matrix.pod(dst)
        results.append(
            {
                "source": src,
                "target": dst,
                "target_ip": target.ip if target else None,
                "same_rack": matrix.same_rack(src, dst),
                "state": matrix.state((src, dst)).value,
                "ok": bool(r and r.ok),
                "transmitted": r.transmitted if r else 0,
                "received": r.received if r else 0,
                "loss_pct": r.loss_pct if r else 100.0,
                "rtt_avg_ms": r.rtt_avg_ms if r else None,
                "ttl": r.ttl if r else None,
                "error": r.error if r else "not run",
                "via": r.via if r else None,
                "probed": bool(r and r.probed),
                "not_probed": r.not_probed if r else None,
                "diagnosis": matrix.diagnose((src, dst)),
            }
        )
    pods = [
        {"pod": p.key, "ip": p.ip, "node": p.node, "rack": matrix.racks.get(p.key)}
        for p in matrix.pods
    ]
    doc = {
        "lab": lab.to_json(),
        "all_ok": matrix.all_ok,
        "state": matrix.verdict.value,
        "not_probed": len(matrix.unprobed()),
        "pods": pods,
        "results": results,
    }
    return json.dumps(doc, indent=2)


def matrix_cell(matrix: PingMatrix, src: str, dst: str, say_via: bool) -> str:
    """One cell: `=` marks a same-rack pair; how the probe ran is said when the matrix
    mixes methods (the summary line says it once otherwise)."""
    if src == dst:
        return "-"
    r = matrix.results.get((src, dst))
    if r is None:
        cell = "not run"
    elif not r.probed:
        cell = "not probed" if r.not_probed else "no probe"
    elif r.ok and r.rtt_avg_ms is not None:
        cell = f"{r.rtt_avg_ms:.2f}ms" + (f" {r.via}" if say_via else "")
    else:
        cell = "FAIL" if r.error else f"{r.loss_pct:.0f}% loss"
    return ("=" if matrix.same_rack(src, dst) else " ") + cell


def to_table(lab: LabInfo, matrix: PingMatrix) -> str:
    pods = matrix.pods
    labels = [f"{p.short_name} r{matrix.racks.get(p.key) or '?'}" for p in pods]
    vias = sorted({r.via for r in matrix.results.values() if r.probed})
    rows = [[matrix_cell(matrix, src.key, dst.key, len(vias) > 1) for dst in pods] for src in pods]
    width = max(10, *(len(label) for label in labels), *(len(c) for row in rows for c in row))
    lines = [lab.describe()]
    lines.append(" " * (width + 2) + "".join(f"{label:>{width + 2}}" for label in labels))
    for label, cells in zip(labels, rows, strict=True):
        lines.append(f"{label:<{width + 2}}" + "".join(f"{c:>{width + 2}}" for c in cells))
    for p, label in zip(pods, labels, strict=True):
        lines.append(f"  {label}: {p.key} {p.ip} on {p.node}")
    failed = matrix.failures()
    for pair in failed:
        src, dst = matrix.pod(pair[0]), matrix.pod(pair[1])
        name = f"{src.short_name if src else pair[0]} -> {dst.short_name if dst else pair[1]}"
        lines.append(f"FAIL {name}: {matrix.diagnose(pair)}")
    unprobed = matrix.unprobed()
    for pair in unprobed:
        src, dst = matrix.pod(pair[0]), matrix.pod(pair[1])
        name = f"{src.short_name if src else pair[0]} -> {dst.short_name if dst else pair[1]}"
        why = matrix.results[pair].not_probed or matrix.diagnose(pair)
        lines.append(f"NOT OBSERVED {name}: {why}")
    total = len(matrix.pairs)
    summary = f"{total - len(failed) - len(unprobed)}/{total} pairs ok"
    summary += f", {len(unprobed)} not probed" if unprobed else ""
    summary += f", via {', '.join(vias)}" if vias else ""
    lines.append(summary + ("" if failed else " (= same rack)"))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.count < 1:
        return error(PROG, "--count must be at least 1")
    if args.timeout <= 0:
        return error(PROG, "--timeout must be positive")
    workload = DemoWorkload(namespace=args.namespace, deployment=args.deployment)

    def report(progress: Progress) -> None:
        if not args.quiet and not args.json:
            print_progress(progress)

    async def body(backend: LabBackend) -> int:
        pods = await default_pods(backend, workload)
        if len(pods) < 2:
            return error(
                PROG,
                f"{backend.info().describe()}: need at least two Running pods of "
                f"{workload.namespace}/{workload.deployment} (found {len(pods)}); "
                "try `fabrictui scale --replicas 4`",
            )
        matrix = await ping_mesh(backend, report, pods, count=args.count, timeout=args.timeout)
        lab = backend.info()
        emit(to_json(lab, matrix) if args.json else to_table(lab, matrix))
        return exit_code(matrix.verdict)

    return run_on_lab(args, PROG, body)
