"""Drill down on pods and nodes (issue 26): the parsers on 1.15-shaped API objects
(tests/data/kubedetail), the describers on them and on the demo lab, and the demo lab's
Events and logs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fabrictui.actions.drill import DESCRIBERS
from fabrictui.backends.base import BackendError, NotFound
from fabrictui.backends.demo.backend import DemoBackend
from fabrictui.parsers import ParseError
from fabrictui.parsers.kubedetail.events import events_from_api, order_events
from fabrictui.parsers.kubedetail.objects import node_detail, pod_detail
from fabrictui.render.detail import Detail, DetailLink, detail_text
from tests._paths import TEST_DATA

DATA = TEST_DATA / "kubedetail"
BIRD_WORDS = "calico/node is not ready: BIRD is not ready: BGP not established with 10.0.101.1"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def test_core_and_group_events_read_the_same() -> None:
    core = events_from_api(load("events-core-v1.json"))
    group = events_from_api(load("events-events.k8s.io-v1beta1.json"))
    unhealthy_core = next(e for e in core if e.reason == "Unhealthy")
    unhealthy_group = next(e for e in group if e.reason == "Unhealthy")
    assert unhealthy_core == unhealthy_group
    assert unhealthy_core.message == f"Readiness probe failed: {BIRD_WORDS}"  # no newline
    assert (unhealthy_core.count, unhealthy_core.source) == (17, "kubelet, k8s-node-l1-1")
    assert unhealthy_core.about == "pod/calico-node-7xq2p" and unhealthy_core.warning
    node_event = next(e for e in group if e.kind == "Node")
    assert (node_event.reason, node_event.source) == ("NodeNotReady", "node-controller")
    ordered = order_events(core + group[:1])
    # Warning first, newest first within each
    assert [e.reason for e in ordered] == [
        "Unhealthy", "BackOff", "NodeNotReady", "Started", "Scheduled"
    ]  # fmt: skip


def test_events_refuse_what_is_not_an_event_list() -> None:
    with pytest.raises(ParseError):
        events_from_api({"items": [{"metadata": {"name": "x"}, "count": "many"}]})
    with pytest.raises(ParseError):
        events_from_api({"items": {"not": "a list"}})


def test_pod_detail_of_an_unready_calico_node() -> None:
    pod = pod_detail(load("pod-calico-node-unready.json"))
    assert (pod.phase, pod.node, pod.owner, pod.host_network) == (
        "Running", "k8s-node-l1-1", "DaemonSet/calico-node", True
    )  # fmt: skip
    ready = next(c for c in pod.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("False", "ContainersNotReady")
    init, main = pod.containers
    assert init.init and init.state == "Terminated" and init.reason == "Completed"
    assert (main.state, main.ready, main.restarts) == ("Running", False, 3)
    assert (main.last_reason, main.last_exit, main.last_finished) == (
        "Error", 1, "2019-08-20T10:01:58Z"
    )  # fmt: skip
    assert main.readiness.startswith("exec [/bin/calico-node -bird-ready -felix-ready]")
    assert "#failure=6" in main.liveness


def test_node_detail() -> None:
    node = node_detail(load("node-k8s-node-l1-1.json"))
    assert node.kubelet == "v1.15.2" and node.runtime == "docker://18.9.7"
    assert node.tunnel_ip == "10.70.12.64" and node.calico_ip == "10.0.101.101/24"
    assert node.taints == ("node.kubernetes.io/unreachable:NoSchedule",)
    assert ("InternalIP", "10.0.101.101") in node.addresses
    assert dict(node.capacity)["pods"] == "110"
    ready = next(c for c in node.conditions if c.type == "Ready")
    assert (ready.status, ready.message) == ("Unknown", "Kubelet stopped posting node status.")


class Recorded(DemoBackend):
    """The demo lab's shape and policies with the recorded 1.15 objects in place of its own:
    the describers read a real cluster's objects through the backend calls."""

    async def read_object(
        self, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any]:
        files = {"pod": "pod-calico-node-unready.json", "node": "node-k8s-node-l1-1.json"}
        obj = load(files[kind])
        if obj["metadata"]["name"] != name:
            raise NotFound(f'{kind}s "{name}" not found')
        return obj

    async def list_events(self, namespace=None, about=None):  # type: ignore[no-untyped-def]
        events = events_from_api(load("events-core-v1.json"))
        events += events_from_api(load("events-events.k8s.io-v1beta1.json"))[:1]
        return [e for e in events if about is None or (e.kind, e.object_name) == about]


