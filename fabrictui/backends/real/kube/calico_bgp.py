"""What BGP mode reads and changes through the Kubernetes API: Calico's IPPools (which
mode the cluster is in), deleting BGP mode's objects on the way back, and a command run
in a node's calico-node pod (BIRD's client)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fabrictui import audit
from fabrictui.backends.real.kube.pod_exec import run_in_pod
from fabrictui.parsers.kube import as_dict, as_list

if TYPE_CHECKING:
    from fabrictui.backends.real.kube.client import KubeClient

CALICO_GROUP = "crd.projectcalico.org"
CALICO_NODE_LABEL = "k8s-app=calico-node"


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


async def calico_mode(kube: KubeClient) -> str | None:
    def read(api: Any) -> list[dict[str, Any]]:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        custom = client.CustomObjectsApi(api)
        try:
            data = custom.list_cluster_custom_object(
                CALICO_GROUP, "v1", "ippools", _request_timeout=kube._timeout()
            )
        except ApiException as exc:
            if exc.status == 404:  # no Calico CRDs: not deployed
                return []
            raise
        return [p for p in as_list(as_dict(data).get("items")) if isinstance(p, dict)]

    return mode_of_pools(await kube._call("list ippools", read))


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
        pods = core.list_namespaced_pod(
            "kube-system",
            label_selector=CALICO_NODE_LABEL,
            field_selector=f"spec.nodeName={node}",
            _request_timeout=kube._timeout(),
        ).items
        if not pods:
            return "", f"no calico-node pod on {node}", False
        name = pods[0].metadata.name
        audit.record_call(f"exec in kube-system/{name}: {' '.join(command)}")
        return run_in_pod(
            api,
            "kube-system",
            name,
            command,
            timeout,
            container="calico-node",
            request_timeout=kube._timeout(),
        )

    # a list, the exec's opening, then the command's own run time
    return await kube._call(f"exec in calico-node on {node}", run, requests=2, extra=timeout)
