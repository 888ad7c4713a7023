"""The Kubernetes backend: kubectl's columns from API objects, the Calico
manifest, watches (resume, 410 Gone, loss) against a small fake API server on
127.0.0.1, and credentials that never show up in messages or logs."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fabrictui.backends.base import BackendError, DemoWorkload, NotFound, Unreachable
from fabrictui.backends.real.kube.client import KubeClient
from fabrictui.backends.real.kube.config import Secrets, resolve_kubeconfig
from fabrictui.backends.real.kube.manifests import load_calico_manifest, workload_objects
from fabrictui.parsers.kube import node_from_api, pod_from_api, pod_status_text
from tests._fakeapi import FakeApi
from tests._sshd import free_port

TOKEN = "fabrictui-test-token-4f1c9a7e2b3d8c6a"
PASSWORD = "hunter2-not-a-real-password"


# --- conversions -------------------------------------------------------------------


def pod(status: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "p",
            "namespace": "space1",
            "creationTimestamp": "2019-08-14T10:00:00Z",
            **meta,
        },
        "spec": {"containers": [{"name": "c"}], "nodeName": "k8s-node-l1-1"},
        "status": status,
    }


def running(ready: bool = True, restarts: int = 0) -> dict[str, Any]:
    return {"ready": ready, "restartCount": restarts, "state": {"running": {}}}


def waiting(reason: str, restarts: int = 0) -> dict[str, Any]:
    return {"ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}}}


def test_pod_status_column_like_kubectl() -> None:
    assert pod_status_text(pod({"phase": "Running", "containerStatuses": [running()]})) == (
        "Running",
        1,
        0,
    )
    assert pod_status_text(
        pod({"phase": "Pending", "containerStatuses": [waiting("ContainerCreating")]})
    )[0] == ("ContainerCreating")
    assert pod_status_text(
        pod({"phase": "Running", "containerStatuses": [waiting("CrashLoopBackOff", 7)]})
    ) == ("CrashLoopBackOff", 0, 7)
    assert pod_status_text(pod({"phase": "Pending"})) == ("Pending", 0, 0)
    terminating = pod(
        {"phase": "Running", "containerStatuses": [running()]},
        deletionTimestamp="2019-08-14T11:00:00Z",
    )
    assert pod_status_text(terminating)[0] == "Terminating"
    init = pod(
        {
            "phase": "Pending",
            "initContainerStatuses": [
                {"restartCount": 2, "state": {"running": {}}},
            ],
            "containerStatuses": [waiting("PodInitializing")],
        }
    )
    init["spec"]["initContainers"] = [{"name": "install-cni"}]
    assert pod_status_text(init) == ("Init:0/1", 0, 2)
    done = pod(
        {
            "phase": "Succeeded",
            "containerStatuses": [
                {"restartCount": 0, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}
            ],
        }
    )
    assert pod_status_text(done)[0] == "Completed"
    two = pod({"phase": "Running", "containerStatuses": [running(True, 1), running(False, 2)]})
    two["spec"]["containers"].append({"name": "d"})
    converted = pod_from_api(two)
    assert (converted.ready_text, converted.restarts) == ("1/2", 3)


def test_pod_owner_and_fields() -> None:
    p = pod(
        {"phase": "Running", "podIP": "10.65.76.193", "containerStatuses": [running()]},
        name="nginx-deployment-55457b9d87-z9pl9",
        labels={"app": "nginx", "pod-template-hash": "55457b9d87"},
        ownerReferences=[
            {"kind": "ReplicaSet", "name": "nginx-deployment-55457b9d87", "controller": True}
        ],
        uid="u1",
    )
    model = pod_from_api(p)
    assert model.owner == "nginx-deployment"
    assert model.key == "space1/nginx-deployment-55457b9d87-z9pl9"
    assert (model.ip, model.node, model.running) == ("10.65.76.193", "k8s-node-l1-1", True)
    assert model.labels == (("app", "nginx"), ("pod-template-hash", "55457b9d87"))
    assert model.created == 1565776800.0
    ds = pod({}, ownerReferences=[{"kind": "DaemonSet", "name": "calico-node"}])
    assert pod_from_api(ds).owner == "calico-node"
    assert pod_from_api({}).name == ""  # nothing raises on a bare object


def node(ready: str = "True", **annotations: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "k8s-master-l1-1",
            "uid": "n1",
            "creationTimestamp": "2019-08-14T10:00:00Z",
            "labels": {"node-role.kubernetes.io/master": "", "kubernetes.io/hostname": "x"},
            "annotations": annotations,
        },
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": ready},
            ],
            "addresses": [
                {"type": "Hostname", "address": "k8s-master-l1-1"},
                {"type": "InternalIP", "address": "10.0.101.100"},
            ],
            "nodeInfo": {"kubeletVersion": "v1.15.2"},
        },
    }


def test_node_fields_and_blocks() -> None:
    n = node_from_api(node("False"))
    assert (n.ready, n.status, n.roles, n.version) == (False, "NotReady", ("master",), "v1.15.2")
    assert (n.internal_ip, n.calico_blocks, n.vtep_mac) == ("10.0.101.100", (), None)
    ready = node_from_api(
        node(
            "True",
            **{
                "projectcalico.org/IPv4VXLANTunnelAddr": "10.68.86.128",
                "projectcalico.org/VXLANTunnelMACAddr": "66:aa:bb:cc:dd:ee",
            },
        )
    )
    assert ready.ready and ready.calico_blocks == ("10.68.86.128/26",)
    assert ready.vtep_mac == "66:aa:bb:cc:dd:ee"
    lab = node_from_api(node(**{"fabrictui.lab/calico-blocks": "10.65.76.192/26"}))
    assert lab.calico_blocks == ("10.65.76.192/26",)
    assert node_from_api(node(), ["10.1.0.0/26"]).calico_blocks == ("10.1.0.0/26",)


MANIFEST = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: calico-config, namespace: kube-system}
data: {calico_backend: vxlan}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: kube-system}
spec:
  template:
    spec:
      containers:
      - name: calico-node
        env:
        - {name: CALICO_IPV4POOL_CIDR, value: "192.168.0.0/16"}
        - {name: CALICO_IPV4POOL_VXLAN, value: Always}
"""


