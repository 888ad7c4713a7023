"""The lab API's endpoints controller, read back through fabrictui's own Service reader:
Endpoints follow the pods a Service selects (ready or not), as kube-controller-manager
keeps them (core/v1 Endpoints, which 1.15 and 1.29 both serve; the lab claims 1.29 here
because the Calico manifest goes in by server-side apply)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from fabrictui.backends.base import DemoWorkload
from fabrictui.backends.real.kube.client import KubeClient
from fabrictui.backends.real.kube.manifests import workload_objects
from fabrictui.backends.real.kube.services import list_services
from fabrictui.lab.kubeapi.harness import ServerThread
from fabrictui.parsers.services import services_from_api
from tests.unit.test_kubeapi_api import MANIFEST, apply_manifest, running_space1, wait_nodes_ready


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[ServerThread]:
    with ServerThread(tmp_path / "lab", kube_version="1.29.0") as server:
        yield server


def test_endpoints_follow_the_selected_pods(lab: ServerThread) -> None:
    import asyncio

    api = config.new_client_from_config(config_file=str(lab.kubeconfig))
    v1, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    apply_manifest(api, MANIFEST)
    wait_nodes_ready(v1)
    ns, dep, svc = workload_objects(DemoWorkload())
    v1.create_namespace(ns)
    apps.create_namespaced_deployment("space1", dep)
    v1.create_namespaced_service("space1", svc)
    apps.patch_namespaced_deployment_scale("nginx-deployment", "space1", {"spec": {"replicas": 3}})
    lab.wait_for(lambda c: running_space1(lab, 3))
    lab.wait_for(
        lambda c: (
            len(
                (c.store.get("endpoints", "space1", "nginx-service") or {})
                .get("subsets", [{}])[0]
                .get("addresses", [])
            )
            == 3
        )
    )
    ep = v1.read_namespaced_endpoints("nginx-service", "space1")
    pods = {p.metadata.name: p for p in v1.list_namespaced_pod("space1").items}
    (subset,) = ep.subsets
    assert [(p.port, p.protocol) for p in subset.ports] == [(80, "TCP")]
    assert {a.target_ref.name for a in subset.addresses} == set(pods)
    assert {a.ip for a in subset.addresses} == {p.status.pod_ip for p in pods.values()}

    kube = KubeClient(kubeconfig=lab.kubeconfig)
    services = asyncio.run(list_services(kube, "space1"))
    (service,) = services
    assert service.cluster_ip and service.ports[0].port == 80
    assert service.selector == (("app", "nginx"),)
    assert service.endpoints_text == "3/3"
    assert {e.pod for e in service.endpoints} == {f"space1/{n}" for n in pods}

    # 1.29 also keeps an EndpointSlice (discovery.k8s.io/v1), read the same way
    custom = client.CustomObjectsApi(api)
    group = ("discovery.k8s.io", "v1", "space1", "endpointslices")
    slices = custom.list_namespaced_custom_object(*group)
    (piece,) = slices["items"]
    assert piece["metadata"]["labels"]["kubernetes.io/service-name"] == "nginx-service"
    raw = api.sanitize_for_serialization(v1.read_namespaced_service("nginx-service", "space1"))
    (by_slice,) = services_from_api({"items": [raw]}, slices=slices)
    assert by_slice.endpoints_text == "3/3" and by_slice.endpoint_ports == (80,)
    assert {e.pod for e in by_slice.endpoints} == {e.pod for e in service.endpoints}

    # a selector that matches no pod empties the Endpoints (the subsets go)
    v1.patch_namespaced_service("nginx-service", "space1", {"spec": {"selector": {"app": "x"}}})
    lab.wait_for(lambda c: "subsets" not in (c.store.get("endpoints", "space1", "nginx-service")))
    (service,) = asyncio.run(list_services(kube, "space1"))
    assert service.endpoints == () and service.endpoints_text == "0/0"

    # deleting the Service deletes its Endpoints and its EndpointSlice
    v1.delete_namespaced_service("nginx-service", "space1")
    lab.wait_for(lambda c: c.store.get("endpoints", "space1", "nginx-service") is None)
    lab.wait_for(lambda c: not c.store.view("endpointslices.discovery.k8s.io", "space1"))
    api.close()


def test_kubernetes_1_15_serves_no_endpoint_slices(tmp_path: Path) -> None:
    """The seed's version has only core/v1 Endpoints: discovery.k8s.io is not there (404)."""
    with ServerThread(tmp_path / "lab", kube_version="1.15.2") as server:
        api = config.new_client_from_config(config_file=str(server.kubeconfig))
        groups = [g.name for g in client.ApisApi(api).get_api_versions().groups]
        assert "discovery.k8s.io" not in groups
        with pytest.raises(client.ApiException) as err:
            client.CustomObjectsApi(api).list_cluster_custom_object(
                "discovery.k8s.io", "v1", "endpointslices"
            )
        assert err.value.status == 404
        api.close()
