"""Path trace timing: how long one trace takes, phase by phase, and how close together its
captures start.

Brings up a rehearsal lab (real FRR, one sshd per host, kernel VXLAN, the lab's Kubernetes
API; in network namespaces), deploys Calico and nginx at 4 replicas, and always takes it down
again; or uses a lab that is already up (`--lab DIR`), or the demo lab (`--demo`: no root,
simulated time, for the code path only). Then traces the seed's cross-rack pair (a rack-2 pod
to a rack-1 pod) `--runs` times with `--count` echoes, through the real backend exactly as
`fabrictui trace --lab DIR` does, and prints the median of each phase (read the lab, start the
captures at every point, the probe, stop the captures, read state), the median total, and the
largest spread between the first and the last capture to start.

    python benchmarks/trace.py [--lab DIR | --demo] [--runs 5] [--count 3] [--smoke] [--json]

Targets (rehearsal lab): a trace under 3 s, captures starting within 0.5 s of each other.
Exit 1 when one is missed (not in --smoke or --demo), 2 when no lab can be had (not root).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fabrictui.actions.progress import ignore
from fabrictui.actions.trace.run import run_trace
from fabrictui.backends.base import DemoWorkload, LabBackend

TOTAL_S = 3.0
SPREAD_S = 0.5


async def prepare(backend: LabBackend) -> None:
    """Calico and 4 nginx pods on 4 workers (what verify's check 4 expects)."""
    if not any(p.owner == "calico-node" for p in await backend.list_pods("kube-system")):
        await backend.apply_calico("10.64.0.0/12")
    async with asyncio.timeout(90):
        while not all(n.ready for n in await backend.list_nodes()):
            await asyncio.sleep(0.3)
    await backend.ensure_workload(DemoWorkload())
    await backend.scale_deployment("space1", "nginx-deployment", 4)
    async with asyncio.timeout(90):
        while len([p for p in await backend.list_pods("space1") if p.running]) < 4:
            await asyncio.sleep(0.3)


async def measure(backend: LabBackend, runs: int, count: int) -> dict:
    await backend.start()
    try:
        await prepare(backend)
        pods = [p for p in await backend.list_pods("space1") if p.running]
        src = next(p for p in pods if p.node == "k8s-node-l2-1")
        dst = next(p for p in pods if p.node == "k8s-node-l1-2")
        totals: list[float] = []
        phases: dict[str, list[float]] = {}
        spreads: list[float] = []
        delivered = 0
        for _ in range(runs):
            started = time.monotonic()
            result = await run_trace(backend, ignore, src.key, dst.key, count=count)
            totals.append(time.monotonic() - started)
            for name, seconds in result.phases:
                phases.setdefault(name, []).append(seconds)
            if result.capture_spread_s is not None:
                spreads.append(result.capture_spread_s)
            delivered += result.delivered
            points = len({h.point.key for h in result.hops})
    finally:
        await backend.close()
    return {
        "pair": f"{src.key} ({src.node}) -> {dst.key} ({dst.node})",
        "runs": runs,
        "count": count,
        "points": points,
        "delivered": delivered,
        "total_s_median": statistics.median(totals),
        "total_s_max": max(totals),
        "phases_s_median": {k: statistics.median(v) for k, v in phases.items()},
        "capture_spread_s_max": max(spreads) if spreads else None,
    }


@contextlib.contextmanager
def rehearsal_lab() -> Iterator[Path]:
    from fabrictui.lab.lab import running_lab

    with tempfile.TemporaryDirectory(prefix="ftl-trace-") as tmp:
        directory = Path(tmp) / "lab"
        with running_lab(directory) as result:
            if result.kube != "up":
                raise SystemExit(f"trace benchmark: the lab's API server is {result.kube}")
            yield directory


def open_real(directory: Path) -> LabBackend:
    from fabrictui.backends.select import open_backend

    args = argparse.Namespace(
        demo=None, lab=str(directory), kubeconfig=None, context=None, jump=None
    )
    return open_backend(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lab", metavar="DIR", help="a rehearsal (or real) lab already up")
    parser.add_argument("--demo", action="store_true", help="the demo lab (code path only)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=3, help="echoes per trace (default 3)")
    parser.add_argument("--smoke", action="store_true", help="two runs, one echo, no targets")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    runs, count = (2, 1) if args.smoke else (args.runs, args.count)
    if args.demo or (args.smoke and not args.lab and os.geteuid() != 0):
        from fabrictui.backends.demo import DemoBackend

        report = asyncio.run(measure(DemoBackend("ready", speed=200.0), runs, count))
        report["lab"] = "demo (simulated time)"
    elif args.lab:
        report = asyncio.run(measure(open_real(Path(args.lab)), runs, count))
        report["lab"] = args.lab
    else:
        if os.geteuid() != 0:
            print("trace benchmark: the rehearsal lab needs root (or give --lab DIR / --demo)",
                  file=sys.stderr)  # fmt: skip
            return 2
        with rehearsal_lab() as directory:
            report = asyncio.run(measure(open_real(directory), runs, count))
        report["lab"] = "rehearsal (brought up for this run)"
    checked = not (args.smoke or args.demo)
    spread = report["capture_spread_s_max"]
    report["targets"] = {
        "total_s": TOTAL_S,
        "capture_spread_s": SPREAD_S,
        "met": report["total_s_median"] < TOTAL_S and (spread is None or spread < SPREAD_S),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"lab: {report['lab']}")
        print(f"pair: {report['pair']}, {report['points']} observation points")
        print(f"{report['runs']} traces of {report['count']} echoes, "
              f"{report['delivered']} delivered")  # fmt: skip
        for name, seconds in report["phases_s_median"].items():
            print(f"  {name:<16} {seconds:6.3f} s (median)")
        print(f"  {'total':<16} {report['total_s_median']:6.3f} s (median), "
              f"max {report['total_s_max']:.3f} s; target < {TOTAL_S:g} s")  # fmt: skip
        shown = "-" if spread is None else f"{spread:.3f}"
        print(f"  captures start within {shown} s of each other (max); target < {SPREAD_S:g} s")
    if report["delivered"] != report["runs"]:
        return 1
    return 0 if (report["targets"]["met"] or not checked) else 1


if __name__ == "__main__":
    raise SystemExit(main())