def test_calico_manifest_pool_substitution(tmp_path: Path) -> None:
    path = tmp_path / "calico.yaml"
    path.write_text(MANIFEST)
    docs = load_calico_manifest("10.64.0.0/12", path)
    env = docs[1]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0] == {"name": "CALICO_IPV4POOL_CIDR", "value": "10.64.0.0/12"}
    with pytest.raises(BackendError, match="bad pod pool"):
        load_calico_manifest("10.64.0.1/12", path)
    path.write_text(MANIFEST.split("---")[0])
    with pytest.raises(BackendError, match="no CALICO_IPV4POOL_CIDR"):
        load_calico_manifest("10.64.0.0/12", path)


def test_workload_objects_carry_the_seed_names() -> None:
    ns, dep, svc = workload_objects(DemoWorkload())
    assert ns["metadata"]["name"] == "space1"
    assert dep["metadata"]["name"] == "nginx-deployment"
    assert dep["spec"]["template"]["metadata"]["labels"] == {"app": "nginx"}
    assert svc["metadata"]["name"] == "nginx-service"


# --- a fake API server ---------------------------------------------------------------


def kubeconfig(path: Path, port: int, token: str = TOKEN) -> Path:
    path.write_text(
        f"""\
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {{server: "http://127.0.0.1:{port}"}}
users:
- name: admin
  user: {{token: "{token}", password: "{PASSWORD}"}}
contexts:
- name: fabrictui-lab
  context: {{cluster: lab, user: admin}}
current-context: fabrictui-lab
"""
    )
    return path


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    yield fake
    fake.stop()


def node_obj(name: str, rv: str, ready: str = "False") -> dict[str, Any]:
    n = node(ready)
    n["metadata"]["name"] = name
    n["metadata"]["resourceVersion"] = rv
    return n


