"""What a controller may use of the lab cluster (`cluster.Cluster` is the one): described
here so that the cluster, which starts the controllers, is not imported back by them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from fabrictui.lab.calico_dataplane import Dataplane, NodeNet
from fabrictui.lab.kubeapi.controllers.events import Recorder
from fabrictui.lab.kubeapi.controllers.sandboxes import Sandboxes
from fabrictui.lab.kubeapi.inventory import KubeHost, LabInventory
from fabrictui.lab.kubeapi.resources import Registry
from fabrictui.lab.kubeapi.store import Store

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Timing:
    """Delays that make state changes visible as they are on a real cluster."""

    pod_start: float = 1.0  # host-network pod: Pending -> Running
    container_create: float = 0.5  # pod network ready -> Running
    retry: float = 2.0  # after a failed start

    @classmethod
    def fast(cls) -> Timing:
        return cls(pod_start=0.02, container_create=0.01, retry=0.2)


class PodNetwork(Protocol):
    """calico-node's part that the kubelet and BGP mode call (controllers/calico.py)."""

    nodes: dict[str, NodeNet]

    async def start_node(self, node_name: str) -> NodeNet: ...

    async def wait_node(self, node_name: str) -> NodeNet: ...

    def allocate_ip(self, node_name: str) -> str: ...

    def release_ip(self, node_name: str, ip: str) -> None: ...


class ClusterParts(Protocol):
    inventory: LabInventory
    dataplane: Dataplane
    timing: Timing
    store: Store
    registry: Registry
    hosts: dict[str, KubeHost]
    events: Recorder
    calico: PodNetwork
    sandboxes: Sandboxes

    def kick(self) -> None:
        """Wake the controllers' loop now rather than at its next tick."""

    def create(self, key: str, obj: Obj) -> Obj: ...

    def delete_pod(self, namespace: str, name: str) -> None: ...
