"""Network policy as a cluster's API holds it: Kubernetes NetworkPolicy, Calico's
NetworkPolicy and GlobalNetworkPolicy, and the namespaces' labels their selectors read.

A kind the API does not serve (no Calico CRDs, a version without networking.k8s.io/v1)
is not observed, never an error: it goes into the reading's `unseen`, in words."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fabrictui.constants import CALICO_CRD_GROUP
from fabrictui.parsers import ParseError
from fabrictui.parsers.netpolicy import (
    Policy,
    PolicyReading,
    namespace_labels,
    policies_from_list,
)

if TYPE_CHECKING:
    from fabrictui.backends.real.kube.client import KubeClient

# kind -> (group, version, plural) as the API serves it
KINDS = {
    "NetworkPolicy": ("networking.k8s.io", "v1", "networkpolicies"),
    "CalicoNetworkPolicy": (CALICO_CRD_GROUP, "v1", "networkpolicies"),
    "GlobalNetworkPolicy": (CALICO_CRD_GROUP, "v1", "globalnetworkpolicies"),
}


def _list(api: Any, group: str, version: str, plural: str, timeout: Any) -> Any:
    """The list answer, or None when the API does not serve that resource (the custom
    objects call builds /apis/GROUP/VERSION/PLURAL, a built-in group's path too)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    custom = client.CustomObjectsApi(api)
    try:
        return custom.list_cluster_custom_object(group, version, plural, _request_timeout=timeout)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def reading_from(answers: dict[str, Any], namespaces: Any) -> PolicyReading:
    """The reading from the list answers (None where not served) and the NamespaceList."""
    policies: list[Policy] = []
    unseen: list[str] = []
    for kind, data in answers.items():
        group, version, plural = KINDS[kind]
        if data is None:
            unseen.append(f"{kind}: the API does not serve {group}/{version} {plural}")
            continue
        try:
            policies += policies_from_list(kind, data)
        except ParseError as err:
            unseen.append(f"{kind}: {err}")
    try:
        spaces = namespace_labels(namespaces)
    except ParseError as err:
        spaces, unseen = (), [*unseen, f"namespaces: {err}"]
    return PolicyReading(tuple(policies), spaces, tuple(unseen))


async def read_policies(kube: KubeClient) -> PolicyReading:
    def read(api: Any) -> PolicyReading:
        timeout = kube._timeout()
        answers = {kind: _list(api, *where, timeout) for kind, where in KINDS.items()}
        return reading_from(answers, kube._get_json(api, "list_namespace"))

    return await kube._call("list network policies", read, requests=len(KINDS) + 1)
