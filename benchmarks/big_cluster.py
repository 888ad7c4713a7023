"""Big clusters: 5,000 pods listed, then 200 pod events/s, in a headless app.

Prints the time to the first screenful of pods and to all of them in the
table, key-press latency (p50/p95) while the rows are drawn and while events
stream, and confirms rows are updated in place (the table's row objects
survive events; no rebuild). Also the machine and, measured in the same run,
its decoder's rate (benchmarks/machine.py), for scale.

    python benchmarks/big_cluster.py [--pods 5000] [--rate 200] [--seconds 20] [--busy-core]
                                     [--smoke] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import busy_core, decoder_rate, machine
from fabrictui.app import make_app
from fabrictui.config import Settings
from fabrictui.model import KubePod, WatchEvent
from tests.fake_backend import FakeBackend

STATUSES = ("Running", "Pending", "ContainerCreating", "CrashLoopBackOff")
FIRST_RENDER_S = 1.5
KEY_P95_MS = 100.0


def make_pods(count: int) -> list[KubePod]:
    now = time.time()
    return [
        KubePod(
            f"ns{i % 40}",
            f"app{i % 97}-deployment-5d8c7b9f4-{i:05d}",
            1,
            1,
            "Running",
            0,
            now - 3600 - i,
            f"10.{64 + i // 65536}.{(i // 256) % 256}.{i % 256}",
            f"k8s-node-{i % 64}",
            owner=f"app{i % 97}-deployment",
        )
        for i in range(count)
    ]


async def measure(pod_count: int, rate: int, seconds: float, record: bool = True) -> dict:
    backend = FakeBackend()
    backend.pods = make_pods(pod_count)
    settings = Settings(host_poll_seconds=5, fabric_poll_seconds=5, record=record)
    app = make_app(backend, settings)
    rng = random.Random(1)
    latencies: list[float] = []
    start = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one("#pod-table")
        while table.row_count < min(pod_count, 40):
            await asyncio.sleep(0.002)
        first_screen = time.perf_counter() - start
        drawing: list[float] = []  # keys pressed while the rest of the rows are drawn
        target = 2
        while table.row_count < pod_count:
            await asyncio.sleep(0.05)
            t0 = time.perf_counter()
            app.simulate_key(str(target))
            while app.main.active_pane != target:
                await asyncio.sleep(0.001)
            drawing.append(time.perf_counter() - t0)
            target = 3 if target == 2 else 2
        first_render = time.perf_counter() - start
        await pilot.pause(0.2)
        row_ids_before = {key.value for key in table.rows}

        async def stream_events() -> int:
            sent = 0
            loop = asyncio.get_running_loop()
            begin = loop.time()
            while loop.time() - begin < seconds:
                pod = backend.pods[rng.randrange(pod_count)]
                changed = KubePod(
                    pod.namespace, pod.name, rng.randint(0, 1), 1, rng.choice(STATUSES),
                    pod.restarts + 1, pod.created, pod.ip, pod.node, owner=pod.owner,
                )  # fmt: skip
                await backend.pod_events.put(WatchEvent("MODIFIED", changed))
                sent += 1
                due = begin + sent / rate
                await asyncio.sleep(max(0.0, due - loop.time()))
            return sent

        producer = asyncio.create_task(stream_events())
        target = 2
        while not producer.done():
            await asyncio.sleep(0.25)
            t0 = time.perf_counter()
            app.simulate_key(str(target))
            while app.main.active_pane != target:
                await asyncio.sleep(0.001)
            latencies.append(time.perf_counter() - t0)
            target = 3 if target == 2 else 2
        sent = await producer
        await pilot.pause(0.3)
        in_place = {key.value for key in table.rows} == row_ids_before
    return {
        "pods": pod_count,
        "events_sent": sent,
        "event_rate": rate,
        "first_screen_s": round(first_screen, 3),
        "first_render_s": round(first_render, 3),
        "key_max_while_drawing_ms": round(max(drawing, default=0.0) * 1000, 1),
        "key_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "key_p95_ms": round(p95(latencies) * 1000, 1),
        "key_presses": len(latencies),
        "rows_updated_in_place": in_place,
    }


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--busy-core", action="store_true", help="another process spins a core")
    parser.add_argument(
        "--no-record", action="store_true", help="without the session recording (on by default)"
    )
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pods, seconds = (500, 2.0) if args.smoke else (args.pods, args.seconds)
    with busy_core(args.busy_core):
        before = machine()
        decoder = decoder_rate(*((2_000, 1) if args.smoke else (100_000, 3)))
        result = asyncio.run(measure(pods, args.rate, seconds, not args.no_record))
        after = machine()
    result["machine"] = {**before, "load_1min_end": after["load_1min"]}
    result["busy_core"] = args.busy_core
    result["recording"] = not args.no_record
    result["decoder_frames_per_s"] = round(decoder)
    result["targets_met"] = {
        "first_render": result["first_render_s"] <= FIRST_RENDER_S,
        "key_p95": result["key_p95_ms"] <= KEY_P95_MS,
        "in_place": result["rows_updated_in_place"],
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:<26}{value}")
    if args.smoke:
        return 0 if result["rows_updated_in_place"] else 1
    return 0 if all(result["targets_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
