"""The API server the demo lab claims to be: the seed's Kubernetes v1.15.2.

It answers the same questions a real server does (version, served group versions,
kinds), so the demo lab goes through the same choice of Calico release and apply method
(`intent/releases.py`) and the same manifest checks as a real lab: on this server the
bundled Calico is v3.10 and objects are created or replaced, never server-side applied.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from fabrictui import audit
from fabrictui.backends.demo.bgp import DemoBgp
from fabrictui.backends.demo.kube import KubeSim
from fabrictui.constants import KUBE_VERSION
from fabrictui.intent.manifest_check import crd_kinds
from fabrictui.intent.releases import (
    CREATE_OR_REPLACE,
    CalicoRelease,
    ServerFacts,
    choose_apply_method,
    choose_release,
    parse_version,
)

# What a kube-apiserver v1.15 lists in discovery (the 1.15 API reference), and the kinds
# of the group versions the labs' manifests use.
KINDS_1_15: dict[str, frozenset[str]] = {
    "v1": frozenset(
        {
            "ConfigMap",
            "Endpoints",
            "Event",
            "Namespace",
            "Node",
            "Pod",
            "Secret",
            "Service",
            "ServiceAccount",
        }
    ),
    "apps/v1": frozenset({"DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"}),
    "rbac.authorization.k8s.io/v1": frozenset(
        {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    ),
    "apiextensions.k8s.io/v1beta1": frozenset({"CustomResourceDefinition"}),
    "policy/v1beta1": frozenset({"PodDisruptionBudget", "PodSecurityPolicy"}),
}
GROUP_VERSIONS_1_15 = frozenset(KINDS_1_15) | {
    "admissionregistration.k8s.io/v1beta1", "apiregistration.k8s.io/v1",
    "apiregistration.k8s.io/v1beta1", "apps/v1beta1", "apps/v1beta2",
    "authentication.k8s.io/v1", "authentication.k8s.io/v1beta1", "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1", "autoscaling/v1", "autoscaling/v2beta1",
    "autoscaling/v2beta2", "batch/v1", "batch/v1beta1", "certificates.k8s.io/v1beta1",
    "coordination.k8s.io/v1", "coordination.k8s.io/v1beta1", "events.k8s.io/v1beta1",
    "extensions/v1beta1", "networking.k8s.io/v1", "networking.k8s.io/v1beta1",
    "node.k8s.io/v1beta1", "rbac.authorization.k8s.io/v1beta1", "scheduling.k8s.io/v1",
    "scheduling.k8s.io/v1beta1", "storage.k8s.io/v1", "storage.k8s.io/v1beta1",
}  # fmt: skip


def demo_facts(calico_applied: bool, group_versions: Sequence[str] = ()) -> ServerFacts:
    """The demo's server; once Calico is applied its CRDs' group serves too."""
    numbers, git = parse_version({"gitVersion": KUBE_VERSION})
    served = set(GROUP_VERSIONS_1_15)
    kinds = {gv: KINDS_1_15[gv] for gv in group_versions if gv in KINDS_1_15}
    if calico_applied:
        served.add("crd.projectcalico.org/v1")
        if "crd.projectcalico.org/v1" in group_versions:
            kinds["crd.projectcalico.org/v1"] = frozenset(
                {"BGPConfiguration", "BGPPeer", "FelixConfiguration", "IPPool"}
            )
    return ServerFacts(numbers, git, frozenset(served), kinds)


def demo_release(calico_applied: bool) -> CalicoRelease:
    """The bundled Calico for the demo's server, chosen as for any server."""
    return choose_release(demo_facts(calico_applied)).release


def demo_method(calico_applied: bool) -> str:
    return choose_apply_method(demo_facts(calico_applied)).name


def preview(
    docs: Sequence[Mapping[str, Any]], calico_applied: bool, peers: Collection[str] = ()
) -> list[str]:
    """The demo's plan lines: what the demo holds exists (Calico's objects once applied,
    its BGPPeers by name, the nodes), the rest is new. It keeps no object fields, so
    existing ones are unchanged."""
    defined = crd_kinds(docs)
    lines = []
    for doc in docs:
        api_version = str(doc.get("apiVersion", ""))
        group = api_version.split("/")[0] if "/" in api_version else ""
        name = (doc.get("metadata") or {}).get("name", "")
        label = f"{str(doc.get('kind', '')).lower()}{'.' + group if group else ''}/{name}"
        if doc.get("kind") == "BGPPeer":
            exists = name in peers
        else:
            exists = doc.get("kind") == "Node" or (
                calico_applied and (group == "crd.projectcalico.org" or api_version in defined)
            )
        lines.append(f"{label}: {'exists, unchanged' if exists else 'new'}")
    return lines


def applied_line(line: str, method: str) -> str:
    """What the demo says it did, in the words of the method its server allows."""
    if method == CREATE_OR_REPLACE:
        return line.replace(" serverside-applied", " configured")
    return line


class AppliesObjects:
    """Mixed into `DemoBackend`: objects applied to, previewed in and deleted from the demo
    cluster, through what its API server claims to serve."""

    kube: KubeSim
    bgp: DemoBgp

    def _ensure_driver(self) -> None:  # provided by DemoBackend
        raise NotImplementedError

    def _now(self) -> float:  # provided by DemoBackend
        raise NotImplementedError

    async def server_facts(self, group_versions: Sequence[str] = ()) -> ServerFacts:
        return demo_facts(self.kube.calico_applied, group_versions)

    async def preview_objects(self, docs: list[dict[str, Any]]) -> list[str]:
        return preview(docs, self.kube.calico_applied, set(self.bgp.peers))

    async def apply_objects(self, docs: list[dict[str, Any]]) -> list[str]:
        self._ensure_driver()
        method = demo_method(self.kube.calico_applied)
        out = []
        for doc in docs:
            audit.record_call(f"demo: apply {doc.get('kind')} {doc['metadata'].get('name')}")
            out.append(applied_line(self.bgp.apply(doc, self._now()), method))
        return out

    async def delete_objects(self, docs: list[dict[str, Any]]) -> list[str]:
        self._ensure_driver()
        for doc in docs:
            audit.record_call(f"demo: delete {doc.get('kind')} {doc['metadata'].get('name')}")
        return [self.bgp.delete(doc, self._now()) for doc in docs]
