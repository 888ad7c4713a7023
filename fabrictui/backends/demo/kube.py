"""The simulated Kubernetes cluster: a kubeadm v1.15.2 cluster of one master
and four workers, Calico (VXLAN) once applied, and the seed's nginx workload.

It behaves like the real thing in the ways fabrictui can see: nodes are
NotReady until calico-node runs on them; pods that need the pod network stay
Pending until a node is Ready; calico-node pods go Pending → ContainerCreating
→ Running; each node gets a /26 block (its first address is the vxlan.calico
tunnel address) and pods take the next free addresses (another block when it
is full); the scheduler spreads a deployment's pods over distinct workers, at
most the kubelet's 110 pods a node, and leaves the rest Pending with its reason
(PodScheduled=False, Unschedulable, "0/5 nodes are available: ..."); the
ReplicaSet controller creates and deletes at most 500 pods a sync, as Kubernetes'
does, so a huge scale is spread over simulated time instead of one long step;
scaling down terminates the newest pods first. Every change is reported through
`emit` as a watch event carrying the API object.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable
from typing import Any

from fabrictui.backends.base import DemoWorkload, NotFound
from fabrictui.backends.demo import calico_node
from fabrictui.backends.demo import topology as topo
from fabrictui.backends.demo.names import NameSource
from fabrictui.backends.demo.objects import MAX_PODS, Deployment, NodeRec, PodRec
from fabrictui.backends.demo.sim import Simulation
from fabrictui.constants import POD_POOL
from fabrictui.intent.calico_vxlan import manifest_objects
from fabrictui.model import Role

# (kind "node"/"pod", event type, the object as the API server would send it)
Emit = Callable[[str, str, dict[str, Any]], None]

SCHEDULER_RETRY = 3.0  # unschedulable pods are retried this long after a node turns Ready
BURST_REPLICAS = 500  # pods the ReplicaSet controller creates or deletes in one sync
REPLICASET_SYNC = 0.2  # seconds between its syncs while a deployment is not at its size
TAINTED = "node(s) had taints that the pod didn't tolerate"  # the scheduler's words
TOO_MANY_PODS = "Too many pods"


class KubeSim:
    def __init__(self, sim: Simulation, names: NameSource, emit: Emit) -> None:
        self.sim = sim
        self.names = names
        self.emit = emit
        self.nodes: dict[str, NodeRec] = {}
        self.pods: dict[str, PodRec] = {}
        self.namespaces: set[str] = {"default", "kube-system", "kube-public", "kube-node-lease"}
        self.deployments: dict[tuple[str, str], Deployment] = {}
        self.services: set[tuple[str, str]] = set()
        self.calico_applied = False
        self.pool = POD_POOL
        self.calico_faulted: set[str] = set()
        self._retry_pending = False
        self._syncing: set[tuple[str, str]] = set()  # deployments with a sync scheduled

    # -- bootstrapping ---------------------------------------------------------------

    def bootstrap(self, t: float) -> None:
        """The cluster kubeadm left behind, before any network plugin."""
        for spec in topo.NODES:
            self.nodes[spec.name] = NodeRec(
                spec.name,
                spec.role,
                t + (0 if spec.role is Role.MASTER else 90),
                spec.ip,
                self.names.uid(),
            )
        master = topo.MASTER
        for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
            self._add_pod(
                "kube-system",
                f"{component}-{master}",
                None,
                t + 30,
                node=master,
                status="Running",
                ready=True,
                restarts=1,
                host_network=True,
                labels=(("component", component), ("tier", "control-plane")),
            )
        for spec in topo.NODES:
            self._add_pod(
                "kube-system",
                f"kube-proxy-{self.names.suffix('kube-proxy')}",
                "kube-proxy",
                self.nodes[spec.name].created + 5,
                node=spec.name,
                status="Running",
                ready=True,
                restarts=1,
                host_network=True,
                labels=(("k8s-app", "kube-proxy"),),
            )
        coredns_hash = self.names.template_hash("coredns")
        for _ in range(2):
            self._add_pod(
                "kube-system",
                f"coredns-{coredns_hash}-{self.names.suffix('coredns')}",
                "coredns",
                t + 40,
                labels=(("k8s-app", "kube-dns"),),
                tolerates_master=False,
            )
        self._schedule_pending(t + 40)  # no node is Ready: coredns waits, with the reason

    # -- helpers ---------------------------------------------------------------------

    def _add_pod(
        self, namespace: str, name: str, owner: str | None, created: float, **kw: object
    ) -> PodRec:
        pod = PodRec(namespace, name, owner, created, self.names.uid(), **kw)  # type: ignore[arg-type]
        if not pod.preference:
            pod.preference = self.names.preference(name, list(topo.WORKERS))
        self.pods[pod.key] = pod
        self.pod_changed(pod, "ADDED")
        return pod

    def pod_changed(self, pod: PodRec, kind: str = "MODIFIED") -> None:
        self.emit("pod", kind, pod.api())

    def node_changed(self, node: NodeRec) -> None:
        self.emit("node", "MODIFIED", node.api())

    def node_objects(self) -> list[dict[str, Any]]:
        return [n.api() for n in self.nodes.values()]

    def pod_objects(self, namespace: str | None = None) -> list[dict[str, Any]]:
        return [p.api() for p in self.live_pods() if namespace is None or p.namespace == namespace]

    def live_pods(self) -> list[PodRec]:
        return sorted(self.pods.values(), key=lambda p: (p.namespace, p.name))

    def pod(self, namespace: str, name: str) -> PodRec:
        pod = self.pods.get(f"{namespace}/{name}")
        if pod is None:
            raise NotFound(f'pods "{name}" not found in namespace {namespace}')
        return pod

    def pod_by_ip(self, ip: str) -> PodRec | None:
        for pod in self.pods.values():
            if pod.ip == ip and not pod.host_network:
                return pod
        return None

    def node_for_ip(self, ip: str) -> NodeRec | None:
        """The node whose /26 block holds `ip`."""
        addr = ipaddress.IPv4Address(ip)
        for node in self.nodes.values():
            if any(addr in ipaddress.IPv4Network(block) for block in node.blocks):
                return node
        return None

    # -- Calico ------------------------------------------------------------------------

    def apply_calico(self, t: float, pool: str, objects: tuple[str, ...] = ()) -> list[str]:
        objects = objects or manifest_objects()
        if self.calico_applied:
            return [f"{obj} unchanged" for obj in objects]
        ipaddress.IPv4Network(pool)  # validated by the caller; raises ValueError if not
        self.calico_applied = True
        self.pool = pool
        self._add_pod(
            "kube-system",
            "calicoctl",
            None,
            t,
            labels=(("app", "calicoctl"),),
            tolerates_master=True,
        )
        self._schedule_pending(t)
        for index, spec in enumerate(topo.NODES):
            pod = self._add_pod(
                "kube-system",
                f"calico-node-{self.names.suffix('calico-node')}",
                "calico-node",
                t + 0.1,
                node=spec.name,
                host_network=True,
                tolerates_master=True,
                labels=(("k8s-app", "calico-node"),),
            )
            self._start_calico_node(pod, t + 0.1, index)
        kc_hash = self.names.template_hash("calico-kube-controllers")
        self._add_pod(
            "kube-system",
            f"calico-kube-controllers-{kc_hash}-{self.names.suffix('calico-kube-controllers')}",
            "calico-kube-controllers",
            t + 0.2,
            labels=(("k8s-app", "calico-kube-controllers"),),
            tolerates_master=True,
        )
        return [f"{obj} created" for obj in objects]

    def _start_calico_node(self, pod: PodRec, t: float, index: int) -> None:
        gen = pod.generation
        creating = t + 0.4 + 0.15 * index
        running = creating + 1.6 + 0.35 * index  # image pull
        ready = running + 1.0  # felix readiness

        def to_creating(at: float) -> None:
            if pod.generation == gen and pod.status == "Pending":
                pod.status = "ContainerCreating"
                self.pod_changed(pod)

        def to_running(at: float) -> None:
            if pod.generation != gen:
                return
            if pod.node in self.calico_faulted:  # faulted before it ever ran
                self.stop_calico_node(pod.node, at)
                return
            pod.status = "Running"
            self.pod_changed(pod)

        def to_ready(at: float) -> None:
            if pod.generation == gen and pod.node not in self.calico_faulted:
                pod.ready = True
                self.pod_changed(pod)
                assert pod.node is not None
                self.calico_up(self.nodes[pod.node], at)

        self.sim.at(creating, to_creating)
        self.sim.at(running, to_running)
        self.sim.at(ready, to_ready)

    def calico_up(self, node: NodeRec, t: float) -> None:
        first = node.block is None
        if first:
            node.block = self.names.block(node.name, self.pool)
            # the block's first address is the vxlan.calico tunnel address
            node.allocated.add(int(ipaddress.IPv4Network(node.block).network_address))
        node.calico_running = True
        self.node_changed(node)
        if first:
            self.sim.at(t + 0.5, lambda at, node=node: self._node_ready(node, at))
        # pods that waited for the network on this node can proceed
        for pod in self.live_pods():
            if pod.node == node.name and pod.status == "ContainerCreating" and not pod.host_network:
                self._start_container(pod, t)

    def _node_ready(self, node: NodeRec, t: float) -> None:
        if not node.ready:
            node.ready = True
            self.node_changed(node)
            self._retry_soon(t)

    def _retry(self, t: float) -> None:
        self._retry_pending = False
        self._schedule_pending(t)

    def calico_node_pod(self, node: str) -> PodRec | None:
        for pod in self.pods.values():
            if pod.owner == "calico-node" and pod.node == node and not pod.terminating:
                return pod
        return None

    # -- scheduling and pod start --------------------------------------------------------

    def _schedule_pending(self, t: float) -> None:
        pending = [p for p in self.pods.values() if p.node is None and not p.terminating]
        if not pending:
            return
        pending.sort(key=lambda p: (p.created, p.name))
        # Counted once, then kept as pods are bound: the kubelet's pod limit counts
        # every pod bound to the node (terminating ones until they are gone), the
        # spreading counts the owner's live ones.
        on_node = Counter(p.node for p in self.pods.values() if p.node is not None)
        same = Counter(
            (p.node, p.owner)
            for p in self.pods.values()
            if p.node is not None and not p.terminating
        )
        schedulable = [
            n
            for n in self.nodes.values()
            if n.ready and n.role is not Role.MASTER  # the master's NoSchedule taint
        ]
        for pod in pending:
            candidates = [n for n in schedulable if on_node[n.name] < MAX_PODS]
            if not candidates:
                why = self._unschedulable(on_node)
                if pod.unschedulable != why:
                    pod.unschedulable = why
                    self.pod_changed(pod)
                continue

            def score(node: NodeRec, pod: PodRec = pod) -> tuple[int, int]:
                pref = pod.preference.index(node.name) if node.name in pod.preference else 99
                return (same[(node.name, pod.owner)], pref)

            chosen = min(candidates, key=score)
            pod.node = chosen.name
            pod.unschedulable = ""
            on_node[chosen.name] += 1
            same[(chosen.name, pod.owner)] += 1
            self.pod_changed(pod)
            gen = pod.generation

            def to_creating(at: float, pod: PodRec = pod, gen: int = gen) -> None:
                if pod.generation == gen and pod.status == "Pending":
                    pod.status = "ContainerCreating"
                    self.pod_changed(pod)
                    self._start_container(pod, at)

            self.sim.at(t + 0.3, to_creating)

    def _unschedulable(self, on_node: Counter[str | None]) -> str:
        """The scheduler's message for a pod no node can take, as Kubernetes 1.15 words it."""
        reasons: Counter[str] = Counter()
        for node in self.nodes.values():
            if node.role is Role.MASTER or not node.ready:
                reasons[TAINTED] += 1
            elif on_node[node.name] >= MAX_PODS:
                reasons[TOO_MANY_PODS] += 1
        parts = sorted(f"{count} {reason}" for reason, count in reasons.items())
        return f"0/{len(self.nodes)} nodes are available: {', '.join(parts)}."

    def _retry_soon(self, t: float) -> None:
        if not self._retry_pending:
            self._retry_pending = True
            self.sim.at(t + SCHEDULER_RETRY, self._retry)

    def _image(self, pod: PodRec) -> str:
        return pod.owner or pod.name

    def _start_container(self, pod: PodRec, t: float) -> None:
        """ContainerCreating -> Running once the node's network is there."""
        assert pod.node is not None
        node = self.nodes[pod.node]
        if not pod.host_network and not node.calico_running:
            return  # sandbox creation fails until calico-node runs; retried by _calico_up
        pull = 0.8 if self._image(pod) in node.images else 2.5
        gen = pod.generation

        def to_running(at: float) -> None:
            if pod.generation != gen or pod.status != "ContainerCreating" or pod.terminating:
                return
            if not pod.host_network:
                if not node.calico_running:
                    return
                pod.ip = self._allocate(node)
            node.images.add(self._image(pod))
            pod.status = "Running"
            pod.ready = True
            self.pod_changed(pod)

        self.sim.at(t + pull, to_running)

    def _allocate(self, node: NodeRec) -> str:
        """The node's next free address; Calico claims another block when all are used."""
        assert node.block is not None
        for block in node.blocks:
            net = ipaddress.IPv4Network(block)
            for addr in range(int(net.network_address), int(net.broadcast_address) + 1):
                if addr not in node.allocated:
                    node.allocated.add(addr)
                    return str(ipaddress.IPv4Address(addr))
        # Not the seed's block for this node: a key of its own draws a fresh one.
        extra = self.names.block(f"{node.name}/{len(node.blocks)}", self.pool)
        node.extra_blocks.append(extra)
        self.node_changed(node)
        return self._allocate(node)

    def _release(self, pod: PodRec) -> None:
        if pod.ip and pod.node:
            self.nodes[pod.node].allocated.discard(int(ipaddress.IPv4Address(pod.ip)))

    # -- workload --------------------------------------------------------------------------

    def ensure_workload(self, t: float, wl: DemoWorkload) -> list[str]:
        created: list[str] = []
        if wl.namespace not in self.namespaces:
            self.namespaces.add(wl.namespace)
            created.append(f"namespace/{wl.namespace} created")
        key = (wl.namespace, wl.deployment)
        if key not in self.deployments:
            self.deployments[key] = Deployment(
                wl.namespace,
                wl.deployment,
                1,
                self.names.template_hash(wl.deployment),
                wl.app_label,
            )
            created.append(f"deployment.apps/{wl.deployment} created")
            self._reconcile(self.deployments[key], t)
        if (wl.namespace, wl.service) not in self.services:
            self.services.add((wl.namespace, wl.service))
            created.append(f"service/{wl.service} created")
        return created

    def deployment(self, namespace: str, name: str) -> Deployment:
        dep = self.deployments.get((namespace, name))
        if dep is None:
            raise NotFound(f'deployments.apps "{name}" not found in namespace {namespace}')
        return dep

    def scale(self, t: float, namespace: str, name: str, replicas: int) -> None:
        if replicas < 0:
            raise ValueError("replicas must be >= 0")
        dep = self.deployment(namespace, name)
        dep.replicas = replicas
        self._reconcile(dep, t)

    def deployment_pods(self, dep: Deployment) -> list[PodRec]:
        return [
            p
            for p in self.pods.values()
            if p.namespace == dep.namespace and p.owner == dep.name and not p.terminating
        ]

    def _reconcile(self, dep: Deployment, t: float) -> None:
        """One sync of the deployment's ReplicaSet: at most BURST_REPLICAS pods created or
        deleted, another sync soon while it is not at its size."""
        pods = self.deployment_pods(dep)
        missing = dep.replicas - len(pods)
        for _ in range(min(missing, BURST_REPLICAS)):
            self._add_pod(
                dep.namespace,
                f"{dep.name}-{dep.template_hash}-{self.names.suffix(dep.name)}",
                dep.name,
                t,
                labels=(("app", dep.app_label), ("pod-template-hash", dep.template_hash)),
            )
        if missing < 0:
            # The ReplicaSet controller deletes unscheduled, then not-ready, then newest first.
            pods.sort(key=lambda p: (p.node is not None, p.status == "Running", -p.created, p.name))
            for pod in pods[: min(-missing, BURST_REPLICAS)]:
                self._terminate(pod, t)
        self._schedule_pending(t)
        key = (dep.namespace, dep.name)
        if abs(missing) > BURST_REPLICAS and key not in self._syncing:
            self._syncing.add(key)
            self.sim.at(t + REPLICASET_SYNC, lambda at: self._sync(dep, at))

    def _sync(self, dep: Deployment, t: float) -> None:
        self._syncing.discard((dep.namespace, dep.name))
        if self.deployments.get((dep.namespace, dep.name)) is dep:
            self._reconcile(dep, t)

    def _terminate(self, pod: PodRec, t: float) -> None:
        pod.terminating = True
        pod.deleted = t
        pod.generation += 1
        pod.status = "Terminating"
        self.pod_changed(pod)

        def gone(at: float) -> None:
            self._release(pod)
            self.pods.pop(pod.key, None)
            pod.status = "Terminating"
            self.pod_changed(pod, "DELETED")
            self._retry_soon(at)  # room on the node for a pod that could not be placed

        self.sim.at(t + 1.0, gone)

    # -- faults (calico_node.py) ----------------------------------------------------------------

    def stop_calico_node(self, node_name: str, t: float) -> None:
        """calico-node crashes on the node and keeps crashing (CrashLoopBackOff)."""
        calico_node.crash(self, node_name, t)

    def start_calico_node(self, node_name: str, t: float) -> None:
        calico_node.recover(self, node_name, t)
