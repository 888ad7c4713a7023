"""What a controller may use of the lab cluster (`cluster.Cluster` is the one): described
here so that the cluster, which starts the controllers, is not imported back by them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from fabrictui.lab.calico_dataplane import Dataplane, NodeNet
from fabrictui.lab.kubeapi.controllers.events import Recorder
from fabrictui.lab.kubeapi.controllers.podlogs import PodLogs
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
    podlogs: PodLogs
    calico: PodNetwork
    sandboxes: Sandboxes

    def kick(self) -> None:
        """Wake the controllers' loop now rather than at its next tick."""

    def create(self, key: str, obj: Obj) -> Obj: ...

    def delete_pod(self, namespace: str, name: str) -> None: ...


class Reconciler:
    """A controller that makes the data plane match the objects: an event `kick`s it, and
    one task reconciles until nothing changed meanwhile (a burst of events is one pass, a
    failed pass is logged and the next kick tries again)."""

    what = "reconcile"  # the log's name for it

    def __init__(self) -> None:
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def reconcile(self) -> None:
        raise NotImplementedError

    def kick(self) -> None:
        self._dirty.set()
        if self._task is None or self._task.done():
            with contextlib.suppress(RuntimeError):  # no loop yet: a later event kicks
                self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while self._dirty.is_set():
            self._dirty.clear()
            try:
                await self.reconcile()
            except Exception:
                logging.getLogger(type(self).__module__).exception(
                    "%s: reconcile failed", self.what
                )
            await asyncio.sleep(0.05)

    async def stop_reconciling(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
