"""The demo lab's nodes and pods go through the real client's conversion.

The demo hands out API-shaped objects (what the official client's
`sanitize_for_serialization` gives for a V1Node / V1Pod) and the same
`node_from_api` / `pod_from_api` the real client uses turn them into the model.
The golden file was written from the demo lab before it did so, when it built
its model objects by hand: the objects it gives now must be identical, in lists
and in watch events, through the `fresh` and `ready` labs' lives (Calico coming
up, a deployment scaled up and down, calico-node crash-looping).

Regenerate (only on purpose): `python -m tests.unit.test_demo_kube_api --write`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from typing import Any

import pytest

from fabrictui.backends.base import DemoWorkload
from fabrictui.backends.demo import DemoBackend
from fabrictui.parsers.kube import node_from_api, pod_from_api, timestamp
from tests._paths import TEST_DATA
from tests.demo_helpers import frozen_backend

GOLDEN = TEST_DATA / "demo_kube_models.json"


# Model fields added after the golden file was written, left out of the comparison.
NEWER_FIELDS = ("unschedulable", "image")


def _full(obj: Any) -> Any:
    return json.loads(json.dumps(dataclasses.asdict(obj)))


def _strip(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in NEWER_FIELDS}


def _plain(obj: Any) -> Any:
    return _strip(_full(obj))


def _as_golden(events: list[Any]) -> list[Any]:
    """The events as the golden file has them: newer fields left out, and a MODIFIED
    event dropped when all it changed was a newer field (such as the scheduler's reason)."""
    last: dict[tuple[str, str], Any] = {}
    kept = []
    for kind, type_, obj in events:
        if type_ == "RELIST":
            last = {(kind, o.get("namespace", "") + "/" + o["name"]): o for o in obj}
            kept.append([kind, type_, [_strip(o) for o in obj]])
            continue
        key = (kind, obj.get("namespace", "") + "/" + obj["name"])
        before = last.get(key)
        last[key] = obj
        if type_ == "MODIFIED" and before not in (None, obj) and _strip(before) == _strip(obj):
            continue
        kept.append([kind, type_, _strip(obj)])
    return kept


class Recorder:
    """Follows a backend's node and pod watches in tasks, as the UI does."""

    def __init__(self, backend: DemoBackend) -> None:
        self.backend = backend
        self.events: list[Any] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Recorder:
        for kind, stream in (
            ("node", self.backend.watch_nodes()),
            ("pod", self.backend.watch_pods()),
        ):
            self.tasks.append(asyncio.create_task(self._follow(kind, stream)))
        await self.settle()
        return self

    async def _follow(self, kind: str, stream: Any) -> None:
        async for event in stream:
            if event.type == "RELIST":
                items = [_full(i) for i in event.items]
                self.events.append([kind, "RELIST", items])
            else:
                self.events.append([kind, event.type, _full(event.obj)])

    async def settle(self) -> None:
        """Let the watchers take every queued event (none of them waits on time)."""
        seen = -1
        while seen != len(self.events):
            seen = len(self.events)
            for _ in range(20):
                await asyncio.sleep(0)

    async def __aexit__(self, *exc: object) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def _lists(backend: DemoBackend, label: str) -> dict[str, Any]:
    nodes = [_plain(n) for n in await backend.list_nodes()]
    pods = [_plain(p) for p in await backend.list_pods()]
    return {"at": label, "nodes": nodes, "pods": pods}


async def _fresh_life() -> dict[str, Any]:
    backend, _clock = frozen_backend("fresh")
    t0 = backend.sim.now()
    states = [await _lists(backend, "fresh")]
    async with Recorder(backend) as rec:
        await backend.apply_calico()
        for dt in (0.5, 1.0, 2.5, 3.2, 4.0, 6.0, 12.0):
            backend.sim.advance(t0 + dt)
            await rec.settle()
            states.append(await _lists(backend, f"calico +{dt}"))
        await backend.ensure_workload(DemoWorkload())
        await backend.scale_deployment("space1", "nginx-deployment", 3)
        for dt in (12.2, 13.0, 16.0, 20.0):
            backend.sim.advance(t0 + dt)
            await rec.settle()
            states.append(await _lists(backend, f"nginx +{dt}"))
        events = rec.events
    await backend.close()
    return {"states": states, "events": events}


async def _ready_life() -> dict[str, Any]:
    backend, _clock = frozen_backend("ready")
    t0 = backend.sim.now()
    states = [await _lists(backend, "ready")]
    async with Recorder(backend) as rec:
        await backend.set_fault("stop-calico-node:k8s-node-l2-1", True)
        for dt in (0.5, 1.5, 12.0, 13.0):
            backend.sim.advance(t0 + dt)
            await rec.settle()
            states.append(await _lists(backend, f"fault +{dt}"))
        await backend.set_fault("stop-calico-node:k8s-node-l2-1", False)
        await backend.scale_deployment("space1", "nginx-deployment", 2)
        for dt in (13.5, 16.0, 20.0):
            backend.sim.advance(t0 + dt)
            await rec.settle()
            states.append(await _lists(backend, f"scaled down +{dt}"))
        events = rec.events
    await backend.close()
    return {"states": states, "events": events}


async def _life() -> dict[str, Any]:
    return {"fresh": await _fresh_life(), "ready": await _ready_life()}


@pytest.mark.parametrize("scenario", ["fresh", "ready"])
async def test_demo_models_identical_to_golden(scenario: str) -> None:
    golden = json.loads(GOLDEN.read_text())[scenario]
    life = await (_fresh_life() if scenario == "fresh" else _ready_life())
    assert len(life["states"]) == len(golden["states"])
    for got, want in zip(life["states"], golden["states"], strict=True):
        assert got == want, got["at"]
    assert _as_golden(life["events"]) == golden["events"]


@pytest.mark.parametrize("scenario", ["fresh", "ready"])
async def test_demo_objects_are_api_shaped(scenario: str) -> None:
    """What the lab hands out is raw API JSON, converted by the real functions."""
    backend, _clock = frozen_backend(scenario)
    nodes = backend.kube.node_objects()
    pods = backend.kube.pod_objects()
    assert nodes and pods
    for obj in nodes:
        assert {"metadata", "spec", "status"} <= obj.keys()
        assert obj["kind"] == "Node" and obj["apiVersion"] == "v1"
        assert any(c["type"] == "Ready" for c in obj["status"]["conditions"])
        json.dumps(obj)  # plain JSON, as an API server sends it
    for obj in pods:
        assert obj["kind"] == "Pod" and obj["metadata"]["creationTimestamp"].endswith("Z")
        assert obj["status"]["phase"] in ("Pending", "Running")
        if obj["spec"].get("nodeName"):
            assert any(c["type"] == "PodScheduled" for c in obj["status"]["conditions"])
        json.dumps(obj)
    assert [node_from_api(n) for n in nodes] == await backend.list_nodes()
    assert [pod_from_api(p) for p in pods] == await backend.list_pods()
    await backend.close()


@pytest.mark.parametrize(
    "t", [0.0, 1573462632.0, 1573462632.55, 1573462632.1 + 0.2, 1764482066.1234567, 1e9 + 1e-7]
)
def test_timestamps_round_trip_exactly(t: float) -> None:
    from fabrictui.backends.demo.objects import api_time

    text = api_time(t)
    assert text.endswith("Z") and "T" in text
    assert timestamp(text) == t


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    GOLDEN.write_text(json.dumps(asyncio.run(_life()), indent=None, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