async def test_pod_describer_on_recorded_objects() -> None:
    backend = Recorded("ready-bgp")
    try:
        detail = await DESCRIBERS["pod"](backend, "calico-node-7xq2p", "kube-system")
    finally:
        await backend.close()
    sections = {s.title: s for s in detail.sections}
    assert sections["Probe failures"].lines == (f"Readiness probe failed: {BIRD_WORDS}",)
    assert sections["Probe failures"].severity == "bad"
    container = dict(sections["Container calico-node"].rows)
    assert (
        container["Last State"] == "Terminated (Error, exit code 1, finished 2019-08-20T10:01:58Z)"
    )
    assert container["Restart Count"] == "3" and container["Ready"] == "False"
    assert "Calico endpoint" not in sections  # host network: no workload endpoint
    assert sections["Events"].lines[0].startswith("2019-08-20T10:04:21Z  Warning  Unhealthy (x17)")
    # the readiness message names the leaf's address: the session is on that leaf, named
    # by the node's address as the leaf sees it
    assert DetailLink("node", "k8s-node-l1-1", why="the pod runs there") in detail.links
    session = next(link for link in detail.links if link.kind == "session")
    assert session.name == "leaf1/10.0.101.101"
    text = detail_text(detail)
    assert "fabrictui describe session leaf1/10.0.101.101" in text
    assert json.loads(json.dumps(detail.to_json()))["kind"] == "pod"


async def test_node_describer_on_recorded_objects() -> None:
    backend = Recorded("ready")
    try:
        detail = await DESCRIBERS["node"](backend, "k8s-node-l1-1", None)
    finally:
        await backend.close()
    sections = {s.title: s for s in detail.sections}
    assert sections["Node"].severity == "bad"
    assert dict(sections["Node"].rows)["Taints"] == "node.kubernetes.io/unreachable:NoSchedule"
    assert dict(sections["Calico node"].rows)["Tunnel address"] == "10.70.12.64"
    assert any("NodeNotReady" in line for line in sections["Events"].lines)
    assert any(title.startswith("Pods (") for title in sections)
    assert all(link.kind == "pod" for link in detail.links) and detail.links


async def test_not_found_in_the_apis_words() -> None:
    backend = DemoBackend("ready")
    try:
        with pytest.raises(NotFound, match='pods "nope" not found'):
            await DESCRIBERS["pod"](backend, "nope", "space1")
        with pytest.raises(NotFound, match='nodes "nope" not found'):
            await DESCRIBERS["node"](backend, "nope", None)
    finally:
        await backend.close()


async def test_demo_calico_node_fault_reads_as_a_real_cluster_would() -> None:
    backend = DemoBackend("ready", speed=300.0)
    try:
        await backend.start()
        pods = await backend.list_pods("kube-system")
        pod = next(p for p in pods if p.owner == "calico-node" and p.node == "k8s-node-l2-1")
        with pytest.raises(BackendError, match='previous terminated container "calico-node"'):
            await backend.pod_log("kube-system", pod.name, previous=True)
        backend.faultboard.set("stop-calico-node:k8s-node-l2-1", True, backend._now())
        await backend.advance(30)
        detail: Detail = await DESCRIBERS["pod"](backend, pod.name, "kube-system")
        sections = {s.title: s for s in detail.sections}
        assert "felix is not ready" in sections["Probe failures"].lines[0]
        assert sections["Container calico-node"].severity == "bad"
        events = await backend.list_events("kube-system", ("Pod", pod.name))
        assert {"BackOff", "Unhealthy"} <= {e.reason for e in events if e.warning}
        previous = await backend.pod_log("kube-system", pod.name, previous=True)
        assert previous[-1].split("] ", 1)[1].startswith("daemon.go")
        assert "[FATAL]" in previous[-1]
        tail = await backend.pod_log("kube-system", pod.name, tail=2)
        assert len(tail) == 2
        with pytest.raises(BackendError, match="container nope is not valid for pod"):
            await backend.pod_log("kube-system", pod.name, container="nope")
    finally:
        await backend.close()