def body(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def event(kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode() + b"\n"


async def test_watch_resumes_and_relists_after_410(api: FakeApi, tmp_path: Path) -> None:
    lists = iter(
        [
            {"metadata": {"resourceVersion": "100"}, "items": [node_obj("a", "90")]},
            {
                "metadata": {"resourceVersion": "200"},
                "items": [node_obj("a", "90"), node_obj("b", "101")],
            },
        ]
    )

    def handle(path: str, query: dict[str, list[str]], headers: Any) -> tuple[int, bytes, bool]:
        if path == "/apis/crd.projectcalico.org/v1/blockaffinities":
            return 404, body({"kind": "Status", "code": 404, "message": "not found"}), False
        assert path == "/api/v1/nodes"
        if "watch" not in query:
            return 200, body(next(lists)), False
        rv = query["resourceVersion"][0]
        if rv == "100":  # one change, then the server ends the watch
            return 200, event("ADDED", node_obj("b", "101")), False
        if rv == "101":  # resumed from the last seen version: too old now
            return 200, event("ERROR", {"kind": "Status", "code": 410, "reason": "Gone"}), False
        assert rv == "200"
        return 200, event("MODIFIED", node_obj("a", "201", ready="True")), True

    api.handler = handle
    client = KubeClient(kubeconfig(tmp_path / "kc", api.port))
    seen: list[tuple[str, tuple[str, ...]]] = []
    stream = client.watch_nodes()
    try:
        async for ev in stream:
            if ev.type == "RELIST":
                seen.append(("RELIST", tuple(n.name for n in ev.items)))
            else:
                assert ev.obj is not None
                seen.append((ev.type, (ev.obj.name, ev.obj.status)))
            if len(seen) == 4:
                break
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
        await client.close()
    assert seen == [
        ("RELIST", ("a",)),
        ("ADDED", ("b", "NotReady")),
        ("RELIST", ("a", "b")),
        ("MODIFIED", ("a", "Ready")),
    ]
    watches = [q["resourceVersion"][0] for (_, p, q, _) in api.requests if "watch" in q]
    assert watches == ["100", "101", "200"]
    assert all(auth == f"Bearer {TOKEN}" for (_, _, _, auth) in api.requests)


async def test_watch_queue_is_bounded_and_holds_the_server_back(
    api: FakeApi, tmp_path: Path
) -> None:
    """A consumer that stops reading holds the reading thread at the queue's size, and
    TCP holds the server back: it cannot write the whole stream. Nothing is lost."""
    total, pad = 2000, "x" * 32_000  # big events: the socket buffers hold only a few dozen
    written: list[int] = []

    def stream() -> Iterator[bytes]:
        for i in range(total):
            obj = node_obj(f"n{i}", str(101 + i))
            obj["metadata"]["annotations"] = {"pad": pad}
            yield event("ADDED", obj)
            written.append(i)

    def handle(path: str, query: dict[str, list[str]], headers: Any) -> tuple[int, Any, bool]:
        if path == "/apis/crd.projectcalico.org/v1/blockaffinities":
            return 404, body({"kind": "Status", "code": 404, "message": "not found"}), False
        if "watch" not in query:
            return 200, body({"metadata": {"resourceVersion": "100"}, "items": []}), False
        if query["resourceVersion"][0] == "100":
            return 200, stream(), True
        return 200, b"", True  # resumed after the whole stream: nothing more

    api.handler = handle
    client = KubeClient(kubeconfig(tmp_path / "kc", api.port), watch_queue=8)
    names: list[str] = []
    watch = client.watch_nodes()
    try:
        first = await anext(watch)
        assert first.type == "RELIST"
        ev = await anext(watch)
        assert ev.obj is not None
        names.append(ev.obj.name)
        await asyncio.sleep(2.0)  # a slow consumer: the thread fills the queue and waits
        assert 8 <= len(written) < total / 4, len(written)
        held = len(written)
        await asyncio.sleep(0.5)
        assert len(written) == held  # still held back, not trickling on
        while len(names) < total:
            ev = await asyncio.wait_for(anext(watch), 10)
            assert ev.obj is not None
            names.append(ev.obj.name)
    finally:
        await watch.aclose()  # type: ignore[attr-defined]
        await client.close()
    assert names == [f"n{i}" for i in range(total)]  # every event, in order


async def test_deployment_replicas_reads_spec_or_none(api: FakeApi, tmp_path: Path) -> None:
    def handle(path: str, query: dict[str, list[str]], headers: Any) -> tuple[int, bytes, bool]:
        if path == "/apis/apps/v1/namespaces/space1/deployments/nginx-deployment":
            dep = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "nginx-deployment", "namespace": "space1"},
                "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "nginx"}}},
            }
            return 200, body(dep), False
        status = {"kind": "Status", "code": 404, "reason": "NotFound", "message": "not found"}
        return 404, body(status), False

    api.handler = handle
    client = KubeClient(kubeconfig(tmp_path / "kc", api.port))
    try:
        assert await client.deployment_replicas("space1", "nginx-deployment") == 0
        assert await client.deployment_replicas("space1", "missing") is None
    finally:
        await client.close()


async def test_watch_loss_raises_backend_error(api: FakeApi, tmp_path: Path) -> None:
    def handle(path: str, query: dict[str, list[str]], headers: Any) -> tuple[int, bytes, bool]:
        if "watch" not in query:
            return 200, body({"metadata": {"resourceVersion": "5"}, "items": []}), False
        return 500, body({"kind": "Status", "code": 500, "message": "etcd is down"}), False

    api.handler = handle
    client = KubeClient(kubeconfig(tmp_path / "kc", api.port))
    stream = client.watch_pods()
    try:
        first = await stream.__anext__()
        assert first.type == "RELIST" and first.items == ()
        with pytest.raises(Unreachable, match="etcd is down"):
            await stream.__anext__()
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
        await client.close()


