"""The objects fabrictui applies: the bundled Calico manifest (pool set) and the demo
workload (namespace, deployment, service)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from fabrictui.backends.base import BackendError, DemoWorkload
from fabrictui.backends.real.kube.config import one_line
from fabrictui.constants import POD_POOL
from fabrictui.parsers.kube import as_dict, as_list

CALICO_MANIFEST = "calico-vxlan.yaml"


def load_calico_manifest(
    pool_cidr: str, path: Path | None = None, name: str = CALICO_MANIFEST
) -> list[dict[str, Any]]:
    """The bundled Calico manifest `name` (the release `intent/releases.py` chose) with
    CALICO_IPV4POOL_CIDR set to `pool_cidr`."""
    try:
        network = ipaddress.ip_network(pool_cidr, strict=True)
    except ValueError:
        raise BackendError(
            f"bad pod pool {pool_cidr!r}: expected a network like {POD_POOL}"
        ) from None
    try:
        if path is None:
            text = resources.files("fabrictui.manifests").joinpath(name).read_text()
        else:
            text = path.read_text(encoding="utf-8")
        docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except (OSError, ModuleNotFoundError, yaml.YAMLError) as exc:
        raise BackendError(f"cannot read the Calico manifest: {one_line(exc)}") from None
    found = 0
    for doc in docs:
        for container in _pod_containers(doc):
            for env in as_list(container.get("env")):
                if isinstance(env, dict) and env.get("name") == "CALICO_IPV4POOL_CIDR":
                    env["value"] = str(network)
                    env.pop("valueFrom", None)
                    found += 1
    if not found:
        raise BackendError("the Calico manifest sets no CALICO_IPV4POOL_CIDR")
    return docs


def _pod_containers(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    template = as_dict(as_dict(doc.get("spec")).get("template"))
    pod_spec = as_dict(template.get("spec"))
    return [
        c
        for c in as_list(pod_spec.get("containers")) + as_list(pod_spec.get("initContainers"))
        if isinstance(c, dict)
    ]


def workload_objects(w: DemoWorkload) -> list[dict[str, Any]]:
    labels = {"app": w.app_label}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": w.namespace}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": w.deployment, "namespace": w.namespace, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "nginx",
                                "image": w.image,
                                "ports": [{"containerPort": 80}],
                            }
                        ]
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": w.service, "namespace": w.namespace, "labels": labels},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 80}]},
        },
    ]