async def test_demo_pending_pod_has_no_host_in_the_apis_words() -> None:
    backend = DemoBackend("fresh")
    try:
        await backend.start()
        pending = next(p for p in await backend.list_pods("kube-system") if p.node is None)
        with pytest.raises(BackendError, match=f"pod {pending.name} does not have a host"):
            await backend.pod_log("kube-system", pending.name)
        detail = await DESCRIBERS["pod"](backend, pending.name, "kube-system")
        events = next(s for s in detail.sections if s.title == "Events")
        assert "FailedScheduling" in events.lines[0] and events.severity == "warn"
    finally:
        await backend.close()


def test_the_lab_probe_reads_birds_own_table() -> None:
    """calico-node's BIRD readiness in the rehearsal lab, on BIRD 1.6's recorded answers."""
    from fabrictui.lab.kubeapi.controllers.readiness import bird_words

    bird = TEST_DATA / "bird"
    assert bird_words((bird / "bird-1.6-calico-node-bgp-mode.txt").read_text()) == ""
    assert bird_words((bird / "bird-1.6.8-rehearsal-node.txt").read_text()) == ""
    assert bird_words((bird / "bird-1.6-calico-node-mesh-raw.txt").read_text()) == (
        "calico/node is not ready: BIRD is not ready: "
        "BGP not established with 10.0.102.101,10.0.102.1"
    )


async def test_demo_bird_stopped_in_bgp_mode() -> None:
    """The done-when case on the demo lab: in BGP mode, BIRD stopped in k8s-node-l1-1's
    calico-node: its pod 0/1 (the pane's and the detail's), the probe's words (a stopped
    BIRD: calico-node's socket error), the node linking its session on its leaf."""
    vxlan = DemoBackend("ready")
    assert not [f for f in vxlan.faults() if f.id.startswith("stop-bird:")]  # BGP mode only
    await vxlan.close()
    backend = DemoBackend("ready-bgp")
    try:
        await backend.start()
        assert "stop-bird:k8s-node-l1-1" in {f.id for f in backend.faults()}
        await backend.set_fault("stop-bird:k8s-node-l1-1", True)
        pods = await backend.list_pods("kube-system")
        pod = next(p for p in pods if p.owner == "calico-node" and p.node == "k8s-node-l1-1")
        assert pod.ready_text == "0/1"
        detail = await DESCRIBERS["pod"](backend, pod.name, "kube-system")
        words = {s.title: s for s in detail.sections}["Probe failures"].lines[0]
        assert words.startswith("Readiness probe failed: calico/node is not ready: BIRD is not")
        assert "unable to connect to BIRDv4 socket" in words
        node = await DESCRIBERS["node"](backend, "k8s-node-l1-1", None)
        assert (
            DetailLink("session", "leaf1/10.0.101.101", why="its BGP session on its leaf")
            in node.links
        )
        assert any("BIRD" in p for p in node.problems)  # its BIRD does not answer
        await backend.set_fault("stop-bird:k8s-node-l1-1", False)
        pods = await backend.list_pods("kube-system")
        assert next(p for p in pods if p.name == pod.name).ready_text == "1/1"
    finally:
        await backend.close()
