"""Services and their endpoints, read from the API server.

Every Kubernetes version the labs run serves core/v1 Endpoints (the seed's 1.15 has nothing
else; from 1.21 on EndpointSlices carry the same addresses and the endpoints controller still
mirrors them into Endpoints), so Endpoints are read first; EndpointSlices only when a server
does not serve Endpoints (404)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fabrictui.backends.base import BackendError
from fabrictui.model import KubeService
from fabrictui.parsers import ParseError
from fabrictui.parsers.services import services_from_api

if TYPE_CHECKING:
    from fabrictui.backends.real.kube.client import KubeClient

SLICE_GROUP = "discovery.k8s.io"


def _read(kube: KubeClient, api: Any, namespace: str | None) -> tuple[Any, Any, Any]:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    def core(all_name: str, one_name: str) -> Any:
        if namespace is None:
            return kube._get_json(api, all_name)
        return kube._get_json(api, one_name, namespace=namespace)

    services = core("list_service_for_all_namespaces", "list_namespaced_service")
    try:
        endpoints = core("list_endpoints_for_all_namespaces", "list_namespaced_endpoints")
        return services, endpoints, None
    except ApiException as exc:
        if exc.status != 404:
            raise
    custom = client.CustomObjectsApi(api)
    if namespace is None:
        slices = custom.list_cluster_custom_object(SLICE_GROUP, "v1", "endpointslices")
    else:
        slices = custom.list_namespaced_custom_object(
            SLICE_GROUP, "v1", namespace, "endpointslices"
        )
    return services, None, slices


async def list_services(kube: KubeClient, namespace: str | None = None) -> list[KubeService]:
    services, endpoints, slices = await kube._call(
        "list services", lambda api: _read(kube, api, namespace), requests=2
    )
    try:
        return services_from_api(services, endpoints, slices)
    except ParseError as err:
        raise BackendError(f"{kube.part}: services: {err}") from None
