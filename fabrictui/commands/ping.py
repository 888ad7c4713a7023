"""`fabrictui ping`: full-mesh ping between the demo workload's pods.

Prints a matrix (rows ping, columns answer; `=` marks same-rack pairs) and,
for every failed pair, the cause the lab's state points at. A pair no method
could probe (no ping in the image, none on the node) is "not probed", with why:
a missing program is not a network fault. Exit 1 when any pair fails, 3 when
none failed but some could not be probed, 2 when the lab cannot be reached or
there is nothing to ping.
"""

from __future__ import annotations

import argparse
import json

from fabrictui.actions.ping.mesh import PingMatrix, default_pods, ping_mesh
from fabrictui.actions.progress import Progress
from fabrictui.backends.base import DemoWorkload, LabBackend
from fabrictui.cli import add_lab_selection
from fabrictui.commands._headless import emit, error, print_progress, run_on_lab

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


def to_json(matrix: PingMatrix) -> str:
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
    summary = {"all_ok": matrix.all_ok, "not_probed": len(matrix.unprobed())}
    return json.dumps(summary | {"pods": pods, "results": results}, indent=2)


def to_table(matrix: PingMatrix) -> str:
    pods = matrix.pods
    labels = [f"{p.short_name} r{matrix.racks.get(p.key) or '?'}" for p in pods]
    width = max(10, *(len(label) for label in labels))
    lines = [" " * (width + 2) + "".join(f"{label:>{width + 2}}" for label in labels)]
    for src, label in zip(pods, labels, strict=True):
        cells = []
        for dst in pods:
            if src.key == dst.key:
                cells.append("-")
                continue
            r = matrix.results.get((src.key, dst.key))
            if r is None:
                cell = "not run"
            elif not r.probed:
                cell = "not probed"
            elif r.ok and r.rtt_avg_ms is not None:
                cell = f"{r.rtt_avg_ms:.2f}ms" + ("" if r.via == "pod" else f" {r.via}")
            else:
                cell = "FAIL" if r.error else f"{r.loss_pct:.0f}% loss"
            mark = "=" if matrix.same_rack(src.key, dst.key) else " "
            cells.append(f"{mark}{cell}")
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
        lines.append(f"NOT PROBED {name}: {matrix.results[pair].not_probed}")
    vias = sorted({r.via for r in matrix.results.values() if r.probed})
    total = len(matrix.pairs)
    ok = total - len(failed) - len(unprobed)
    line = f"{ok}/{total} pairs ok"
    line += f", {len(unprobed)} not probed" if unprobed else ""
    line += f", via {', '.join(vias)}" if vias else ""
    lines.append(line + ("" if failed else " (= same rack)"))
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
                f"need at least two Running pods of {workload.namespace}/{workload.deployment} "
                f"(found {len(pods)}); try `fabrictui scale --replicas 4`",
            )
        matrix = await ping_mesh(backend, report, pods, count=args.count, timeout=args.timeout)
        emit(to_json(matrix) if args.json else to_table(matrix))
        if matrix.failures():
            return 1
        return 3 if matrix.unprobed() else 0

    return run_on_lab(args, PROG, body)
