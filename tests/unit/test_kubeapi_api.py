"""The lab's Kubernetes API subset, driven by the official kubernetes Python client.

The server runs in a thread with the memory data plane (no root, no namespaces):
what it would build is recorded, and exec runs only harmless local programs.
"""

from __future__ import annotations

import ipaddress
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

from fabrictui.lab.calico_dataplane import allocate_block, calico_vtep_mac, veth_name
from fabrictui.lab.kubeapi.api.patch import json_patch, merge_patch, strategic_merge
from fabrictui.lab.kubeapi.api.tables import human_duration, pod_status_text
from fabrictui.lab.kubeapi.harness import ServerThread
from fabrictui.lab.kubeapi.selection import field_selector, label_selector
from fabrictui.lab.memory_dataplane import MemoryDataplane
from tests._paths import CALICO_MANIFEST

MANIFEST = CALICO_MANIFEST
WORKERS = {"k8s-node-l1-1", "k8s-node-l1-2", "k8s-node-l2-1", "k8s-node-l2-2"}
MASTER = "k8s-master-l1-1"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[ServerThread]:
    with ServerThread(tmp_path / "lab", kube_version="1.29.0") as server:
        yield server


@pytest.fixture
def api(lab: ServerThread) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(lab.kubeconfig))
    yield api_client
    api_client.close()


def ready(node: client.V1Node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def apply_manifest(api: client.ApiClient, path: Path) -> list[str]:
    """Server-side apply of every document, as fabrictui's real backend does it."""
    dyn = dynamic.DynamicClient(api)
    applied = []
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc:
            continue
        resource = dyn.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
        meta = doc["metadata"]
        resource.server_side_apply(
            body=doc,
            name=meta["name"],
            namespace=meta.get("namespace"),
            field_manager="fabrictui",
        )
        applied.append(f"{doc['kind']}/{meta['name']}")
    return applied


def wait_nodes_ready(v1: client.CoreV1Api, timeout: int = 20) -> list[client.V1Node]:
    state: dict[str, client.V1Node] = {}
    w = watch.Watch()
    for event in w.stream(v1.list_node, timeout_seconds=timeout):
        node = event["object"]
        state[node.metadata.name] = node
        if len(state) == 5 and all(ready(n) for n in state.values()):
            w.stop()
    assert len(state) == 5 and all(ready(n) for n in state.values()), "nodes did not turn Ready"
    return list(state.values())


def demo_deployment(replicas: int = 1) -> dict[str, Any]:
    labels = {"app": "nginx"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx-deployment", "namespace": "space1", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "nginx", "image": "nginx:1.17", "ports": [{"containerPort": 80}]}
                    ]
                },
            },
        },
    }


def running_space1(lab: ServerThread, count: int) -> bool:
    pods = lab.cluster.store.list("pods", "space1")
    return len(pods) == count and all(p["status"].get("phase") == "Running" for p in pods)


# -- access -------------------------------------------------------------------------


def test_kubeconfig_points_at_loopback_with_ca_and_token(lab: ServerThread) -> None:
    kubeconfig = yaml.safe_load(lab.kubeconfig.read_text())
    assert kubeconfig["current-context"] == "fabrictui-lab"
    cluster = kubeconfig["clusters"][0]
    assert cluster["name"] == "fabrictui-lab"
    assert cluster["cluster"]["server"] == lab.url
    assert lab.url.startswith("https://127.0.0.1:")
    assert cluster["cluster"]["certificate-authority-data"]
    assert kubeconfig["users"][0]["user"]["token"] == lab.token
    assert lab.kubeconfig.stat().st_mode & 0o077 == 0
    inventory = json.loads((lab.lab_dir / "inventory.json").read_text())
    endpoint = json.loads((lab.lab_dir / "kubeapi" / "endpoint.json").read_text())
    assert inventory["kube_api"] == {"host": "127.0.0.1", "port": endpoint["port"]}
    assert lab.url.endswith(f":{endpoint['port']}")


