"""Recording and replay: what a session recording costs, and how fast a long
one opens and seeks.

    python benchmarks/replay.py [--minutes 60] [--frame-rate 200] [--pod-rate 2]
                                [--seconds 10] [--seeks 50] [--smoke] [--json]

1. Recording cost: pcap bytes at 20,000 frames/s (148-byte Calico VXLAN
   frames, in 64 KiB chunks as a capture delivers them) through the capture
   worker (which decodes, and writes the recording's frames) for `--seconds`,
   with the worker told to record into the session's file and without. The
   added CPU time (this process, the app's side, plus the worker's) as a share
   of one core. Target: at most 15%.
2. A recording of `--minutes` (default an hour) of a lab: hosts every 10 s,
   switches every 3 s (a session flapping every 10 minutes), 500 pods with
   `--pod-rate` events a second (2; 200 for a busy cluster), the capture
   counters every second and `--frame-rate` frames/s, written through the
   real recorder (a fake clock) and the capture worker's frame path (run in
   this process). Then:
   opening it as `fabrictui replay` does (read, timeline marks, the first
   seek to the end). Target: under 2 s.
3. Seeks to `--seeks` random moments (state at that moment and the frames
   around it decoded). Target: p95 under 200 ms.

`--smoke`: 2 minutes of recording, 1 s of flood, 10 seeks (checks it works and
the counts; no speed). Exit 1 in full mode when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import process_cpu_s
from fabrictui.capture.counters import FlowSnapshot
from fabrictui.capture.synth import build_vxlan_icmp_frame, pcap_global_header, pcap_record
from fabrictui.model import (
    BgpPeer,
    BgpSummary,
    Host,
    KubePod,
    LabInfo,
    Role,
    SwitchReading,
    VmState,
    WatchEvent,
)
from fabrictui.session.capture_worker import CaptureWorker
from fabrictui.session.capture_worker.process import Worker
from fabrictui.session.capture_worker.protocol import (
    DATA,
    END,
    END_CLEAN,
    RECORD,
    START,
    start_payload,
)
from fabrictui.session.overlay import DisplayBatch, OverlaySummary
from fabrictui.session.record import Recorder, Recording
from fabrictui.session.record.marks import marks
from fabrictui.session.record.replay import ReplayDriver
from fabrictui.session.state import LabState

FLOOD_RATE = 20_000
CPU_TARGET = 0.15
OPEN_TARGET_S = 2.0
SEEK_P95_TARGET_S = 0.2
LAB = LabInfo("bench", "demo")


def frame(seq: int) -> bytes:
    return build_vxlan_icmp_frame(
        outer_src_mac="52:54:00:00:00:01", outer_dst_mac="52:54:00:00:00:02",
        outer_src="10.0.101.101", outer_dst="10.0.102.101", udp_src=40000 + seq % 1000,
        vni=4096, inner_src_mac="66:00:00:00:00:01", inner_dst_mac="ee:ee:ee:ee:ee:ee",
        inner_src="10.64.1.2", inner_dst="10.64.2.3", icmp_type=8, icmp_id=7, icmp_seq=seq & 0xFFFF,
    )  # fmt: skip


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def flood(seconds: float, record: bool, folder: Path) -> dict:
    """Chunks of 20,000 frames/s through the capture worker, recording (or not),
    paced by the loop; CPU of this process and of the worker."""
    template = [pcap_record(0.0, frame(i)) for i in range(64)]
    per_chunk = 64 * 1024 // len(template[0])
    chunk = b"".join(template[i % 64] for i in range(per_chunk))
    recorder = Recorder(folder / f"flood-{record}.rec.sqlite", LAB) if record else None
    worker = CaptureWorker(5000, 200)
    await worker.start()
    assert worker.pid is not None
    worker.record(recorder.path if recorder else None)
    sink = worker.sink("node1", None)
    sink.start()
    await sink.feed(pcap_global_header())
    sent = 0
    start_cpu, start_worker = cpu_s(), process_cpu_s(worker.pid)
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        due = int(elapsed * FLOOD_RATE)
        while sent + per_chunk <= due:
            await sink.feed(chunk)
            sent += per_chunk
        await asyncio.sleep(0.005)
    sink.end()
    while (await worker.summary())[0].counters.total < sent:  # all of it decoded
        await asyncio.sleep(0.01)
    wall = time.perf_counter() - start
    app_cpu, worker_cpu = cpu_s() - start_cpu, process_cpu_s(worker.pid) - start_worker
    await worker.close()  # the worker writes what it queued before it ends
    if recorder is not None:
        recorder.close()
    stored = Recording(recorder.path).frame_count() if recorder else 0
    return {
        "frames": sent,
        "seconds": round(wall, 2),
        "cpu_s": round(app_cpu + worker_cpu, 3),
        "app_cpu_s": round(app_cpu, 3),
        "worker_cpu_s": round(worker_cpu, 3),
        "stored": stored,
    }


def make_hour(path: Path, minutes: float, frame_rate: int, pod_rate: int = 2) -> dict:
    """A long recording through the real recorder, on a fake clock."""
    clock_now = [1_800_000_000.0]
    recorder = Recorder(path, LAB, clock=lambda: clock_now[0])
    state = LabState(LAB, lambda: clock_now[0])
    recorder.attach(state)
    hosts = [
        Host(f"leaf{i}", Role.LEAF, i, VmState.RUNNING, "demo", "", f"10.0.0.{i}") for i in range(8)
    ]
    pods = {f"p{i}": pod(i, 0) for i in range(500)}
    state.apply_pod_events([WatchEvent("RELIST", items=tuple(pods.values()))])
    worker = Worker(5000, 200)  # the capture worker's own frame path, in this process
    worker.process(RECORD, 0, str(path).encode())
    assert worker.recording is not None
    # an hour is fed here faster than any capture: nothing may be dropped for a slow disk
    worker.recording.max_backlog = 1 << 40
    worker.process(START, 1, start_payload("node1", "10.0.101.101"))
    worker.process(DATA, 1, pcap_global_header())
    rng = random.Random(1)
    seq = 0
    step = 1 / frame_rate
    for second in range(int(minutes * 60)):
        now = 1_800_000_000.0 + second
        clock_now[0] = now
        if second % 10 == 0:
            state.set_hosts(hosts)
        if second % 3 == 0:
            down = (second // 60) % 10 == 5  # one minute in ten the sessions are down
            state_text = "Active" if down else "Established"
            peers = tuple(
                BgpPeer(f"swp{j}", f"spine{j}", 65000 + j, state_text, "1d", 3) for j in range(2)
            )
            summary = BgpSummary("1.1.1.1", 65101, peers)
            state.set_readings({h.name: SwitchReading(h.name, summary, None, now) for h in hosts})
        for _ in range(pod_rate):
            number = rng.randrange(500)
            # mostly changes that are no trouble (a pod's readiness flapping), one in a
            # hundred a restart
            old = pods[f"p{number}"]
            restarts = old.restarts + (rng.randrange(100) == 0)
            pods[f"p{number}"] = pod(number, restarts, ready=1 - old.ready_containers)
            state.apply_pod_events([WatchEvent("MODIFIED", obj=pods[f"p{number}"])])
        counters = FlowSnapshot(seq, seq, 0, seq * 148, float(frame_rate))
        state.apply_overlay(OverlaySummary(counters, DisplayBatch([], 0), 0, 0))
        records = b"".join(pcap_record(now + i * step, frame(seq + i)) for i in range(frame_rate))
        seq += frame_rate
        worker.process(DATA, 1, records)
    worker.process(END, 1, END_CLEAN)
    worker.recording.close(timeout=600)
    assert worker.recording.dropped == 0 and worker.recording.error is None, worker.recording.error
    recorder.close(timeout=600)  # everything written before it is read
    mb = round(path.stat().st_size / 2**20, 1)
    return {"minutes": minutes, "frames": seq, "pod_rate": pod_rate, "mb": mb}


def pod(number: int, restarts: int, ready: int = 1) -> KubePod:
    ip = f"10.64.{number // 250}.{number % 250}"
    return KubePod("space1", f"web-{number}", ready, 1, "Running", restarts, 1.0, ip, "n1")


def open_and_seek(path: Path, seeks: int) -> dict:
    start = time.perf_counter()
    recording = Recording(path)
    found = marks(recording)
    driver = ReplayDriver(recording)
    state = LabState(recording.lab, driver.clock)
    driver.bind(state, lambda event: None)
    driver.seek(driver.end)
    opened = time.perf_counter() - start
    rng = random.Random(2)
    times = []
    for _ in range(seeks):
        at = rng.uniform(driver.start, driver.end)
        t0 = time.perf_counter()
        driver.seek(at)
        times.append(time.perf_counter() - t0)
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 2 else times[0]
    result = {
        "events": len(recording.events),
        "marks": len(found),
        "open_s": round(opened, 3),
        "seek_median_ms": round(statistics.median(times) * 1000, 1),
        "seek_p95_ms": round(p95 * 1000, 1),
        "seek_max_ms": round(max(times) * 1000, 1),
        "pods_at_end": len(state.pods),
    }
    recording.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--frame-rate", type=int, default=200)
    parser.add_argument("--pod-rate", type=int, default=2, help="pod events/s in the hour")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seeks", type=int, default=50)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    minutes, seconds, seeks = (
        (2.0, 1.0, 10) if args.smoke else (args.minutes, args.seconds, args.seeks)
    )
    with tempfile.TemporaryDirectory(prefix="fabrictui-bench-") as tmp:
        folder = Path(tmp)
        without = asyncio.run(flood(seconds, False, folder))
        with_rec = asyncio.run(flood(seconds, True, folder))
        added = (with_rec["cpu_s"] - without["cpu_s"]) / with_rec["seconds"]
        made_start = time.perf_counter()
        made = make_hour(folder / "hour.rec.sqlite", minutes, args.frame_rate, args.pod_rate)
        made["write_s"] = round(time.perf_counter() - made_start, 1)
        replay = open_and_seek(folder / "hour.rec.sqlite", seeks)
    report = {
        "load_1min": os.getloadavg()[0],
        "record_20k": {"without": without, "with": with_rec, "added_cpu_share": round(added, 3)},
        "recording": made,
        "replay": replay,
        "targets_met": {
            "record_cpu": added <= CPU_TARGET,
            "open": replay["open_s"] < OPEN_TARGET_S,
            "seek_p95": replay["seek_p95_ms"] < SEEK_P95_TARGET_S * 1000,
        },
    }
    correct = with_rec["stored"] == with_rec["frames"] and replay["pods_at_end"] == 500
    report["correct"] = correct
    if args.json:
        print(json.dumps(report))
    else:
        print(json.dumps(report, indent=2))
    if not correct:
        return 1
    if args.smoke:
        return 0
    return 0 if all(report["targets_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
