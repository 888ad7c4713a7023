"""N viewers on one lab: what SSH polling costs the switches, against the Prometheus source.

Brings up a rehearsal lab with `--telemetry` (real FRR, one real sshd per host, one real
prometheus-frr-exporter per switch and a real Prometheus, all on 127.0.0.1; no Kubernetes API),
always takes it down again, and runs N viewers (each a `RealLabBackend` as `fabrictui --lab DIR`
opens it, refreshing every switch every POLL_S seconds as the fabric pane does) for a while,
first over SSH, then from Prometheus. Per minute, on the switches:

- SSH logins accepted (the switches' own sshd logs) and vtysh commands run (the viewers' counts:
  commands sent into vtysh sessions plus one-shot `vtysh -c` runs);
- exporter scrapes (the exporters' own `frr_scrapes_total`), which do not depend on N;
- and on the jump host: the median refresh time and the CPU per refresh (this process), with
  the machine's own decode rate beside the figures (benchmarks/machine.py).

    python benchmarks/telemetry_viewers.py [--viewers 10] [--seconds 30] [--smoke] [--json]

Needs root and the packages of `lab up --telemetry`: without them it says so and exits 2.
Goal (issue 23): the Prometheus source adds no SSH login and no vtysh command per viewer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import machine  # benchmarks/machine.py, next to this file

from fabrictui.backends.real.backend import RealLabBackend
from fabrictui.backends.real.inventory import load_rehearsal
from fabrictui.lab import lab as rlab
from fabrictui.lab.labstate import load_state
from fabrictui.lab.topology import build_topology
from fabrictui.session.polling import read_all_switches

POLL_S = 3.0  # the fabric pane's default refresh (config: [poll] fabric)
SWITCHES: list[str] = []  # the lab's, once it is up


def accepted_logins(lab_dir: Path) -> int:
    total = 0
    for switch in SWITCHES:
        log = lab_dir / "logs" / f"{switch}.sshd.log"
        total += log.read_text(errors="replace").count("Accepted ") if log.exists() else 0
    return total


def exporter_scrapes(lab_dir: Path) -> float:
    state = load_state(lab_dir)
    assert state is not None
    total = 0.0
    for port in state.extra["telemetry"]["frr_exporters"].values():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        match = re.search(r"^frr_scrapes_total (\S+)$", text, re.M)
        total += float(match.group(1)) if match else 0.0
    return total - len(state.extra["telemetry"]["frr_exporters"])  # our own reads just now


def prometheus_cpu_s(lab_dir: Path) -> float:
    """CPU seconds Prometheus (the server) has used so far: its cost, paid once for all viewers."""
    state = load_state(lab_dir)
    assert state is not None
    (record,) = state.processes_of("prometheus")
    fields = Path(f"/proc/{record.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def viewers(lab_dir: Path, count: int, seconds: float, url: str | None) -> dict:
    backends = []
    for _ in range(count):
        backend = RealLabBackend.for_inventory(load_rehearsal(lab_dir))
        backend.use_prometheus(url)
        backends.append(backend)
    refreshes: list[float] = []
    cold: list[float] = []  # each viewer's first refresh: connections opened, pane filled
    first_done = {id(b): False for b in backends}
    logins0, scrapes0 = accepted_logins(lab_dir), exporter_scrapes(lab_dir)
    server0 = prometheus_cpu_s(lab_dir)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.monotonic()

    async def one(backend: RealLabBackend) -> None:
        while time.monotonic() - start < seconds:
            began = time.monotonic()
            readings = await read_all_switches(backend, list(SWITCHES), timeout=10.0)
            bad = [r.error for r in readings.values() if r.error]
            if bad:
                raise SystemExit(f"a viewer could not read: {bad[0]}")
            (refreshes if first_done[id(backend)] else cold).append(time.monotonic() - began)
            first_done[id(backend)] = True
            await asyncio.sleep(max(0.0, POLL_S - (time.monotonic() - began)))

    try:
        await asyncio.gather(*(one(b) for b in backends))
    finally:
        elapsed = time.monotonic() - start
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        commands = sum(b.switches.session_reads + b.switches.oneshot_reads for b in backends)
        queries = sum(b._telemetry.client.requests for b in backends if b._telemetry)
        await asyncio.gather(*(b.close() for b in backends))
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    per_min = 60.0 / elapsed
    return {
        "source": "prometheus" if url else "ssh",
        "viewers": count,
        "seconds": round(elapsed, 1),
        "refreshes": len(refreshes) + len(cold),
        "first_refresh_median_ms": round(statistics.median(cold) * 1000, 1),
        "ssh_logins_per_min": round((accepted_logins(lab_dir) - logins0) * per_min, 1),
        "vtysh_commands_per_min": round(commands * per_min, 1),
        "exporter_scrapes_per_min": round((exporter_scrapes(lab_dir) - scrapes0) * per_min, 1),
        "prometheus_queries_per_min": round(queries * per_min, 1),
        "refresh_median_ms": round(statistics.median(refreshes) * 1000, 1),
        "cpu_ms_per_refresh": round(cpu * 1000 / max(1, len(refreshes) + len(cold)), 2),
        "prometheus_server_cpu_ms_per_min": round(
            (prometheus_cpu_s(lab_dir) - server0) * 1000 * per_min, 1
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="2 viewers for 6 s (CI)")
    parser.add_argument("--spines", type=int, default=2)
    parser.add_argument("--racks", type=int, default=2, help="leaves (default 2)")
    args = parser.parse_args()
    if args.smoke:
        args.viewers, args.seconds = 2, 6.0
    try:
        rlab.check_platform()
    except rlab.LabError as exc:
        print(f"telemetry_viewers: {exc}", file=sys.stderr)
        return 2
    about = machine.machine()
    rate = machine.decoder_rate(20_000, 1) if args.smoke else machine.decoder_rate()
    about["decode_frames_per_s"] = round(rate)
    with tempfile.TemporaryDirectory(prefix="ftl-bench-") as tmp:
        lab_dir = Path(tmp) / "lab"
        # no workers beside rack 1's master: the switches are what is measured
        topology = build_topology(args.spines, args.racks, 0)
        SWITCHES[:] = [s.name for s in topology.switches]
        with rlab.running_lab(lab_dir, topology, kube=False, telemetry_on=True) as up:
            runs = [
                asyncio.run(viewers(lab_dir, args.viewers, args.seconds, None)),
                asyncio.run(viewers(lab_dir, args.viewers, args.seconds, up.prometheus)),
            ]
    prom = runs[1]
    targets = {"prometheus_ssh_logins_per_min": 0, "prometheus_vtysh_commands_per_min": 0}
    met = {
        "prometheus_ssh_logins_per_min": prom["ssh_logins_per_min"] == 0,
        "prometheus_vtysh_commands_per_min": prom["vtysh_commands_per_min"] == 0,
    }
    report = {"machine": about, "runs": runs, "switches": len(SWITCHES), "smoke": args.smoke,
              "targets": targets, "targets_met": met}  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"machine: {about}")
        for run in runs:
            print(json.dumps(run))
        print(f"targets met: {met}")
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
