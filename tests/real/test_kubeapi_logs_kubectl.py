"""`kubectl logs` and `kubectl get events` against the lab API as against a real 1.15: the
calico-node log of what the lab's Calico agent did, the API server's and the kubelet's own
refusals, a follow that ends with its pod, and Events in both of 1.15's shapes.

The server runs in a thread with the memory data plane (as test_kubeapi_kubectl.py)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import Iterator

import pytest

from fabrictui.lab.kubeapi.harness import ServerThread
from tests._paths import CALICO_MANIFEST_1_15
from tests._require import require
from tests.real.test_kubeapi_kubectl import Kubectl

CALICO_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[(INFO|WARNING|ERROR|FATAL)\]\[\d+\] \S+\.go \d+: .+"
)
STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    require("kubectl")
    with ServerThread(tmp_path_factory.mktemp("logs") / "lab") as server:
        yield server


@pytest.fixture(scope="module")
def kubectl(lab: ServerThread, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    home = tmp_path_factory.mktemp("home")
    return Kubectl(lab.kubeconfig, home)


@pytest.fixture(scope="module")
def calico(lab: ServerThread, kubectl: Kubectl) -> dict[str, str]:
    """Calico applied and running: node name -> its calico-node pod."""
    kubectl("apply", "-f", str(CALICO_MANIFEST_1_15))

    def running(c: object) -> bool:
        pods = lab.cluster.store.list("pods", "kube-system")
        nodes = [p for p in pods if p["metadata"]["name"].startswith("calico-node-")]
        return len(nodes) == 5 and all(p["status"].get("phase") == "Running" for p in nodes)

    lab.wait_for(running, timeout=30)
    return {
        p["spec"]["nodeName"]: p["metadata"]["name"]
        for p in lab.cluster.store.list("pods", "kube-system")
        if p["metadata"]["name"].startswith("calico-node-")
    }


def test_calico_node_logs_say_what_the_agent_did(
    lab: ServerThread, kubectl: Kubectl, calico: dict[str, str]
) -> None:
    node = lab.cluster.store.get("nodes", "", "k8s-node-l2-1")
    assert node is not None
    block = node["metadata"]["annotations"]["fabrictui.lab/calico-blocks"]
    tunnel = node["metadata"]["annotations"]["projectcalico.org/IPv4VXLANTunnelAddr"]
    out = kubectl("logs", "-n", "kube-system", calico["k8s-node-l2-1"], "-c", "calico-node")
    lines = out.splitlines()
    assert lines and all(CALICO_LINE.match(line) for line in lines), out
    assert any("Determined node name: k8s-node-l2-1" in line for line in lines)
    assert any(f"Claimed block {block}" in line for line in lines)
    assert any(f'IP="{tunnel}"' in line and "vxlan.calico" in line for line in lines)
    tail = kubectl(
        "logs", "-n", "kube-system", calico["k8s-node-l2-1"], "-c", "calico-node",
        "--tail=2", "--timestamps",
    ).splitlines()  # fmt: skip
    assert len(tail) == 2 and all(STAMPED.match(line) for line in tail)
    assert tail[1].split(" ", 1)[1] == lines[-1]
    recent = kubectl(
        "logs", "-n", "kube-system", calico["k8s-node-l2-1"], "-c", "calico-node",
        "--since=1h",
    )  # fmt: skip
    assert recent == out


def test_refusals_in_the_servers_own_words(
    lab: ServerThread, kubectl: Kubectl, calico: dict[str, str]
) -> None:
    pod = calico["k8s-node-l1-1"]
    previous = kubectl.run("logs", "-n", "kube-system", pod, "-c", "calico-node", "--previous",
                           check=False)  # fmt: skip
    assert previous.returncode == 1
    assert (
        "Error from server (BadRequest): previous terminated container "
        f'"calico-node" in pod "{pod}" not found'
    ) in previous.stderr
    wrong = kubectl.run("logs", "-n", "kube-system", pod, "-c", "nope", check=False)
    assert f"container nope is not valid for pod {pod}" in wrong.stderr
    # the API server's own check, where kubectl does not choose a container first
    raw = kubectl.run(
        "get", "--raw", f"/api/v1/namespaces/kube-system/pods/{pod}/log?container=",
        check=False,
    )  # fmt: skip
    assert raw.returncode == 0  # one container: the API server takes it
    missing = kubectl.run("logs", "-n", "kube-system", "no-such-pod", check=False)
    assert 'pods "no-such-pod" not found' in missing.stderr


def test_a_container_waiting_to_start(lab: ServerThread, kubectl: Kubectl) -> None:
    """A pod bound to a node whose network is not up yet waits in ContainerCreating: no
    log, in the kubelet's words."""
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "waiting"}}
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "early", "namespace": "waiting"},
        "spec": {"nodeName": "k8s-node-l1-1",
                 "containers": [{"name": "nginx", "image": "nginx:1.17"}]},
    }  # fmt: skip
    # a node whose calico-node has not run: the lab's agent is told to wait for it
    lab.cluster.calico.ready["k8s-node-l1-1"].clear()
    try:
        subprocess.run(
            ["kubectl", "--cache-dir", str(kubectl.cache / "kube-cache"), "apply", "-f", "-"],
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": [namespace, pod]}),
            env=kubectl.env, capture_output=True, text=True, check=True,
        )  # fmt: skip

        def waiting(c: object) -> bool:
            obj = lab.cluster.store.get("pods", "waiting", "early") or {}
            states = obj.get("status", {}).get("containerStatuses") or [{}]
            return "waiting" in (states[0].get("state") or {})

        lab.wait_for(waiting, timeout=10)
        out = kubectl.run("logs", "-n", "waiting", "early", check=False)
        assert out.returncode == 1
        assert (
            'Error from server (BadRequest): container "nginx" in pod "early" is waiting to '
            "start: ContainerCreating"
        ) in out.stderr
    finally:
        lab.call(lambda: lab.cluster.calico.ready["k8s-node-l1-1"].set())
        kubectl("delete", "namespace", "waiting", "--wait=false")


