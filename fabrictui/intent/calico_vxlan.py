"""What applying Calico (VXLAN backend) creates, as kubectl names the objects.

`manifest_objects()` reads the bundled manifests (`fabrictui/manifests/*.yaml`)
when the package ships them, else falls back to the seed's list (calicoctl and
calico.yaml of the seed's `vagrant.calico-vxlan-overlay.sh`), so the
confirmation dialog and the demo lab agree on what an apply does.
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


@functools.cache
def manifest_objects() -> tuple[str, ...]:
    """`resource/name` of every object in the bundled Calico manifests (or the seed's)."""
    try:
        folder = resources.files("fabrictui").joinpath("manifests")
        files = sorted(
            (f for f in folder.iterdir() if f.name.endswith((".yaml", ".yml"))),
            key=lambda f: f.name,
        )
    except (FileNotFoundError, NotADirectoryError, ModuleNotFoundError):
        files = []
    calico = [f for f in files if "calico" in f.name]
    if not calico:
        return SEED_CALICO_OBJECTS
    import yaml  # only needed when manifests ship

    objects: list[str] = []
    for f in calico:
        for doc in yaml.safe_load_all(f.read_text()):
            if not isinstance(doc, dict) or "kind" not in doc:
                continue
            kind = str(doc["kind"])
            name = str((doc.get("metadata") or {}).get("name", "?"))
            objects.append(f"{_RESOURCE.get(kind, kind.lower())}/{name}")
    return tuple(objects) or SEED_CALICO_OBJECTS
