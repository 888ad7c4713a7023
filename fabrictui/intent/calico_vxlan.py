"""What applying Calico (VXLAN backend) creates, as kubectl names the objects.

`manifest_objects(name)` reads a bundled manifest (`fabrictui/manifests/*.yaml`, the
release `intent/releases.py` chose) when the package ships them, else falls back to the
seed's list (calicoctl and calico.yaml of the seed's `vagrant.calico-vxlan-overlay.sh`),
so the confirmation dialog and the demo lab agree on what an apply does.
"""

from __future__ import annotations

import functools
from importlib import resources

SEED_CALICO_OBJECTS: tuple[str, ...] = (
    "serviceaccount/calicoctl",
    "pod/calicoctl",
    "clusterrole.rbac.authorization.k8s.io/calicoctl",
    "clusterrolebinding.rbac.authorization.k8s.io/calicoctl",
    "configmap/calico-config",
    *(
        f"customresourcedefinition.apiextensions.k8s.io/{crd}.crd.projectcalico.org"
        for crd in (
            "felixconfigurations",
            "ipamblocks",
            "blockaffinities",
            "ipamhandles",
            "ipamconfigs",
            "bgppeers",
            "bgpconfigurations",
            "ippools",
            "hostendpoints",
            "clusterinformations",
            "globalnetworkpolicies",
            "globalnetworksets",
            "networkpolicies",
            "networksets",
        )
    ),
    "clusterrole.rbac.authorization.k8s.io/calico-kube-controllers",
    "clusterrolebinding.rbac.authorization.k8s.io/calico-kube-controllers",
    "clusterrole.rbac.authorization.k8s.io/calico-node",
    "clusterrolebinding.rbac.authorization.k8s.io/calico-node",
    "daemonset.apps/calico-node",
    "serviceaccount/calico-node",
    "deployment.apps/calico-kube-controllers",
    "serviceaccount/calico-kube-controllers",
)

# kind -> the resource prefix kubectl prints
_RESOURCE = {
    "ServiceAccount": "serviceaccount",
    "Pod": "pod",
    "ConfigMap": "configmap",
    "Secret": "secret",
    "Service": "service",
    "Namespace": "namespace",
    "ClusterRole": "clusterrole.rbac.authorization.k8s.io",
    "ClusterRoleBinding": "clusterrolebinding.rbac.authorization.k8s.io",
    "Role": "role.rbac.authorization.k8s.io",
    "RoleBinding": "rolebinding.rbac.authorization.k8s.io",
    "CustomResourceDefinition": "customresourcedefinition.apiextensions.k8s.io",
    "DaemonSet": "daemonset.apps",
    "Deployment": "deployment.apps",
    "PodDisruptionBudget": "poddisruptionbudget.policy",
}


BUNDLED_MANIFEST = "calico-vxlan.yaml"  # the current Calico; intent/releases.py chooses


@functools.cache
def manifest_objects(name: str = BUNDLED_MANIFEST) -> tuple[str, ...]:
    """`resource/name` of every object in the bundled Calico manifest `name` (or the
    seed's list when the package ships no manifests)."""
    try:
        text = resources.files("fabrictui").joinpath("manifests").joinpath(name).read_text()
    except (FileNotFoundError, NotADirectoryError, ModuleNotFoundError):
        return SEED_CALICO_OBJECTS
    import yaml  # only needed when manifests ship

    objects: list[str] = []
    for doc in yaml.safe_load_all(text):
        if not isinstance(doc, dict) or "kind" not in doc:
            continue
        kind = str(doc["kind"])
        name = str((doc.get("metadata") or {}).get("name", "?"))
        objects.append(f"{_RESOURCE.get(kind, kind.lower())}/{name}")
    return tuple(objects) or SEED_CALICO_OBJECTS
