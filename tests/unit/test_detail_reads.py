"""A pod's and a node's detail read when they change and recorded (issue 26): the demo lab's
faults make them not ready; the reads are bounded (one in flight per object) and go into
`kubedetail` events that rebuild into the same details."""

from __future__ import annotations

import asyncio

from fabrictui.backends.demo import DemoBackend
from fabrictui.model import WatchEvent
from fabrictui.parsers.kubedetail.objects import NodeDetail, PodDetail
from fabrictui.session import detail_reads
from fabrictui.session.detail_reads import DetailReads
from fabrictui.session.record.format import dumps, loads
from fabrictui.session.record.kubedetail import KIND, LOG_LINES, detail_from_record
from fabrictui.session.state import LabState
from tests.demo_helpers import FakeClock

CALICO = ("kube-system", "calico-node-hwkkx")  # on k8s-node-l1-1, seed 1


def _lab() -> tuple[DemoBackend, LabState, FakeClock, list]:
    clock = FakeClock(frozen=True)
    backend = DemoBackend(scenario="ready-bgp", seed=1, clock=clock)
    state = LabState(backend.info(), clock)
    got: list = []
    state.listeners.append(lambda kind, data: got.append(data) if kind == KIND else None)
    return backend, state, clock, got


async def _tick(backend: DemoBackend, reads: DetailReads) -> None:
    reads.saw_pods(WatchEvent("RELIST", items=tuple(await backend.list_pods())))
    reads.saw_node(WatchEvent("RELIST", items=tuple(await backend.list_nodes())))
    await reads.drain()


async def test_faults_record_the_pods_and_nodes_detail_and_recovery() -> None:
    backend, state, clock, got = _lab()
    reads = DetailReads(backend, state)
    await _tick(backend, reads)
    assert got == []  # a healthy lab: nothing read
    faults = ("stop-bird:k8s-node-l1-1", "stop-kubelet:k8s-node-l2-1")
    for fault in faults:
        await backend.set_fault(fault, True)
    clock.step(60)
    await _tick(backend, reads)
    # through the recording's own encoding, as a replay reads it
    details = {(d.kind, d.name): d for d in (detail_from_record(1.0, loads(dumps(x))) for x in got)}
    pod = details[("pod", CALICO[1])]
    assert pod.why == "turned not ready" and pod.namespace == CALICO[0]
    assert isinstance(pod.detail, PodDetail)
    ready = next(c for c in pod.detail.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("False", "ContainersNotReady")
    assert pod.log is not None and pod.log.container == "calico-node"
    assert 0 < len(pod.log.lines) <= LOG_LINES and not pod.log.previous
    assert any("BIRD" in line or "bird" in line for line in pod.log.lines)
    node = details[("node", "k8s-node-l2-1")]
    assert node.why == "turned NotReady" and isinstance(node.detail, NodeDetail)
    assert node.log is None
    assert next(c for c in node.detail.conditions if c.type == "Ready").status != "True"
    got.clear()
    for fault in faults:
        await backend.set_fault(fault, False)
    clock.step(120)
    await _tick(backend, reads)
    whys = {(d["object"], d["name"]): d["why"] for d in got}
    assert whys[("pod", CALICO[1])] == "ready again"
    assert whys[("node", "k8s-node-l2-1")] == "Ready again"


async def test_one_read_in_flight_per_object_and_a_bound(monkeypatch) -> None:
    backend, state, _clock, got = _lab()
    gate = asyncio.Event()
    calls: list[str] = []
    real = backend.read_object

    async def slow(kind, name, namespace=None):
        calls.append(name)
        await gate.wait()
        return await real(kind, name, namespace)

    monkeypatch.setattr(backend, "read_object", slow)
    monkeypatch.setattr(detail_reads, "MAX_WAITING", 3)
    reads = DetailReads(backend, state)
    pods = await backend.list_pods()
    for pod in pods[:5]:  # five pods "not ready when first seen": three read, two left
        reads._want(("pod", pod.key), "not ready when first seen")
    for _ in range(4):  # the same object changing again and again during its read
        reads._want(("pod", pods[0].key), "restarted")
    await asyncio.sleep(0.05)
    assert len(calls) == detail_reads.MAX_CONCURRENT and reads.left == 2
    gate.set()
    await reads.drain()
    assert calls.count(pods[0].name) == 2  # its read, and one more for all that came during it
    assert len(got) == 4


async def test_nothing_is_read_while_nothing_records() -> None:
    backend, state, clock, _got = _lab()
    state.listeners.clear()
    reads = DetailReads(backend, state)
    await backend.set_fault("stop-kubelet:k8s-node-l2-1", True)
    clock.step(60)
    await _tick(backend, reads)
    assert not reads._tasks


async def test_an_object_that_cannot_be_read_is_recorded_with_the_words() -> None:
    backend, state, _clock, got = _lab()
    reads = DetailReads(backend, state)
    reads._want(("pod", "default/no-such-pod"), "turned not ready")
    await reads.drain()
    (record,) = got
    assert record["detail"] is None and "no-such-pod" in record["error"]
