"""Discovery documents (legacy form) and the version endpoint.

kubectl 1.32 first asks for aggregated discovery; a plain `application/json`
answer makes client-go fall back to the legacy documents served here.
"""

from __future__ import annotations

from typing import Any

from fabrictui.lab.kubeapi.resources import Registry, ResourceType
from fabrictui.lab.kubeapi.versions import DEFAULT_VERSION, KubeProfile
from fabrictui.lab.kubeapi.versions import profile as claimed

Obj = dict[str, Any]


def version_info(profile: KubeProfile | None = None) -> Obj:
    """`/version` of the Kubernetes the lab claims (`fabrictui lab up --kube-version`)."""
    profile = profile or claimed(DEFAULT_VERSION)
    major, minor, _ = profile.version.lstrip("v").split(".")
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"{profile.version}+fabrictui-lab",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": profile.build_date,
        "goVersion": "n/a (fabrictui rehearsal lab, Python)",
        "compiler": "cpython",
        "platform": "linux/amd64",
    }


def core_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def group_list(registry: Registry) -> Obj:
    groups = []
    # as kube-apiserver orders them: the built-in groups before those CRDs define (their
    # priority is lower), so a plural both serve (networkpolicies: networking.k8s.io and
    # Calico's crd.projectcalico.org) resolves in kubectl to the built-in one
    crd_groups = {rt.group for rt in registry.types.values() if rt.from_crd}
    builtin = {rt.group for rt in registry.types.values() if not rt.from_crd}
    for group, versions in sorted(
        registry.group_versions().items(),
        key=lambda gv: (gv[0] in crd_groups and gv[0] not in builtin, gv[0]),
    ):
        groups.append(
            {
                "name": group,
                "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
                "preferredVersion": {
                    "groupVersion": f"{group}/{versions[0]}",
                    "version": versions[0],
                },
            }
        )
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: Registry, name: str) -> Obj | None:
    versions = registry.group_versions().get(name)
    if not versions:
        return None
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": name,
        "versions": [{"groupVersion": f"{name}/{v}", "version": v} for v in versions],
        "preferredVersion": {"groupVersion": f"{name}/{versions[0]}", "version": versions[0]},
    }


def _resource_entries(rt: ResourceType) -> list[Obj]:
    main: Obj = {
        "name": rt.plural,
        "singularName": rt.singular or rt.kind.lower(),
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.categories:
        main["categories"] = list(rt.categories)
    entries = [main]
    for sub in rt.subresources:
        entry: Obj = {
            "name": f"{rt.plural}/{sub.name}",
            "singularName": "",
            "namespaced": rt.namespaced,
            "kind": sub.kind or rt.kind,
            "verbs": list(sub.verbs),
        }
        if sub.group is not None:
            entry["group"] = sub.group
            entry["version"] = sub.version
        entries.append(entry)
    return entries


def resource_list(registry: Registry, group_name: str, version: str) -> Obj | None:
    types = registry.in_group_version(group_name, version)
    if not types:
        return None
    gv = f"{group_name}/{version}" if group_name else version
    resources: list[Obj] = []
    for rt in sorted(types, key=lambda r: r.plural):
        resources.extend(_resource_entries(rt))
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }
