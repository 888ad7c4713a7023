"""What calico-node does on each node in the lab: IPAM blocks, the VXLAN data
plane through a `Dataplane`, node annotations, then the node turns Ready."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from fabrictui.constants import (
    CALICO_CRD_GROUP,
    CALICO_NODE_ADDR_ANNOTATION,
    CALICO_TUNNEL_ADDR_ANNOTATION,
    CALICO_TUNNEL_MAC_ANNOTATION,
)
from fabrictui.lab.calico_dataplane import DataplaneError, NodeNet, allocate_block, calico_vtep_mac
from fabrictui.lab.kubeapi.controllers.system import NOT_READY_TAINT
from fabrictui.lab.kubeapi.errors import ApiError
from fabrictui.lab.kubeapi.objects import condition_true, set_condition

if TYPE_CHECKING:
    from fabrictui.lab.kubeapi.controllers.parts import ClusterParts

log = logging.getLogger(__name__)
Obj = dict[str, Any]

IPPOOLS = f"ippools.{CALICO_CRD_GROUP}"
IPAMBLOCKS = f"ipamblocks.{CALICO_CRD_GROUP}"
BLOCKAFFINITIES = f"blockaffinities.{CALICO_CRD_GROUP}"
TUNNEL_ADDR = CALICO_TUNNEL_ADDR_ANNOTATION
TUNNEL_MAC = CALICO_TUNNEL_MAC_ANNOTATION
NODE_ADDR = CALICO_NODE_ADDR_ANNOTATION
CALICO_API_VERSION = f"{CALICO_CRD_GROUP}/v1"
BLOCKS_ANNOTATION = "fabrictui.lab/calico-blocks"
PARALLEL = 8  # data plane commands at once
SETTLE_S = 2.0  # longest wait for concurrent node set-ups before programming routes


def is_calico_node_pod(pod: Obj) -> bool:
    labels = pod.get("metadata", {}).get("labels") or {}
    if labels.get("k8s-app") == "calico-node":
        return True
    for ref in pod.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("kind") == "DaemonSet" and ref.get("name") == "calico-node":
            return True
    return False


def _env(container: Obj, name: str) -> str | None:
    for env in container.get("env") or []:
        if env.get("name") == name:
            return env.get("value")
    return None


class CalicoAgent:
    def __init__(self, cluster: ClusterParts) -> None:
        self.cluster = cluster
        self.nodes: dict[str, NodeNet] = {}
        self.ready: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.used: dict[str, set[str]] = defaultdict(set)  # node -> pod IPs in use
        self._planned: dict[str, NodeNet] = {}  # blocks reserved, built or not
        self._programmed: dict[str, set[str]] = {}  # node -> peers its routes cover
        self._parallel = asyncio.Semaphore(PARALLEL)
        self._sync_lock = asyncio.Lock()
        self._sync_wanted = False
        self._last_pass: set[str] = set()
        self._in_flight = 0
        self._settled = asyncio.Event()
        self._settled.set()

    def pool_settings(self) -> dict[str, str]:
        """Pool CIDR and modes from the calico-node DaemonSet's env (first container)."""
        settings = {"cidr": self.cluster.inventory.pod_pool, "vxlan": "Always", "ipip": "Never"}
        ds = self.cluster.store.get("daemonsets.apps", "kube-system", "calico-node")
        containers = (ds or {}).get("spec", {}).get("template", {}).get("spec", {})
        for container in containers.get("containers") or []:
            for key, env in (
                ("cidr", "CALICO_IPV4POOL_CIDR"),
                ("vxlan", "CALICO_IPV4POOL_VXLAN"),
                ("ipip", "CALICO_IPV4POOL_IPIP"),
            ):
                value = _env(container, env)
                if value:
                    settings[key] = value
        return settings

    async def start_node(self, node_name: str) -> NodeNet:
        """Build the node's data plane, program routes both ways, mark the node Ready."""
        net = self._plan(node_name)
        if node_name not in self.nodes:
            self._in_flight += 1
            self._settled.clear()
            try:
                async with self._parallel:
                    await self.cluster.dataplane.setup_node(net)
            finally:
                self._in_flight -= 1
                if not self._in_flight:
                    self._settled.set()
            self.nodes[node_name] = net
            self._programmed[node_name] = set()
            self._record_ipam(net)
            log.info("calico-node: %s has block %s, tunnel %s", node_name, net.block, net.tunnel_ip)
        await self._sync_peers()
        # routes towards the nodes the last pass knew; later nodes add theirs in their pass
        missing = self._last_pass - {node_name} - self._programmed[node_name]
        if missing:
            raise DataplaneError(f"{node_name}: routes to {len(missing)} other nodes failed")
        self._mark_ready(net)
        self.ready[node_name].set()
        return net

    def _plan(self, node_name: str) -> NodeNet:
        """Reserve the node's block (synchronous, so concurrent starts never collide)."""
        net = self._planned.get(node_name)
        if net is not None:
            return net
        cluster = self.cluster
        host = cluster.hosts[node_name]
        settings = self.pool_settings()
        self._ensure_pool(settings)
        taken = [n.block for n in self._planned.values()]
        block = allocate_block(settings["cidr"], node_name, taken)
        net = NodeNet(
            name=node_name,
            netns=host.netns,
            ip=host.address,
            block=block,
            tunnel_ip=str(ipaddress.ip_network(block).network_address),
            vtep_mac=calico_vtep_mac(node_name),
            vni=cluster.inventory.vni,
            port=cluster.inventory.vxlan_port,
        )
        self._planned[node_name] = net
        return net

    async def _sync_peers(self) -> None:
        """Program every missing route/neighbour/FDB entry on every built node.

        Calls coalesce: nodes whose calico-node starts together (a DaemonSet
        rollout) are programmed in one pass of one call per node, not one pass
        per node joining.
        """
        self._sync_wanted = True
        async with self._sync_lock:
            if not self._sync_wanted:
                return  # a pass that started after our node was built covered it
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._settled.wait(), SETTLE_S)
            self._sync_wanted = False
            snapshot = dict(self.nodes)

            async def program(node: NodeNet, peers: list[NodeNet]) -> None:
                async with self._parallel:
                    try:
                        await self.cluster.dataplane.set_peers(node, peers)
                    except Exception as exc:
                        log.warning("calico-node: routes on %s failed: %s", node.name, exc)
                        return
                self._programmed[node.name].update(p.name for p in peers)

            jobs = []
            for name, node in snapshot.items():
                done = self._programmed[name]
                peers = [p for n, p in snapshot.items() if n != name and n not in done]
                if peers:
                    jobs.append(program(node, peers))
            await asyncio.gather(*jobs)
            self._last_pass = set(snapshot)

    def _ensure_pool(self, settings: dict[str, str]) -> None:
        store = self.cluster.store
        if IPPOOLS not in self.cluster.registry.types or store.get(
            IPPOOLS, "", "default-ipv4-ippool"
        ):
            return
        with contextlib.suppress(ApiError):
            store.create(IPPOOLS, {
                "apiVersion": CALICO_API_VERSION,
                "kind": "IPPool",
                "metadata": {"name": "default-ipv4-ippool"},
                "spec": {"cidr": settings["cidr"], "blockSize": 26,
                         "vxlanMode": settings["vxlan"], "ipipMode": settings["ipip"],
                         "natOutgoing": True, "nodeSelector": "all()"},
            })  # fmt: skip

    def _record_ipam(self, net: NodeNet) -> None:
        store, types = self.cluster.store, self.cluster.registry.types
        dashed = net.block.replace(".", "-").replace("/", "-")
        if IPAMBLOCKS in types and store.get(IPAMBLOCKS, "", dashed) is None:
            with contextlib.suppress(ApiError):
                store.create(IPAMBLOCKS, {
                    "apiVersion": CALICO_API_VERSION,
                    "kind": "IPAMBlock",
                    "metadata": {"name": dashed},
                    "spec": {"cidr": net.block, "affinity": f"host:{net.name}",
                             "strictAffinity": False, "allocations": [], "unallocated": [],
                             "attributes": [], "deleted": False},
                })  # fmt: skip
        name = f"{net.name}-{dashed}"
        if BLOCKAFFINITIES in types and store.get(BLOCKAFFINITIES, "", name) is None:
            with contextlib.suppress(ApiError):
                store.create(BLOCKAFFINITIES, {
                    "apiVersion": CALICO_API_VERSION,
                    "kind": "BlockAffinity",
                    "metadata": {"name": name},
                    "spec": {"state": "confirmed", "node": net.name, "cidr": net.block,
                             "deleted": "false"},
                })  # fmt: skip

    def _mark_ready(self, net: NodeNet) -> None:
        store = self.cluster.store
        node = store.get("nodes", "", net.name)
        if node is None:
            return
        annotations = node["metadata"].setdefault("annotations", {})
        annotations[TUNNEL_ADDR] = net.tunnel_ip
        annotations[TUNNEL_MAC] = net.vtep_mac
        annotations[BLOCKS_ANNOTATION] = net.block
        prefix = 24
        annotations[NODE_ADDR] = f"{net.ip}/{prefix}"
        node["spec"]["taints"] = [
            t for t in node["spec"].get("taints") or [] if t.get("key") != NOT_READY_TAINT["key"]
        ]
        if not node["spec"]["taints"]:
            del node["spec"]["taints"]
        status = node.setdefault("status", {})
        status["conditions"] = set_condition(
            status.get("conditions") or [],
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
            heartbeat=True,
        )
        conditions = status["conditions"]
        if not any(c.get("type") == "NetworkUnavailable" for c in conditions):
            conditions.insert(0, {
                "type": "NetworkUnavailable", "status": "False",
                "reason": "CalicoIsUp", "message": "Calico is running on this node",
                "lastHeartbeatTime": conditions[-1]["lastTransitionTime"],
                "lastTransitionTime": conditions[-1]["lastTransitionTime"],
            })  # fmt: skip
        was_ready = condition_true(store.get("nodes", "", net.name) or {}, "Ready")
        with contextlib.suppress(ApiError):
            updated = store.update("nodes", node)
            if not was_ready:
                self.cluster.events.record(
                    updated, "NodeReady", f"Node {net.name} status is now: NodeReady",
                    "kubelet", host=net.name,
                )  # fmt: skip

    async def wait_node(self, node_name: str) -> NodeNet:
        await self.ready[node_name].wait()
        return self.nodes[node_name]

    def allocate_ip(self, node_name: str) -> str:
        net = self.nodes[node_name]
        block = ipaddress.ip_network(net.block)
        used = self.used[node_name]
        for addr in block:
            text = str(addr)
            if text == net.tunnel_ip or text in used:
                continue
            used.add(text)
            return text
        raise ApiError(500, f"IPAM block {net.block} of {node_name} is full")

    def release_ip(self, node_name: str, ip: str) -> None:
        self.used[node_name].discard(ip)