def test_follow_streams_new_lines_and_ends_with_the_pod(
    lab: ServerThread, kubectl: Kubectl, calico: dict[str, str]
) -> None:
    pod_name = calico["k8s-node-l2-2"]
    pod = lab.cluster.store.get("pods", "kube-system", pod_name)
    assert pod is not None
    uid = pod["metadata"]["uid"]
    proc = subprocess.Popen(
        ["kubectl", "--cache-dir", str(kubectl.cache / "kube-cache"), "logs", "-f",
         "-n", "kube-system", pod_name, "-c", "calico-node", "--tail=0"],
        env=kubectl.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(1.0)  # kubectl connected
        line = "2026-12-07 13:00:00.000 [WARNING][42] felix.go 1: a line written while followed"
        lab.call(lambda: lab.cluster.podlogs.write(uid, "calico-node", line))
        assert proc.stdout is not None
        assert proc.stdout.readline().rstrip("\n") == line
        # the pod goes: the stream ends (the DaemonSet makes a new one, another uid)
        kubectl("delete", "pod", "-n", "kube-system", pod_name, "--wait=false")
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_events_in_both_of_1_15s_shapes(kubectl: Kubectl, calico: dict[str, str]) -> None:
    pod = calico["k8s-node-l1-2"]
    core = json.loads(
        kubectl("get", "events", "-n", "kube-system", "-o", "json",
                "--field-selector", f"involvedObject.name={pod}")
    )["items"]  # fmt: skip
    reasons = [e["reason"] for e in core]
    assert {"Pulled", "Created", "Started"} <= set(reasons), reasons
    assert all(e["apiVersion"] == "v1" and e["involvedObject"]["name"] == pod for e in core)
    grouped = json.loads(
        kubectl("get", "--raw", "/apis/events.k8s.io/v1beta1/namespaces/kube-system/events")
    )
    mine = [e for e in grouped["items"] if e["regarding"]["name"] == pod]
    assert {e["metadata"]["name"] for e in mine} == {e["metadata"]["name"] for e in core}
    started = next(e for e in mine if e["reason"] == "Started")
    assert started["apiVersion"] == "events.k8s.io/v1beta1"
    assert started["note"] == "Started container calico-node"
    assert started["deprecatedSource"]["component"] == "kubelet"
    assert started["eventTime"] is None
    # v1 of the group is not served by 1.15
    v1 = kubectl.run("get", "--raw", "/apis/events.k8s.io/v1/events", check=False)
    assert v1.returncode != 0 and "NotFound" in v1.stderr


async def test_the_real_backends_readers_against_the_lab_api(
    lab: ServerThread, calico: dict[str, str]
) -> None:
    """backends/real/kube/drill.py through the official client: the object, the events from
    events.k8s.io/v1beta1 (1.15 serves it; v1 is a 404 it falls back from), a bounded read,
    and the API's refusal in its own words."""
    from fabrictui.backends.base import BackendError
    from fabrictui.backends.real.kube.client import KubeClient
    from fabrictui.backends.real.kube.drill import KubeDrillReal

    reader = KubeDrillReal()
    reader.kube = KubeClient(lab.kubeconfig)
    pod_name = calico["k8s-node-l1-2"]
    try:
        pod = await reader.read_object("pod", pod_name, "kube-system")
        assert pod["spec"]["nodeName"] == "k8s-node-l1-2"
        events = await reader.list_events("kube-system", ("Pod", pod_name))
        assert {"Pulled", "Created", "Started"} <= {e.reason for e in events}
        assert all(e.object_name == pod_name for e in events)
        lines = await reader.pod_log("kube-system", pod_name, "calico-node", tail=3)
        assert len(lines) == 3 and all(CALICO_LINE.match(line) for line in lines)
        with pytest.raises(BackendError, match="previous terminated container"):
            await reader.pod_log("kube-system", pod_name, "calico-node", previous=True)
        with pytest.raises(BackendError, match='pods "gone" not found'):
            await reader.read_object("pod", "gone", "kube-system")
        followed = reader.follow_pod_log("kube-system", pod_name, "calico-node", tail=1)
        first = await anext(followed)
        assert first == lines[-1]
        await followed.aclose()
    finally:
        await reader.kube.close()


BIRD_DOWN = """BIRD v0.3.3+birdv1.6.8 ready.
name     proto    table    state  since       info
static1  Static   master   up     13:20:01
kernel1  Kernel   master   up     13:20:01
device1  Device   master   up     13:20:01
direct1  Direct   master   up     13:20:01
Node_10_0_102_1 BGP      master   start  13:21:44    Active        Socket: Connection refused
Mesh_10_0_102_102 BGP      master   up     13:20:05    Established
"""
BIRD_UP = BIRD_DOWN.replace("start  13:21:44    Active        Socket: Connection refused",
                            "up     13:22:10    Established")  # fmt: skip


def probe(lab: ServerThread) -> None:
    """One round of the readiness prober, on the server's loop."""
    asyncio.run_coroutine_threadsafe(lab.cluster.readiness.probe_once(), lab.loop).result(10)


def test_calico_node_readiness_follows_bird(
    lab: ServerThread, kubectl: Kubectl, calico: dict[str, str]
) -> None:
    """The prober's part of a BGP-mode node whose leaf session is down: 0/1, the probe's
    words in an Unhealthy event (repeats counted), ready again once BIRD is. BIRD's answer is
    given here in BIRD 1.6's own table (the memory data plane runs no BIRD); a stopped BIRD
    reads as calico-node's socket error."""
    from fabrictui.lab.calico_dataplane import DataplaneError

    pod = calico["k8s-node-l2-1"]
    answers = {"text": BIRD_DOWN}

    async def query(netns: str) -> str:
        if answers["text"] is None:
            raise DataplaneError("birdc: Unable to connect to server control socket")
        return answers["text"]

    prober = lab.cluster.readiness
    prober.bgp_nodes = lambda: {"k8s-node-l2-1": "ns-of-l2-1"}
    prober.query = query
    try:
        probe(lab)
        probe(lab)
        row = kubectl("get", "pod", "-n", "kube-system", pod, "--no-headers").split()
        assert row[1] == "0/1", row
        events = json.loads(kubectl(
            "get", "events", "-n", "kube-system", "-o", "json",
            "--field-selector", f"involvedObject.name={pod},reason=Unhealthy",
        ))["items"]  # fmt: skip
        assert len(events) == 1 and events[0]["count"] == 2 and events[0]["type"] == "Warning"
        assert events[0]["message"] == (
            "Readiness probe failed: calico/node is not ready: BIRD is not ready: "
            "BGP not established with 10.0.102.1"
        )
        answers["text"] = None  # BIRD stopped
        probe(lab)
        stopped = kubectl(
            "get",
            "events",
            "-n",
            "kube-system",
            "--field-selector",
            f"involvedObject.name={pod},reason=Unhealthy",
        )
        assert "Error querying BIRD: unable to connect to BIRDv4 socket" in stopped
        answers["text"] = BIRD_UP
        probe(lab)
        row = kubectl("get", "pod", "-n", "kube-system", pod, "--no-headers").split()
        assert row[1] == "1/1", row
    finally:
        prober.bgp_nodes = lab.cluster._bird_nodes
