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


async def _record(path, faults: tuple[str, ...]) -> tuple[float, float]:
    """A recording of the demo lab: healthy, then `faults`, read as the feeds read it."""
    from fabrictui.session.record import Recorder

    backend, _state, clock, _got = _lab()
    recorder = Recorder(path, backend.info(), clock=clock)
    state = LabState(backend.info(), clock)
    recorder.attach(state)
    reads = DetailReads(backend, state)

    async def tick() -> None:
        state.set_hosts(await backend.list_hosts())
        nodes = WatchEvent("RELIST", items=tuple(await backend.list_nodes()))
        state.apply_node_event(nodes)
        reads.saw_node(nodes)
        pods = WatchEvent("RELIST", items=tuple(await backend.list_pods()))
        state.apply_pod_events([pods])
        reads.saw_pods(pods)
        await reads.drain()

    await tick()
    healthy = clock()
    for fault in faults:
        await backend.set_fault(fault, True)
    clock.step(60)
    await tick()
    seen = clock()
    recorder.close()
    return healthy, seen


def _moment(path, at: float):
    from fabrictui.session.record import Recording
    from fabrictui.session.record.drill import Moment
    from fabrictui.session.record.replay import ReplayDriver

    rec = Recording(path)
    driver = ReplayDriver(rec)
    state = LabState(rec.lab, driver.clock)
    driver.bind(state, lambda event: None)
    driver.seek(at)
    return rec, Moment(state, rec, at)


def test_a_replayed_node_and_pod_show_the_detail_recorded_as_of_the_cursor(tmp_path) -> None:
    from fabrictui.session.record.drill import recorded_detail, recorded_log

    path = tmp_path / "kubelet.rec.sqlite"
    crashing = "stop-calico-node:k8s-node-l1-2"
    healthy, seen = asyncio.run(_record(path, ("stop-kubelet:k8s-node-l2-1", crashing)))
    rec, moment = _moment(path, seen)
    try:
        node = recorded_detail("node", "k8s-node-l2-1", None, moment)
        titles = [s.title for s in node.sections]
        assert titles[:3] == ["Node", "Detail as recorded", "Conditions"]
        assert "Node as read" in titles and "Addresses" in titles
        assert dict(node.sections[1].rows)["Why"] == "turned NotReady"
        ready = dict(node.sections[2].rows)["Ready"]
        assert ready.startswith("Unknown") or ready.startswith("False")
        not_recorded = next(s for s in node.sections if s.title == "Not recorded")
        assert not any("conditions" in line for line in not_recorded.lines)
        pod_key = next(k for k in moment.state.pods if "calico-node" in k
                       and moment.state.pods[k].node == "k8s-node-l1-2")  # fmt: skip
        ns, name = pod_key.split("/")
        pod = recorded_detail("pod", name, ns, moment)
        container = next(s for s in pod.sections if s.title == "Container calico-node")
        assert "Terminated" in dict(container.rows)["Last State"]
        rd = recorded_log(moment, ns, name)
        assert rd is not None and rd.log is not None and rd.log.previous  # it waits to restart
        assert any("FATAL" in line or "Exiting" in line for line in rd.log.lines)
    finally:
        rec.close()
    from fabrictui.report.moment import moment_at
    from fabrictui.session.record import Recording

    rec = Recording(path)
    try:  # the report's lines: when, the object, what changed and why
        lines = moment_at(rec, seen).detail_changes
    finally:
        rec.close()
    assert any(" node k8s-node-l2-1: turned NotReady; Ready " in line for line in lines)
    crashed = next(line for line in lines if f"pod {pod_key}: restarted" in line)
    assert "calico-node Waiting (CrashLoopBackOff)" in crashed and "last terminated" in crashed
    rec, moment = _moment(path, healthy)  # before the fault: nothing read yet
    try:
        node = recorded_detail("node", "k8s-node-l2-1", None, moment)
        assert "Detail as recorded" not in [s.title for s in node.sections]
        assert "conditions with their reasons" in node.sections[-1].lines[0]
        assert recorded_log(moment, "kube-system", "calico-node-hwkkx") is None
    finally:
        rec.close()


def test_an_older_recording_without_kubedetail_still_replays(tmp_path) -> None:
    import sqlite3

    from fabrictui.session.record.drill import recorded_detail

    path = tmp_path / "old.rec.sqlite"
    _healthy, seen = asyncio.run(_record(path, ("stop-kubelet:k8s-node-l2-1",)))
    with sqlite3.connect(path) as conn:
        assert conn.execute("DELETE FROM events WHERE kind = ?", (KIND,)).rowcount >= 1
    rec, moment = _moment(path, seen)
    try:
        node = recorded_detail("node", "k8s-node-l2-1", None, moment)
        assert [s.title for s in node.sections][:2] == ["Node", "Calico node"]
        assert node.sections[-1].title == "Not recorded"
    finally:
        rec.close()


def _mutations(data, rng):
    """`data` with one value somewhere replaced by a value of another type."""
    import copy

    data = copy.deepcopy(data)
    junk = [None, 7, -1, "x", [], {}, 1.5, True, [["a"]], {"a": 1}]
    holder, key = None, None
    node = data
    for _ in range(rng.randint(1, 4)):  # walk down a few levels
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        holder, key = node, rng.choice(keys)
        if not isinstance(node[key], dict | list) or rng.random() < 0.3:
            break
        node = node[key]
    if holder is not None:
        holder[key] = rng.choice(junk)
    return data


async def test_damaged_records_are_refused_or_drawn_never_a_crash() -> None:
    """A recording's `kubedetail` damaged (a value of the wrong type anywhere): rebuilt into
    a detail the screens and the report can draw, or refused with ValueError/TypeError (the
    replay then skips it); never another exception where it is drawn."""
    import json
    import random

    from fabrictui.actions.drill.node import node_sections
    from fabrictui.actions.drill.pod import conditions_section, container_section, status_section
    from fabrictui.session.record.kubedetail import change_line

    backend, state, clock, got = _lab()
    reads = DetailReads(backend, state)
    await backend.set_fault("stop-calico-node:k8s-node-l1-2", True)
    await backend.set_fault("stop-kubelet:k8s-node-l2-1", True)
    clock.step(60)
    await _tick(backend, reads)
    records = [json.loads(json.dumps(r)) for r in got]  # as plain JSON, as decode gives it
    assert {r["object"] for r in records} == {"pod", "node"}
    rng = random.Random(26)
    refused = drawn = 0
    for _ in range(600):
        record = _mutations(rng.choice(records), rng)
        try:
            rd = detail_from_record(1.0, record)
        except (ValueError, TypeError):
            refused += 1
            continue
        change_line(rd)
        if isinstance(rd.detail, PodDetail):
            status_section(rd.detail)
            conditions_section(rd.detail)
            for c in rd.detail.containers:
                container_section(c)
        elif isinstance(rd.detail, NodeDetail):
            node_sections(rd.detail)
        drawn += 1
    assert refused and drawn
