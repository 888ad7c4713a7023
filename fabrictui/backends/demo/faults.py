"""Faults the demo lab can inject, as the real lab would suffer them.

- `stop-spine:<spine>`: the spine VM powers off: its summary is unreachable,
  the leaves keep the session until their hold timer expires, then show it
  Idle/Connect/Active; cross-rack traffic uses the other spine.
- `cut-uplink:<leaf>:<spine>`: the link goes down: both ends drop the session
  at once; the leaf's prefixes still reach the other rack via the other spine.
- `shut-session:<leaf>:<spine>`: `neighbor <spine> shutdown` on the leaf: the leaf holds
  the session Idle (Admin), the spine receives a NOTIFICATION (Cease, Administrative
  Shutdown) and retries in Active/Connect; the link and the other uplink stay up.
- `stop-calico-node:<node>`: calico-node crashes and keeps crashing
  (CrashLoopBackOff, restarts growing); the node's pod routes are withdrawn, so
  pings to and from its pods fail.
- `blackhole-pod:<namespace>/<name>`: a blackhole route for the pod's IP:
  pings to it (and replies to it) are dropped.
- `mtu:<host>:<interface>`: the interface's MTU set to 1400 (`ip link set dev X mtu 1400`):
  everything fits but full-size pod packets (1450 + VXLAN's 50): too big to leave by it, a
  DF packet is refused with "frag needed" (VXLAN's outer is fragmented); too big to arrive
  on it, a packet is dropped without a word. Pings of the default size still answer.
- `deny-policy:<namespace>`: a NetworkPolicy `deny-all-ingress` selecting every pod of
  the namespace for ingress with no rule: nothing reaches them (issue 19).
- `service-no-endpoints:<namespace>/<name>`: the Service's selector is changed to a label
  no pod has: its Endpoints empty, a connect to its ClusterIP is refused.
- `dns-down`: CoreDNS scaled to 0 (`kubectl -n kube-system scale deployment coredns
  --replicas=0`): kube-dns has no endpoints and every lookup times out (services/dns.py).
- `drop-service-rule:<node>`: the node's kube-proxy rule for the workload Service's ClusterIP
  deleted (as on the rehearsal lab): connects from its pods to the ClusterIP time out.
- `stop-kubelet:<node>`: the node's kubelet stops: the API marks the node NotReady, every
  condition Unknown ("Kubelet stopped posting node status.") and taints it unreachable.
- `lossy-racks:<leaf>:<leaf>`: the path between two racks drops one frame in five
  (a failing optic): pings between them lose some echoes, the transit table counts the loss.

Clearing a fault undoes it: the spine boots again, the link comes up,
calico-node runs again, the route goes. Sessions re-establish with a fresh
uptime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fabrictui import audit
from fabrictui.backends.base import BackendError, NotFound
from fabrictui.backends.demo import topology as topo
from fabrictui.backends.demo.fabric import Fabric
from fabrictui.backends.demo.kube import KubeSim
from fabrictui.backends.demo.services.dns import COREDNS_REPLICAS, scale_coredns
from fabrictui.backends.demo.services.table import ServiceTable
from fabrictui.backends.demo.tracing import PORTS
from fabrictui.backends.demo.traffic import Traffic
from fabrictui.model import Fault

if TYPE_CHECKING:
    from fabrictui.backends.demo.sim import Simulation

LOSSY_SHARE = 0.2  # of the frames between two lossy racks, dropped
FAULT_MTU = 1400  # an uplink someone left at less than the underlay needs
DENY_ALL = "deny-all-ingress"


def deny_all(namespace: str) -> dict[str, Any]:
    """The deny-policy fault's object, as kubectl would apply it."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": DENY_ALL, "namespace": namespace},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }


