"""What the API server needs from `DIR/inventory.json`: the Kubernetes hosts."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fabrictui.constants import INVENTORY_FORMAT, POD_POOL, VXLAN_PORT, VXLAN_VNI


class InventoryError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class KubeHost:
    name: str
    role: str  # master | worker
    address: str
    netns: str | None
    rack: int | None = None


@dataclass(frozen=True, slots=True)
class LabInventory:
    lab_id: str
    hosts: tuple[KubeHost, ...]
    pod_pool: str = POD_POOL
    vni: int = VXLAN_VNI
    vxlan_port: int = VXLAN_PORT
    kube_api_port: int | None = None
    pod_netns_prefix_override: str | None = None  # inventory "pod_netns_prefix" (tests)

    @property
    def pod_netns_prefix(self) -> str:
        return self.pod_netns_prefix_override or f"ftl-{self.lab_id}-pod-"


def parse_inventory(data: dict[str, Any]) -> LabInventory:
    try:
        hosts = tuple(
            KubeHost(
                name=h["name"],
                role=h["role"],
                address=h["address"],
                netns=h.get("netns"),
                rack=h.get("rack"),
            )
            for h in data.get("hosts", [])
            if h.get("role") in ("master", "worker")
        )
        lab_id = str(data["lab_id"])
    except (KeyError, TypeError) as exc:
        raise InventoryError(f"inventory lacks {exc}") from exc
    if not hosts:
        raise InventoryError("inventory lists no Kubernetes hosts (role master or worker)")
    port = (data.get("kube_api") or {}).get("port")
    return LabInventory(
        lab_id=lab_id,
        hosts=hosts,
        pod_pool=data.get("pod_pool", POD_POOL),
        vni=int(data.get("vni", VXLAN_VNI)),
        vxlan_port=int(data.get("vxlan_port", VXLAN_PORT)),
        kube_api_port=int(port) if port else None,
        pod_netns_prefix_override=data.get("pod_netns_prefix"),
    )


def load_inventory(lab_dir: Path) -> LabInventory:
    path = lab_dir / "inventory.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InventoryError(f"cannot read {path}: {exc}") from exc
    return parse_inventory(data)


def write_json_atomic(path: Path, data: Any, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def set_kube_api(lab_dir: Path, host: str, port: int) -> None:
    """Record the API endpoint in inventory.json (kept as is otherwise)."""
    path = lab_dir / "inventory.json"
    data = json.loads(path.read_text())
    if data.get("kube_api") == {"host": host, "port": port}:
        return
    data["kube_api"] = {"host": host, "port": port}
    write_json_atomic(path, data)


def reference_inventory(lab_id: str = "test00", with_netns: bool = False) -> dict[str, Any]:
    """The reference lab's five Kubernetes hosts, for tests that need no fabric."""
    hosts = [
        ("k8s-master-l1-1", "master", 1, "10.0.101.100"),
        ("k8s-node-l1-1", "worker", 1, "10.0.101.101"),
        ("k8s-node-l1-2", "worker", 1, "10.0.101.102"),
        ("k8s-node-l2-1", "worker", 2, "10.0.102.101"),
        ("k8s-node-l2-2", "worker", 2, "10.0.102.102"),
    ]
    return {
        "format": INVENTORY_FORMAT,
        "name": "rehearsal",
        "kind": "rehearsal",
        "lab_id": lab_id,
        "kubeconfig": "kubeconfig",
        "pod_pool": POD_POOL,
        "vni": VXLAN_VNI,
        "vxlan_port": VXLAN_PORT,
        "hosts": [
            {
                "name": name,
                "role": role,
                "rack": rack,
                "address": address,
                "netns": f"ftl-{lab_id}-{name}" if with_netns else None,
                "leaf": f"leaf{rack}",
            }
            for name, role, rack, address in hosts
        ],
        "links": [],
    }