def test_token_required_except_version(lab: ServerThread) -> None:
    context = ssl.create_default_context(cafile=str(lab.lab_dir / "kubeapi" / "ca.crt"))
    with urllib.request.urlopen(f"{lab.url}/version", context=context, timeout=5) as answer:
        assert json.load(answer)["gitVersion"].startswith("v1.29.0")
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        request = urllib.request.Request(f"{lab.url}/api/v1/nodes", headers=headers)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, context=context, timeout=5)
        assert err.value.code == 401
        assert json.load(err.value)["reason"] == "Unauthorized"
    request = urllib.request.Request(
        f"{lab.url}/api/v1/nodes", headers={"Authorization": f"Bearer {lab.token}"}
    )
    with urllib.request.urlopen(request, context=context, timeout=5) as answer:
        assert len(json.load(answer)["items"]) == 5


# -- the cluster before and after Calico ---------------------------------------------------


def test_nodes_start_not_ready_like_a_fresh_kubeadm_cluster(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    nodes = {n.metadata.name: n for n in v1.list_node().items}
    assert set(nodes) == WORKERS | {MASTER}
    for name, node in nodes.items():
        assert node.status.node_info.kubelet_version == "v1.29.0"
        cond = next(c for c in node.status.conditions if c.type == "Ready")
        assert (cond.status, cond.reason) == ("False", "NetworkPluginNotReady")
        roles = {k for k in node.metadata.labels if k.startswith("node-role.kubernetes.io/")}
        assert roles == ({"node-role.kubernetes.io/master"} if name == MASTER else set())
    internal = {
        n: next(a.address for a in node.status.addresses if a.type == "InternalIP")
        for n, node in nodes.items()
    }
    assert internal["k8s-node-l2-1"] == "10.0.102.101"
    assert internal[MASTER] == "10.0.101.100"
    system = v1.list_namespaced_pod("kube-system").items
    proxies = [p for p in system if p.metadata.name.startswith("kube-proxy-")]
    assert sorted(p.spec.node_name for p in proxies) == sorted(WORKERS | {MASTER})
    assert all(p.status.phase == "Running" or p.status.phase == "Pending" for p in proxies)
    coredns = [p for p in system if p.metadata.name.startswith("coredns-")]
    assert len(coredns) == 2 and all(p.status.phase == "Pending" for p in coredns)
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        pod = v1.read_namespaced_pod(f"{component}-{MASTER}", "kube-system")
        assert pod.spec.node_name == MASTER


def test_calico_apply_builds_data_plane_and_readies_nodes(
    lab: ServerThread, api: client.ApiClient
) -> None:
    v1 = client.CoreV1Api(api)
    applied = apply_manifest(api, MANIFEST)
    assert "DaemonSet/calico-node" in applied and "ConfigMap/calico-config" in applied
    assert apply_manifest(api, MANIFEST) == applied  # idempotent
    nodes = wait_nodes_ready(v1)
    blocks = set()
    for node in nodes:
        name = node.metadata.name
        annotations = node.metadata.annotations
        block = ipaddress.ip_network(annotations["fabrictui.lab/calico-blocks"])
        assert block.prefixlen == 26 and block.subnet_of(ipaddress.ip_network("10.64.0.0/12"))
        assert annotations["projectcalico.org/IPv4VXLANTunnelAddr"] == str(block.network_address)
        assert annotations["projectcalico.org/VXLANTunnelMACAddr"] == calico_vtep_mac(name)
        assert not any(t.key == "node.kubernetes.io/not-ready" for t in node.spec.taints or [])
        blocks.add(block)
    assert len(blocks) == 5
    # the seed's VTEP MAC of k8s-node-l2-1
    by_name = {n.metadata.name: n for n in nodes}
    mac = by_name["k8s-node-l2-1"].metadata.annotations["projectcalico.org/VXLANTunnelMACAddr"]
    assert mac == "66:92:0a:fb:a9:be"
    plane = lab.dataplane
    assert isinstance(plane, MemoryDataplane)
    assert set(plane.nodes) == WORKERS | {MASTER}
    programmed: dict[str, set[str]] = {}
    for name, peers in plane.peers:
        programmed.setdefault(name, set()).update(peers)
    assert programmed == {n: (WORKERS | {MASTER}) - {n} for n in WORKERS | {MASTER}}
    # nodes started together are programmed together: one call per node, not one per join
    set_peers_calls = [c for c in plane.calls if c[0] == "set_peers"]
    assert len(set_peers_calls) <= 2 * len(WORKERS | {MASTER}), set_peers_calls
    custom = client.CustomObjectsApi(api)
    affinities = custom.list_cluster_custom_object("crd.projectcalico.org", "v1", "blockaffinities")
    assert {(a["spec"]["node"], a["spec"]["cidr"]) for a in affinities["items"]} == {
        (n.metadata.name, n.metadata.annotations["fabrictui.lab/calico-blocks"]) for n in nodes
    }
    pool = custom.get_cluster_custom_object(
        "crd.projectcalico.org", "v1", "ippools", "default-ipv4-ippool"
    )
    assert pool["spec"]["cidr"] == "10.64.0.0/12" and pool["spec"]["vxlanMode"] == "Always"
    lab.wait_for(
        lambda c: all(
            p["status"].get("phase") == "Running" for p in c.store.list("pods", "kube-system")
        )
    )
    system = client.CoreV1Api(api).list_namespaced_pod("kube-system").items
    calico_nodes = [p for p in system if p.metadata.name.startswith("calico-node-")]
    assert sorted(p.spec.node_name for p in calico_nodes) == sorted(WORKERS | {MASTER})
    assert any(p.metadata.name.startswith("calico-kube-controllers-") for p in system)


def test_pool_cidr_comes_from_the_applied_daemonset(
    lab: ServerThread, api: client.ApiClient
) -> None:
    text = MANIFEST.read_text().replace('value: "10.64.0.0/12"', 'value: "10.200.0.0/16"')
    custom = Path(lab.lab_dir / "calico.yaml")
    custom.write_text(text)
    apply_manifest(api, custom)
    for node in wait_nodes_ready(client.CoreV1Api(api)):
        block = ipaddress.ip_network(node.metadata.annotations["fabrictui.lab/calico-blocks"])
        assert block.subnet_of(ipaddress.ip_network("10.200.0.0/16"))


# -- workloads ---------------------------------------------------------------------------


def test_pods_wait_for_ready_nodes_then_spread_and_scale(
    lab: ServerThread, api: client.ApiClient
) -> None:
    v1, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    v1.create_namespace({"metadata": {"name": "space1"}})
    apps.create_namespaced_deployment("space1", demo_deployment())
    lab.wait_for(
        lambda c: (
            [bool(p["status"].get("conditions")) for p in c.store.list("pods", "space1")] == [True]
        )
    )
    (pod,) = v1.list_namespaced_pod("space1").items
    assert pod.status.phase == "Pending" and pod.spec.node_name is None
    scheduled = next(c for c in pod.status.conditions if c.type == "PodScheduled")
    assert scheduled.reason == "Unschedulable" and "not-ready" in scheduled.message

    rv = v1.list_namespaced_pod("space1").metadata.resource_version
    apply_manifest(api, MANIFEST)
    wait_nodes_ready(v1)
    scale = apps.patch_namespaced_deployment_scale(
        "nginx-deployment", "space1", {"spec": {"replicas": 4}}
    )
    assert scale.spec.replicas == 4
    lab.wait_for(lambda c: running_space1(lab, 4))
    pods = v1.list_namespaced_pod("space1").items
    nodes = {n.metadata.name: n for n in v1.list_node().items}
    assert len({p.spec.node_name for p in pods}) == 4
    assert {p.spec.node_name for p in pods} == WORKERS
    for p in pods:
        block = nodes[p.spec.node_name].metadata.annotations["fabrictui.lab/calico-blocks"]
        assert ipaddress.ip_address(p.status.pod_ip) in ipaddress.ip_network(block)
        assert p.metadata.name.startswith("nginx-deployment-")
        assert p.metadata.owner_references[0].kind == "ReplicaSet"
    assert apps.read_namespaced_deployment_scale("nginx-deployment", "space1").status.replicas == 4
    dep = apps.read_namespaced_deployment("nginx-deployment", "space1")
    assert dep.status.ready_replicas == 4 and dep.status.available_replicas == 4

    # each pod went Pending -> ContainerCreating -> Running (seen through a watch)
    seen: dict[str, list[str]] = {}
    for event in watch.Watch().stream(
        v1.list_namespaced_pod, "space1", resource_version=rv, timeout_seconds=1
    ):
        raw = api.sanitize_for_serialization(event["object"])
        seen.setdefault(raw["metadata"]["name"], []).append(pod_status_text(raw))
    for name, statuses in seen.items():
        compact = [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s]
        assert compact[-1] == "Running", (name, compact)
        assert compact.index("ContainerCreating") < compact.index("Running"), (name, compact)

    plane = lab.dataplane
    assert isinstance(plane, MemoryDataplane)
    pod_nets = {n.ip: n for n in plane.pods.values()}
    for p in pods:
        net = pod_nets[p.status.pod_ip]
        assert net.netns.startswith("ftl-test00-pod-")
        assert net.node.name == p.spec.node_name
        assert net.host_veth == veth_name("space1", p.metadata.name)

    apps.patch_namespaced_deployment("nginx-deployment", "space1", {"spec": {"replicas": 1}})
    lab.wait_for(lambda c: running_space1(lab, 1))
    survivors = {p.status.pod_ip for p in v1.list_namespaced_pod("space1").items}
    lab.wait_for(lambda c: {n.ip for n in plane.pods.values()} >= survivors)
    removed = {p.status.pod_ip for p in pods} - survivors
    assert len(removed) == 3
    lab.wait_for(lambda c: not removed & {n.ip for n in plane.pods.values()})


def test_deleting_a_namespace_deletes_its_workload(
    lab: ServerThread, api: client.ApiClient
) -> None:
    v1, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    v1.create_namespace({"metadata": {"name": "space1"}})
    apps.create_namespaced_deployment("space1", demo_deployment(2))
    lab.wait_for(lambda c: len(c.store.list("pods", "space1")) == 2)
    v1.delete_namespace("space1")
    lab.wait_for(
        lambda c: (
            not c.store.list("pods", "space1")
            and not c.store.list("deployments.apps", "space1")
            and not c.store.list("replicasets.apps", "space1")
        )
    )
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment("space1", demo_deployment())
    assert err.value.status == 404


def test_selectors(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    proxies = v1.list_pod_for_all_namespaces(label_selector="k8s-app=kube-proxy").items
    assert len(proxies) == 5
    on_master = v1.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={MASTER}").items
    assert {p.metadata.name for p in on_master} >= {f"etcd-{MASTER}", f"kube-apiserver-{MASTER}"}
    one = v1.list_namespaced_pod("kube-system", field_selector=f"metadata.name=etcd-{MASTER}")
    assert [p.metadata.name for p in one.items] == [f"etcd-{MASTER}"]
    none = v1.list_pod_for_all_namespaces(label_selector="k8s-app in (nothing,else)").items
    assert none == []


def test_status_subresource_and_conflicts(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    cm = v1.create_namespaced_config_map("default", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    stale = cm.metadata.resource_version
    v1.patch_namespaced_config_map("c", "default", {"data": {"a": "2"}})
    cm.data = {"a": "3"}
    cm.metadata.resource_version = stale
    with pytest.raises(ApiException) as err:
        v1.replace_namespaced_config_map("c", "default", cm)
    assert err.value.status == 409
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    assert err.value.status == 409 and "already exists" in err.value.body
    with pytest.raises(ApiException) as err:
        v1.read_namespaced_pod("nope", "default")
    assert err.value.status == 404 and json.loads(err.value.body)["reason"] == "NotFound"
    # a write to the node itself keeps its status; /status changes it
    node = v1.read_node(MASTER)
    v1.patch_node(MASTER, {"metadata": {"labels": {"x": "y"}}, "status": {"phase": "Gone"}})
    assert v1.read_node(MASTER).status.phase is None
    v1.patch_node_status(MASTER, {"status": {"phase": "Running"}})
    assert v1.read_node(MASTER).status.phase == "Running"
    assert v1.read_node(MASTER).metadata.labels["x"] == "y"
    assert node.metadata.uid == v1.read_node(MASTER).metadata.uid


# -- watch ---------------------------------------------------------------------------------


def test_watch_replays_changes_in_order(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    rv = v1.list_namespaced_config_map("default").metadata.resource_version
    v1.create_namespaced_config_map("default", {"metadata": {"name": "one"}})
    v1.create_namespaced_config_map("default", {"metadata": {"name": "two"}})
    v1.patch_namespaced_config_map("one", "default", {"data": {"k": "v"}})
    v1.delete_namespaced_config_map("two", "default")
    v1.create_namespaced_config_map("kube-system", {"metadata": {"name": "elsewhere"}})
    events = [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(
            v1.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=1
        )
    ]
    assert events == [("ADDED", "one"), ("ADDED", "two"), ("MODIFIED", "one"), ("DELETED", "two")]


def test_watch_ends_with_a_bookmark_when_allowed(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    rv = v1.list_namespaced_config_map("default").metadata.resource_version
    v1.create_namespaced_config_map("default", {"metadata": {"name": "mine"}})
    v1.create_namespaced_config_map("kube-system", {"metadata": {"name": "elsewhere"}})
    latest = v1.list_namespaced_config_map("kube-system").metadata.resource_version
    resp = v1.list_namespaced_config_map(
        "default", watch=True, resource_version=rv, allow_watch_bookmarks=True,
        timeout_seconds=1, _preload_content=False,
    )  # fmt: skip
    events = [json.loads(line) for line in resp.data.decode().splitlines() if line.strip()]
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[0]["object"]["metadata"]["name"] == "mine"
    # the bookmark is newer than anything this watch saw: resume from there
    assert int(events[1]["object"]["metadata"]["resourceVersion"]) >= int(latest)
    plain = v1.list_namespaced_config_map(
        "default", watch=True, resource_version=rv, timeout_seconds=1, _preload_content=False
    )
    assert [json.loads(x)["type"] for x in plain.data.decode().splitlines() if x] == ["ADDED"]


def test_watch_from_compacted_resource_version_gets_410(tmp_path: Path) -> None:
    with ServerThread(tmp_path / "lab", history=20, kube_version="1.29.0") as lab:
        api = config.new_client_from_config(config_file=str(lab.kubeconfig))
        # let the start-up settle (kube-proxy pods turn Running) so that the only
        # changes from here on are the test's own
        lab.wait_for(
            lambda c: (
                sum(p["status"].get("phase") == "Running" for p in c.store.view("pods")) == 4 + 5
            )
        )
        try:
            v1 = client.CoreV1Api(api)
            old = v1.list_namespaced_config_map("default").metadata.resource_version
            for i in range(25):
                v1.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
            with pytest.raises(ApiException) as err:
                for _ in watch.Watch().stream(
                    v1.list_namespaced_config_map,
                    "default",
                    resource_version=old,
                    timeout_seconds=2,
                ):
                    pass
            assert err.value.status == 410
            # re-list and watch from the list's resourceVersion works
            fresh = v1.list_namespaced_config_map("default")
            v1.create_namespaced_config_map("default", {"metadata": {"name": "after"}})
            names = [
                e["object"].metadata.name
                for e in watch.Watch().stream(
                    v1.list_namespaced_config_map,
                    "default",
                    resource_version=fresh.metadata.resource_version,
                    timeout_seconds=1,
                )
            ]
            assert names == ["after"]
        finally:
            api.close()


# -- exec ----------------------------------------------------------------------------------


def _running_pod(lab: ServerThread, api: client.ApiClient) -> str:
    v1, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    apply_manifest(api, MANIFEST)
    v1.create_namespace({"metadata": {"name": "space1"}})
    apps.create_namespaced_deployment("space1", demo_deployment(2))
    lab.wait_for(lambda c: running_space1(lab, 2))
    return v1.list_namespaced_pod("space1").items[0].metadata.name


def test_exec_streams_output_and_exit_codes(lab: ServerThread, api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    pod = _running_pod(lab, api)
    out = stream(
        v1.connect_get_namespaced_pod_exec,
        pod,
        "space1",
        command=["echo", "hello", "pod"],
        stdout=True,
        stderr=True,
        stdin=False,
        tty=False,
    )
    assert out == "hello pod\n"
    # ls is in nginx:1.17 but not run by the memory data plane (127); nc is not in the
    # image: refused as the seed's Docker refused it (126, lab/kubeapi/images.py)
    for argv, code in ((["true"], 0), (["false"], 1), (["ls"], 127), (["nc", "-l"], 126)):
        resp = stream(
            v1.connect_get_namespaced_pod_exec,
            pod,
            "space1",
            command=argv,
            stdout=True,
            stderr=True,
            stdin=False,
            tty=False,
            _preload_content=False,
        )
        resp.run_forever(timeout=10)
        assert resp.returncode == code, argv
        if code == 127:
            assert "not run outside a lab namespace" in resp.read_stderr()
        if code == 126:
            assert 'exec: \\"nc\\": executable file not found in $PATH' in resp.read_stdout()
        resp.close()
    # the memory data plane answers ping from the recorded pods, in an image with ping
    other = next(p for p in v1.list_namespaced_pod("space1").items if p.metadata.name != pod)
    debug = demo_deployment(1)
    debug["metadata"]["name"] = "netshoot"
    debug["spec"]["template"]["spec"]["containers"][0]["image"] = "nicolaka/netshoot:v0.13"
    client.AppsV1Api(api).create_namespaced_deployment("space1", debug)
    lab.wait_for(lambda c: running_space1(lab, 3))
    pinger = next(
        p.metadata.name
        for p in v1.list_namespaced_pod("space1").items
        if p.spec.containers[0].image.startswith("nicolaka/")
    )
    out = stream(
        v1.connect_get_namespaced_pod_exec,
        pinger,
        "space1",
        command=["ping", "-c", "2", other.status.pod_ip],
        stdout=True,
        stderr=True,
        stdin=False,
        tty=False,
    )
    assert "2 packets transmitted, 2 received" in out


def test_exec_stdin_and_kill_on_close(lab: ServerThread, api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    pod = _running_pod(lab, api)
    resp = stream(
        v1.connect_get_namespaced_pod_exec,
        pod,
        "space1",
        command=["cat"],
        stdout=True,
        stderr=True,
        stdin=True,
        tty=False,
        _preload_content=False,
    )
    resp.write_stdin("through stdin\n")
    deadline = time.monotonic() + 10
    got = ""
    while "through stdin" not in got and time.monotonic() < deadline:
        resp.update(timeout=1)
        got += resp.read_stdout() if resp.peek_stdout() else ""
    assert "through stdin" in got
    procs = lab.call(lambda: list(lab.cluster.exec_processes))
    assert len(procs) == 1 and procs[0].returncode is None
    resp.close()  # the client goes away: the command must not outlive it
    deadline = time.monotonic() + 10
    while lab.call(lambda: bool(lab.cluster.exec_processes)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lab.call(lambda: procs[0].returncode) is not None


def test_exec_refused_for_pending_pod(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    pending = next(
        p for p in v1.list_namespaced_pod("kube-system").items if p.status.phase == "Pending"
    )
    with pytest.raises(ApiException) as err:
        stream(
            v1.connect_get_namespaced_pod_exec,
            pending.metadata.name,
            "kube-system",
            command=["true"],
            stdout=True,
            stderr=True,
            stdin=False,
            tty=False,
        )
    # the websocket client reports the refused handshake with the HTTP status in its text
    assert "400" in str(err.value) and "not running" in str(err.value)


# -- pure pieces ---------------------------------------------------------------------------


def test_strategic_merge_by_container_name_and_directives() -> None:
    live = {
        "spec": {
            "replicas": 1,
            "containers": [
                {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
                {"name": "b", "image": "b:1"},
            ],
            "tolerations": [{"key": "t"}],
        }
    }
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
            "containers": [
                {"name": "a", "env": [{"name": "Y", "value": "2"}]},
                {"name": "b", "$patch": "delete"},
            ],
            "tolerations": [{"key": "u"}],
            "replicas": None,
        }
    }
    merged = strategic_merge(live, patch)
    assert merged["spec"]["containers"] == [
        {
            "name": "a",
            "image": "a:1",
            "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}],
        }
    ]
    assert merged["spec"]["tolerations"] == [{"key": "u"}]
    assert "replicas" not in merged["spec"]
    assert merge_patch(live, {"spec": {"containers": []}})["spec"]["containers"] == []
    assert json_patch({"a": [1, 2]}, [{"op": "add", "path": "/a/-", "value": 3}]) == {
        "a": [1, 2, 3]
    }


def test_selectors_parse_common_forms() -> None:
    pod = {"metadata": {"name": "p", "labels": {"app": "nginx", "tier": "web"}},
           "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}  # fmt: skip
    assert label_selector("app=nginx,tier in (web, db)")(pod)
    assert label_selector("app,!missing")(pod)
    assert not label_selector("app!=nginx")(pod)
    assert not label_selector("tier notin (web)")(pod)
    assert field_selector("spec.nodeName=n1,status.phase!=Pending")(pod)
    assert not field_selector("metadata.name==q")(pod)


def test_blocks_are_deterministic_and_distinct() -> None:
    first = allocate_block("10.64.0.0/12", "k8s-node-l1-1", [])
    assert first == allocate_block("10.64.0.0/12", "k8s-node-l1-1", [])
    second = allocate_block("10.64.0.0/12", "k8s-node-l1-1", [first])
    assert second != first
    assert ipaddress.ip_network(second).prefixlen == 26
    assert allocate_block("10.0.0.0/26", "x", []) == "10.0.0.0/26"


def test_human_duration_matches_kubectl() -> None:
    assert [human_duration(s) for s in (5, 119, 125, 600, 3 * 3600 + 60, 20 * 3600)] == [
        "5s", "119s", "2m5s", "10m", "3h1m", "20h",
    ]  # fmt: skip


def test_exec_with_a_terminal(lab: ServerThread, api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    pod = _running_pod(lab, api)
    resp = stream(
        v1.connect_get_namespaced_pod_exec, pod, "space1", command=["cat"],
        stdout=True, stderr=True, stdin=True, tty=True, _preload_content=False,
    )  # fmt: skip
    resp.write_channel(4, json.dumps({"Width": 120, "Height": 40}))
    resp.write_stdin("typed line\n")
    got = ""
    deadline = time.monotonic() + 10
    while got.count("typed line") < 2 and time.monotonic() < deadline:
        resp.update(timeout=1)
        got += resp.read_stdout() if resp.peek_stdout() else ""
    # the terminal echoes the input, then cat prints it: both with terminal line ends
    assert got.count("typed line\r\n") == 2, got
    resp.write_stdin("\x04")  # end of input on a terminal
    resp.run_forever(timeout=10)
    assert resp.returncode == 0
    resp.close()
