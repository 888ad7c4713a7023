"""The resource types the lab API serves: built-in ones and those CRDs define."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fabrictui.lab.kubeapi.versions import KubeProfile

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True, slots=True)
class Subresource:
    name: str  # "status", "scale", "exec"
    kind: str
    verbs: tuple[str, ...]
    group: str | None = None  # when the subresource's kind lives in another group
    version: str | None = None


@dataclass(frozen=True, slots=True)
class ResourceType:
    group: str  # "" for the core group
    versions: tuple[str, ...]  # served versions, preferred (storage) first
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    singular: str = ""
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[Subresource, ...] = ()
    categories: tuple[str, ...] = ()
    from_crd: bool = False

    @property
    def key(self) -> str:
        """Storage key: `pods`, `deployments.apps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def storage_version(self) -> str:
        return self.versions[0]

    def api_version(self, version: str | None = None) -> str:
        v = version or self.storage_version
        return f"{self.group}/{v}" if self.group else v

    def subresource(self, name: str) -> Subresource | None:
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None


_STATUS = Subresource("status", "", ("get", "patch", "update"))


def _status(kind: str) -> Subresource:
    return Subresource("status", kind, _STATUS.verbs)


def _scale() -> Subresource:
    return Subresource("scale", "Scale", ("get", "patch", "update"), "autoscaling", "v1")


BUILTIN: tuple[ResourceType, ...] = (
    ResourceType(
        "",
        ("v1",),
        "namespaces",
        "Namespace",
        False,
        ("ns",),
        "namespace",
        ("create", "delete", "get", "list", "patch", "update", "watch"),
        (_status("Namespace"),),
    ),
    ResourceType(
        "", ("v1",), "nodes", "Node", False, ("no",), "node", subresources=(_status("Node"),)
    ),
    ResourceType(
        "",
        ("v1",),
        "pods",
        "Pod",
        True,
        ("po",),
        "pod",
        subresources=(
            _status("Pod"),
            Subresource("exec", "PodExecOptions", ("create", "get")),
            Subresource("log", "Pod", ("get",)),
        ),
        categories=("all",),
    ),
    ResourceType(
        "",
        ("v1",),
        "services",
        "Service",
        True,
        ("svc",),
        "service",
        subresources=(_status("Service"),),
        categories=("all",),
    ),
    ResourceType("", ("v1",), "endpoints", "Endpoints", True, ("ep",), "endpoints"),
    ResourceType(
        "discovery.k8s.io", ("v1",), "endpointslices", "EndpointSlice", True, (), "endpointslice"
    ),
    ResourceType("", ("v1",), "configmaps", "ConfigMap", True, ("cm",), "configmap"),
    ResourceType("", ("v1",), "secrets", "Secret", True, (), "secret"),
    ResourceType("", ("v1",), "serviceaccounts", "ServiceAccount", True, ("sa",), "serviceaccount"),
    ResourceType("", ("v1",), "events", "Event", True, ("ev",), "event"),
    ResourceType("events.k8s.io", ("v1",), "events", "Event", True, ("ev",), "event"),
    ResourceType(
        "apps",
        ("v1",),
        "deployments",
        "Deployment",
        True,
        ("deploy",),
        "deployment",
        subresources=(_status("Deployment"), _scale()),
        categories=("all",),
    ),
    ResourceType(
        "apps",
        ("v1",),
        "replicasets",
        "ReplicaSet",
        True,
        ("rs",),
        "replicaset",
        subresources=(_status("ReplicaSet"), _scale()),
        categories=("all",),
    ),
    ResourceType(
        "apps",
        ("v1",),
        "daemonsets",
        "DaemonSet",
        True,
        ("ds",),
        "daemonset",
        subresources=(_status("DaemonSet"),),
        categories=("all",),
    ),
    ResourceType(
        "rbac.authorization.k8s.io",
        ("v1",),
        "clusterroles",
        "ClusterRole",
        False,
        (),
        "clusterrole",
    ),
    ResourceType(
        "rbac.authorization.k8s.io",
        ("v1",),
        "clusterrolebindings",
        "ClusterRoleBinding",
        False,
        (),
        "clusterrolebinding",
    ),
    ResourceType("rbac.authorization.k8s.io", ("v1",), "roles", "Role", True, (), "role"),
    ResourceType(
        "rbac.authorization.k8s.io", ("v1",), "rolebindings", "RoleBinding", True, (), "rolebinding"
    ),
    ResourceType(
        "apiextensions.k8s.io",
        ("v1",),
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("crd", "crds"),
        "customresourcedefinition",
        subresources=(_status("CustomResourceDefinition"),),
    ),
    ResourceType(  # served since 1.7; the 1.15 this lab claims serves it as today
        "networking.k8s.io",
        ("v1",),
        "networkpolicies",
        "NetworkPolicy",
        True,
        ("netpol",),
        "networkpolicy",
    ),
    ResourceType(
        "policy",
        ("v1",),
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        True,
        ("pdb",),
        "poddisruptionbudget",
        subresources=(_status("PodDisruptionBudget"),),
    ),
)


@dataclass
class Registry:
    """Resource types by (group, version, plural) and by storage key."""

    types: dict[str, ResourceType] = field(default_factory=dict)

    @classmethod
    def builtin(cls, profile: KubeProfile | None = None) -> Registry:
        """The built-in types, in the group versions `profile`'s Kubernetes serves."""
        served = {
            "customresourcedefinitions.apiextensions.k8s.io": profile.crd_versions,
            "poddisruptionbudgets.policy": profile.pdb_versions,
            "endpointslices.discovery.k8s.io": profile.slice_versions,
            "events.events.k8s.io": profile.event_versions,
        } if profile is not None else {}  # fmt: skip
        reg = cls()
        for rt in BUILTIN:
            if rt.key in served:
                if not served[rt.key]:
                    continue  # a type this version does not serve at all
                rt = replace(rt, versions=served[rt.key])
            reg.types[rt.key] = rt
        return reg

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        rt = self.types.get(f"{plural}.{group}" if group else plural)
        if rt is None or version not in rt.versions:
            return None
        return rt

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for rt in self.types.values():
            if rt.group == group and rt.kind == kind and version in rt.versions:
                return rt
        return None

    def group_versions(self) -> dict[str, list[str]]:
        """group -> served versions (preferred first), the core group excluded."""
        out: dict[str, list[str]] = {}
        for rt in self.types.values():
            if not rt.group:
                continue
            versions = out.setdefault(rt.group, [])
            for v in rt.versions:
                if v not in versions:
                    versions.append(v)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self.types.values() if rt.group == group and version in rt.versions]

    def set_crd(self, crd: dict[str, Any]) -> ResourceType | None:
        """Register (or replace) the type a CRD defines; returns it."""
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        group = spec.get("group")
        plural = names.get("plural")
        kind = names.get("kind")
        if not group or not plural or not kind:
            return None
        versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
        if not versions and spec.get("version"):  # v1beta1's one version for all
            versions = [{"name": spec["version"], "served": True, "storage": True}]
        versions.sort(key=lambda v: not v.get("storage", False))
        served = tuple(v["name"] for v in versions if v.get("name"))
        if not served:
            return None
        subs: list[Subresource] = []
        for v in versions:
            sr = v.get("subresources") or spec.get("subresources") or {}
            if "status" in sr and not any(s.name == "status" for s in subs):
                subs.append(_status(kind))
            if "scale" in sr and not any(s.name == "scale" for s in subs):
                subs.append(_scale())
        rt = ResourceType(
            group=group,
            versions=served,
            plural=plural,
            kind=kind,
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            singular=names.get("singular") or kind.lower(),
            subresources=tuple(subs),
            categories=tuple(names.get("categories") or ()),
            from_crd=True,
        )
        self.types[rt.key] = rt
        return rt

    def drop_crd(self, crd: dict[str, Any]) -> ResourceType | None:
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        key = f"{names.get('plural')}.{spec.get('group')}"
        rt = self.types.get(key)
        if rt is not None and rt.from_crd:
            del self.types[key]
            return rt
        return None