async def test_secrets_never_in_messages_or_logs(
    api: FakeApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    def handle(path: str, query: dict[str, list[str]], headers: Any) -> tuple[int, bytes, bool]:
        # A hostile or buggy server that echoes the credentials it received.
        echoed = f"bad credentials {headers.get('Authorization')} {PASSWORD}"
        if path.startswith("/api/v1/namespaces/space1/pods"):
            return 500, body({"kind": "Status", "code": 500, "message": echoed}), False
        if path.startswith("/apis/apps/v1/namespaces/space1/deployments"):
            return 404, body({"kind": "Status", "code": 404, "message": echoed}), False
        return 401, body({"kind": "Status", "code": 401, "message": echoed}), False

    api.handler = handle
    client = KubeClient(kubeconfig(tmp_path / "kc", api.port))
    messages: list[str] = []
    for call, kind in [
        (client.list_nodes(), BackendError),
        (client.list_pods("space1"), Unreachable),
        (client.list_pods(), BackendError),
    ]:
        with pytest.raises(kind) as err:
            await call
        messages.append(str(err.value))
    with pytest.raises(NotFound) as err:
        await client.scale_deployment("space1", "nginx-deployment", 4)
    messages.append(str(err.value))
    stream = client.watch_nodes()
    with pytest.raises(BackendError) as err:
        await stream.__anext__()
    messages.append(str(err.value))
    await client.close()

    # The API refused on purpose: nothing reachable at a closed port either.
    closed = KubeClient(kubeconfig(tmp_path / "kc2", free_port()))
    with pytest.raises(Unreachable) as err:
        await closed.list_nodes()
    messages.append(str(err.value))
    bad = tmp_path / "kc3"
    bad.write_text(f"users: [{{name: x, user: {{token: {TOKEN}}}}}]\ncurrent-context: nope\n")
    with pytest.raises(BackendError) as err:
        await KubeClient(bad).list_nodes()
    messages.append(str(err.value))

    assert "credentials" in messages[0] and "***" in messages[0]
    for message in messages:
        assert TOKEN not in message and PASSWORD not in message, message
        assert "\n" not in message
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + str(record.exc_text or "")
        assert TOKEN not in text and PASSWORD not in text, record.name


def test_resolve_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab = tmp_path / "lab-kubeconfig"
    env = tmp_path / "env-kubeconfig"
    env.write_text("x")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{env}")
    assert resolve_kubeconfig("/explicit", lab) == Path("/explicit")
    assert resolve_kubeconfig(None, lab) == env
    monkeypatch.delenv("KUBECONFIG")
    assert resolve_kubeconfig(None, lab) == lab


def test_secrets_scrub() -> None:
    secrets = Secrets(["abcdefgh", "short"])
    assert secrets.scrub("x abcdefgh y short") == "x *** y short"


async def test_ping_refuses_a_target_that_is_not_an_address(tmp_path: Path) -> None:
    from fabrictui.model import KubePod

    client = KubeClient(kubeconfig(tmp_path / "kc", free_port()))
    pod = KubePod("space1", "nginx;reboot", 1, 1, "Running", 0, 0.0, "10.0.0.1", "n")
    for hostile in ("$(id)", "10.0.0.1; reboot", "-f", "10.0.0.1\n"):
        with pytest.raises(BackendError, match="not an IP address"):
            await client.ping(pod, hostile)
    # A hostile pod name is a URL path element for the API, never shell: with no API
    # answering, the ping is a result carrying the error.
    result = await client.ping(pod, "10.0.0.2", count=1, timeout=2)
    assert result.error and result.transmitted == 0 and TOKEN not in result.error
    await client.close()


async def test_client_key_material_never_in_messages(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import base64

    caplog.set_level(logging.DEBUG)
    key_pem = (
        "-----BEGIN PRIVATE KEY-----\n"
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDfakefakefake\n"
        "-----END PRIVATE KEY-----\n"
    )
    key_b64 = base64.b64encode(key_pem.encode()).decode()
    path = tmp_path / "kc"
    path.write_text(
        f"""\
apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:{free_port()}"}}}}]
users: [{{name: u, user: {{client-certificate-data: "{key_b64}", client-key-data: "{key_b64}"}}}}]
contexts: [{{name: k, context: {{cluster: c, user: u}}}}]
current-context: k
"""
    )
    client = KubeClient(path)
    with pytest.raises(BackendError) as err:
        await client.list_nodes()
    await client.close()
    texts = [str(err.value)] + [
        r.getMessage() + repr(r.args) + str(r.exc_text or "") for r in caplog.records
    ]
    for text in texts:
        assert key_b64 not in text and "MIIEvQIBADAN" not in text, text
