"""What BGP mode reads and changes through the Kubernetes API: Calico's IPPools (which
mode the cluster is in), deleting BGP mode's objects on the way back, and a command run
in a node's calico-node pod (BIRD's client)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fabrictui import audit
from fabrictui.backends.real.kube.pod_exec import run_in_pod
from fabrictui.constants import CALICO_NAMESPACES
from fabrictui.parsers.kube import as_dict, as_list

if TYPE_CHECKING:
    from fabrictui.backends.real.kube.client import KubeClient

CALICO_GROUP = "crd.projectcalico.org"
CALICO_NODE_LABEL = "k8s-app=calico-node"
OPERATOR_GROUP = "operator.tigera.io"  # the Tigera operator's Installation


def mode_of_pools(pools: Sequence[Mapping[str, Any]]) -> str | None:
    """ "vxlan" when a pool encapsulates in VXLAN (Always or CrossSubnet), "bgp" when the
    pools exist and none encapsulates, None without pools (Calico not deployed)."""
    if not pools:
        return None
    for pool in pools:
        spec = as_dict(pool.get("spec"))
        if str(spec.get("vxlanMode", "Never")) != "Never":
            return "vxlan"
        if str(spec.get("ipipMode", "Never")) != "Never":
            return "ipip"
    return "bgp"


def mode_of_installations(installations: Sequence[Mapping[str, Any]]) -> str | None:
    """The mode the Tigera operator's `Installation` asks for, from its pools'
    encapsulation: "vxlan" (VXLAN, VXLANCrossSubnet), "ipip" (IPIP, IPIPCrossSubnet, the
    API's default, also of the pool the operator makes when none is listed), "bgp" (None);
    None without an Installation."""
    for inst in installations:
        network = as_dict(as_dict(inst.get("spec")).get("calicoNetwork"))
        pools = [as_dict(p) for p in as_list(network.get("ipPools"))] or [{}]
        kinds = [str(p.get("encapsulation", "IPIP")) for p in pools]
        if any(k.startswith("VXLAN") for k in kinds):
            return "vxlan"
        if any(k.startswith("IPIP") for k in kinds):
            return "ipip"
        return "bgp"
    return None


def _items(
    custom: Any, group: str, version: str, plural: str, timeout: tuple[float, float]
) -> list[dict[str, Any]]:
    from kubernetes.client.exceptions import ApiException

    try:
        data = custom.list_cluster_custom_object(group, version, plural, _request_timeout=timeout)
    except ApiException as exc:
        if exc.status == 404:  # no such CRD: not installed that way
            return []
        raise
    return [p for p in as_list(as_dict(data).get("items")) if isinstance(p, dict)]


async def calico_mode(kube: KubeClient) -> str | None:
    """From the IPPools; where there are none yet but the Tigera operator's Installation
    is there (it creates the pools a moment later), from what the Installation asks."""

    def read(api: Any) -> str | None:
        from kubernetes import client

        custom = client.CustomObjectsApi(api)
        timeout = kube._timeout()
        mode = mode_of_pools(_items(custom, CALICO_GROUP, "v1", "ippools", timeout))
        if mode is None:
            installations = _items(custom, OPERATOR_GROUP, "v1", "installations", timeout)
            mode = mode_of_installations(installations)
        return mode

    # the pools, then (where there are none) the operator's Installations
    return await kube._call("list ippools", read, requests=2)


async def delete_objects(kube: KubeClient, docs: Sequence[Mapping[str, Any]]) -> list[str]:
    def delete(api: Any) -> list[str]:
        from kubernetes import dynamic
        from kubernetes.client.exceptions import ApiException
        from kubernetes.dynamic.exceptions import NotFoundError

        dyn = dynamic.DynamicClient(api)
        lines = []
        for doc in docs:
            kind, version = str(doc.get("kind")), str(doc.get("apiVersion"))
            meta = as_dict(doc.get("metadata"))
            name, namespace = str(meta.get("name")), meta.get("namespace")
            resource = dyn.resources.get(api_version=version, kind=kind)
            audit.record_call(f"DELETE {version} {kind} {name}")
            label = f"{kind.lower()}.{version.split('/')[0]}" if "/" in version else kind.lower()
            try:
                resource.delete(name=name, namespace=namespace)
                lines.append(f'{label} "{name}" deleted')
            except (NotFoundError, ApiException) as exc:
                if getattr(exc, "status", 404) != 404:
                    raise
                lines.append(f'{label} "{name}" not found')
        return lines

    # each document: the resource's discovery (cached after the first) and the delete
    return await kube._call("delete", delete, requests=2 * len(docs) + 2)


async def exec_in_calico_node(
    kube: KubeClient, node: str, command: list[str], timeout: float
) -> tuple[str, str, bool]:
    """Run `command` in the calico-node pod on `node`: (stdout, stderr, finished)."""

    def run(api: Any) -> tuple[str, str, bool]:
        from kubernetes import client

        core = client.CoreV1Api(api)
        for namespace in CALICO_NAMESPACES:  # calico.yaml's, then the operator's
            pods = core.list_namespaced_pod(
                namespace,
                label_selector=CALICO_NODE_LABEL,
                field_selector=f"spec.nodeName={node}",
                _request_timeout=kube._timeout(),
            ).items
            if pods:
                name = pods[0].metadata.name
                audit.record_call(f"exec in {namespace}/{name}: {' '.join(command)}")
                return run_in_pod(
                    api,
                    namespace,
                    name,
                    command,
                    timeout,
                    container="calico-node",
                    request_timeout=kube._timeout(),
                )
        return "", f"no calico-node pod on {node}", False

    # a list, the exec's opening, then the command's own run time
    return await kube._call(f"exec in calico-node on {node}", run, requests=2, extra=timeout)