class FaultBoard:
    def __init__(
        self, fabric: Fabric, kube: KubeSim, traffic: Traffic, services: ServiceTable | None = None
    ) -> None:
        self.fabric = fabric
        self.kube = kube
        self.traffic = traffic
        self.services = services or ServiceTable(kube)
        self.active: set[str] = set()
        self.exporters_down: dict[str, float] = {}  # switch -> since (backends/demo/telemetry)
        self.node_exporters_down: dict[str, float] = {}  # the same, for its interfaces

    def catalogue(self) -> list[Fault]:
        faults: list[Fault] = []
        for spine in topo.SPINES:
            faults.append(Fault(f"stop-spine:{spine}", f"Stop spine {spine} (power off its VM)"))
        for spec in topo.LINKS:
            faults.append(
                Fault(
                    f"cut-uplink:{spec.leaf}:{spec.spine}",
                    f"Cut uplink {spec.leaf} - {spec.spine} ({spec.leaf_ip} - {spec.spine_ip})",
                )
            )
        for spec in topo.LINKS:
            fid = f"shut-session:{spec.leaf}:{spec.spine}"
            title = f"Shut {spec.leaf}'s BGP session with {spec.spine} (neighbor shutdown)"
            faults.append(Fault(fid, title))
        for node in topo.NODES:
            faults.append(
                Fault(f"stop-calico-node:{node.name}", f"Stop calico-node on {node.name}")
            )
        bgp = getattr(self.traffic, "bgp", None)
        if bgp is not None and bgp.backend == "bird":  # BGP mode: calico-node runs BIRD
            for node in topo.NODES:
                title = f"Stop BIRD in calico-node on {node.name} (BGP mode)"
                faults.append(Fault(f"stop-bird:{node.name}", title))
        for leaf, spine in sorted((s.leaf, s.spine) for s in topo.LINKS):
            port = PORTS[(leaf, spine)]
            title = f"MTU {FAULT_MTU} on {leaf} {port} (uplink to {spine}; ECMP: some flows)"
            faults.append(Fault(f"mtu:{leaf}:{port}", title))
        for node in topo.NODES:
            port = PORTS[(node.leaf, node.name)]
            title = f"MTU {FAULT_MTU} on {node.leaf} {port} (the port facing {node.name})"
            faults.append(Fault(f"mtu:{node.leaf}:{port}", title))
        pods = sorted(
            p.key
            for p in self.kube.pods.values()
            if p.namespace != "kube-system" and not p.host_network and not p.terminating
        )
        keys = sorted(
            set(pods)
            | {f[len("blackhole-pod:") :] for f in self.active if f.startswith("blackhole-pod:")}
        )
        for key in keys:
            faults.append(Fault(f"blackhole-pod:{key}", f"Black-hole pod {key}"))
        spaces = sorted({key.split("/")[0] for key in pods} | {"space1"})
        for space in spaces:
            faults.append(Fault(f"deny-policy:{space}", f"Deny all ingress in {space} (policy)"))
        for node in topo.NODES:
            faults.append(Fault(f"stop-kubelet:{node.name}", f"Stop kubelet on {node.name}"))
        leaves = sorted({spec.leaf for spec in topo.LINKS})
        for i, a in enumerate(leaves):
            for b in leaves[i + 1 :]:
                title = f"Lossy path between racks of {a} and {b} (1 frame in 5 dropped)"
                faults.append(Fault(f"lossy-racks:{a}:{b}", title))
        for ns, name in sorted(self.kube.services):
            fid = f"service-no-endpoints:{ns}/{name}"
            faults.append(Fault(fid, f"Service {ns}/{name} selects no pod (selector changed)"))
        faults.append(Fault("dns-down", "CoreDNS scaled to 0 (cluster DNS down)"))
        if self.kube.services:
            wl = self.services.workload
            for node in topo.NODES:
                title = f"Drop kube-proxy's rule for {wl.service} on {node.name}"
                faults.append(Fault(f"drop-service-rule:{node.name}", title))
        for switch in (*topo.SPINES, *topo.LEAVES):
            title = f"Stop {switch}'s frr exporter (the fabric read from Prometheus)"
            faults.append(Fault(f"exporter-down:{switch}", title))
            title = f"Stop {switch}'s node exporter (its interfaces read from Prometheus)"
            faults.append(Fault(f"node-exporter-down:{switch}", title))
        return [Fault(f.id, f.title, active=f.id in self.active) for f in faults]

    def set(self, fault_id: str, active: bool, t: float) -> None:
        kind, _, arg = fault_id.partition(":")
        if kind == "stop-spine":
            if arg not in topo.SPINES:
                raise NotFound(f"{fault_id}: no spine named {arg!r}")
            self.fabric.set_spine(arg, not active, t)
        elif kind == "cut-uplink":
            leaf, _, spine = arg.partition(":")
            if (leaf, spine) not in self.fabric.sessions:
                raise NotFound(f"{fault_id}: no uplink between {leaf!r} and {spine!r}")
            self.fabric.set_link(leaf, spine, not active, t)
        elif kind == "shut-session":
            leaf, _, spine = arg.partition(":")
            if (leaf, spine) not in self.fabric.sessions:
                raise NotFound(f"{fault_id}: no session between {leaf!r} and {spine!r}")
            self.fabric.set_admin(leaf, spine, active, t)
        elif kind == "stop-calico-node":
            if arg not in topo.NODE_BY_NAME:
                raise NotFound(f"{fault_id}: no node named {arg!r}")
            if active and fault_id not in self.active:
                self.kube.stop_calico_node(arg, t)
            elif not active and fault_id in self.active:
                self.kube.start_calico_node(arg, t)
        elif kind == "stop-bird":
            bgp = getattr(self.traffic, "bgp", None)
            if arg not in topo.NODE_BY_NAME or bgp is None:
                raise NotFound(f"{fault_id}: no node named {arg!r} with BIRD")
            bgp.set_bird(arg, not active, t)
            pod = self.kube.calico_node_pod(arg)
            if pod is not None and pod.status == "Running":
                pod.ready = not active  # its readiness probe (-bird-ready) fails, then passes
                self.kube.pod_changed(pod)
        elif kind == "blackhole-pod":
            namespace, _, name = arg.partition("/")
            if active:
                self.kube.pod(namespace, name)  # NotFound when there is no such pod
                self.traffic.blackholed.add(arg)
            else:
                self.traffic.blackholed.discard(arg)
        elif kind == "mtu":
            host, _, port = arg.partition(":")
            known = {p for (h, _), p in PORTS.items() if h == host}
            if host in topo.NODE_BY_NAME:
                known.add("eth0")
            if port not in known:
                raise NotFound(f"{fault_id}: {host!r} has no interface {port!r}")
            if active:
                self.traffic.tracer.mtus[(host, port)] = FAULT_MTU
            else:
                self.traffic.tracer.mtus.pop((host, port), None)
        elif kind == "deny-policy":
            if not arg:
                raise NotFound(f"{fault_id}: no namespace named")
            if active:
                self.traffic.policies[f"{arg}/{DENY_ALL}"] = deny_all(arg)
            else:
                self.traffic.policies.pop(f"{arg}/{DENY_ALL}", None)
        elif kind == "service-no-endpoints":
            self.services.set_broken(arg, active)
        elif kind == "dns-down":
            scale_coredns(self.kube, 0 if active else COREDNS_REPLICAS, t)
        elif kind == "drop-service-rule":
            self.services.set_dropped(arg, active)
        elif kind == "stop-kubelet":
            node = self.kube.nodes.get(arg)
            if node is None:
                raise NotFound(f"{fault_id}: no node named {arg!r}")
            node.ready = not active
            node.kubelet_stopped = active
            self.kube.node_changed(node)
        elif kind == "lossy-racks":
            pair = tuple(sorted(arg.split(":")))
            if len(pair) != 2 or not all(p in {s.leaf for s in topo.LINKS} for p in pair):
                raise NotFound(f"{fault_id}: two leaves are needed (lossy-racks:leaf1:leaf2)")
            if active:
                self.traffic.lossy[pair] = LOSSY_SHARE  # type: ignore[index]
            else:
                self.traffic.lossy.pop(pair, None)  # type: ignore[arg-type]
        elif kind in ("exporter-down", "node-exporter-down"):
            if arg not in (*topo.SPINES, *topo.LEAVES):
                raise NotFound(f"{fault_id}: no switch named {arg!r}")
            down = self.exporters_down if kind == "exporter-down" else self.node_exporters_down
            if active:
                down.setdefault(arg, t)
            else:
                down.pop(arg, None)
        else:
            raise BackendError(f"unknown fault {fault_id!r}")
        if active:
            self.active.add(fault_id)
        else:
            self.active.discard(fault_id)


class DemoFaultCalls:
    """The LabBackend calls of the fault palette, mixed into DemoBackend (which owns the
    board and the clock)."""

    faultboard: FaultBoard
    sim: Simulation

    if TYPE_CHECKING:  # DemoBackend's

        def _ensure_driver(self) -> None: ...

        def _now(self) -> float: ...

    def faults(self) -> list[Fault]:
        return self.faultboard.catalogue()

    def inject_fault(self, fault_id: str) -> None:
        """A fault in place from the start (`--demo-fault`), before any driver runs."""
        audit.record_call(f"demo: inject fault {fault_id}")
        self.faultboard.set(fault_id, True, self.sim.now())

    async def set_fault(self, fault_id: str, active: bool) -> None:
        self._ensure_driver()
        audit.record_call(f"demo: {'inject' if active else 'clear'} fault {fault_id}")
        self.faultboard.set(fault_id, active, self._now())
