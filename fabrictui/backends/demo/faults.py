"""Faults the demo lab can inject, as the real lab would suffer them.

- `stop-spine:<spine>`: the spine VM powers off: its summary is unreachable,
  the leaves keep the session until their hold timer expires, then show it
  Idle/Connect/Active; cross-rack traffic uses the other spine.
- `cut-uplink:<leaf>:<spine>`: the link goes down: both ends drop the session
  at once; the leaf's prefixes still reach the other rack via the other spine.
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

Clearing a fault undoes it: the spine boots again, the link comes up,
calico-node runs again, the route goes. Sessions re-establish with a fresh
uptime.
"""

from __future__ import annotations

from typing import Any

from fabrictui.backends.base import BackendError, NotFound
from fabrictui.backends.demo import topology as topo
from fabrictui.backends.demo.fabric import Fabric
from fabrictui.backends.demo.kube import KubeSim
from fabrictui.backends.demo.services.table import ServiceTable
from fabrictui.backends.demo.tracing import PORTS
from fabrictui.backends.demo.traffic import Traffic
from fabrictui.model import Fault

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
        for node in topo.NODES:
            faults.append(
                Fault(f"stop-calico-node:{node.name}", f"Stop calico-node on {node.name}")
            )
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
        for ns, name in sorted(self.kube.services):
            fid = f"service-no-endpoints:{ns}/{name}"
            faults.append(Fault(fid, f"Service {ns}/{name} selects no pod (selector changed)"))
        for switch in (*topo.SPINES, *topo.LEAVES):
            title = f"Stop {switch}'s frr exporter (the fabric read from Prometheus)"
            faults.append(Fault(f"exporter-down:{switch}", title))
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
        elif kind == "stop-calico-node":
            if arg not in topo.NODE_BY_NAME:
                raise NotFound(f"{fault_id}: no node named {arg!r}")
            if active and fault_id not in self.active:
                self.kube.stop_calico_node(arg, t)
            elif not active and fault_id in self.active:
                self.kube.start_calico_node(arg, t)
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
        elif kind == "exporter-down":
            if arg not in (*topo.SPINES, *topo.LEAVES):
                raise NotFound(f"{fault_id}: no switch named {arg!r}")
            if active:
                self.exporters_down.setdefault(arg, t)
            else:
                self.exporters_down.pop(arg, None)
        else:
            raise BackendError(f"unknown fault {fault_id!r}")
        if active:
            self.active.add(fault_id)
        else:
            self.active.discard(fault_id)
