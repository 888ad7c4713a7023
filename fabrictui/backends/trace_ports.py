"""What a path trace needs to know about a lab's wiring, for every kind of lab.

- `conventional_ports`: the interface each host uses towards each neighbour, in the Cumulus
  VX convention the reference lab and the rehearsal lab follow (a lab whose inventory lists
  its ports uses those instead);
- `calico_veth`: the host-side interface of a pod, as Calico's CNI plugin names it;
- `TRACE_READS`: the state reads a trace may ask a host for, and the command each runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from fabrictui.constants import VXLAN_DEVICE
from fabrictui.intent.labshape import LabShape

Ports = Mapping[tuple[str, str], str]  # (host, neighbour) -> the host's interface facing it
DEFAULT_NODE_UPLINK = "eth0"
LEAF_UPLINK_BASE = 50  # Cumulus: leaf uplinks are swp51, swp52, ...


def calico_veth(namespace: str, pod: str) -> str:
    """`cali` + 11 hex digits of SHA-1 of `namespace.pod`: Calico's CNI plugin's rule (the
    rehearsal lab names its veths by the same rule)."""
    return "cali" + hashlib.sha1(f"{namespace}.{pod}".encode()).hexdigest()[:11]


def conventional_ports(
    shape: LabShape, leaf_uplink_base: int = LEAF_UPLINK_BASE
) -> dict[tuple[str, str], str]:
    """Spine port swp<r> to the leaf of rack r, leaf uplink swp<base+s> to the s-th spine,
    leaf port swp<i> to the i-th node of its rack, node uplink eth0."""
    ports: dict[tuple[str, str], str] = {}
    for s_index, spine in enumerate(shape.spines, start=1):
        for leaf in shape.leaves:
            if leaf.rack is None:
                continue
            ports[(spine.name, leaf.name)] = f"swp{leaf.rack}"
            ports[(leaf.name, spine.name)] = f"swp{leaf_uplink_base + s_index}"
    for leaf in shape.leaves:
        rack_nodes = [n for n in shape.nodes if shape.leaf_of(n.name) == leaf.name]
        for port, node in enumerate(rack_nodes, start=1):
            ports[(leaf.name, node.name)] = f"swp{port}"
            ports[(node.name, leaf.name)] = DEFAULT_NODE_UPLINK
    return ports


def inventory_ports(links: list[dict[str, object]]) -> dict[tuple[str, str], str]:
    """The ports an inventory's `links` name (`a`, `a_port`, `b`, `b_port`)."""
    ports: dict[tuple[str, str], str] = {}
    for link in links:
        a, b = link.get("a"), link.get("b")
        a_port, b_port = link.get("a_port"), link.get("b_port")
        if isinstance(a, str) and isinstance(b, str):
            if isinstance(a_port, str) and a_port:
                ports[(a, b)] = a_port
            if isinstance(b_port, str) and b_port:
                ports[(b, a)] = b_port
    return ports


# read -> (argv on a node, argv on a switch); "{arg}" is replaced by the read's argument.
# Switch routes come from FRR's RIB in JSON (Cumulus and plain FRR print the same).
TRACE_READS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "route": (("ip", "route", "get", "{arg}"), ("vtysh", "-c", "show ip route {arg} json")),
    "routes": (("ip", "route", "show", "match", "{arg}"), ()),
    "neigh": (("ip", "neigh", "show", "dev", VXLAN_DEVICE), ()),
    "fdb": (("bridge", "fdb", "show", "dev", VXLAN_DEVICE), ()),
    "links": (("ip", "-br", "link"), ("ip", "-br", "link")),
    "mtus": (("ip", "-o", "link"), ("ip", "-o", "link")),  # the path MTU check's reads
    "bgp": ((), ("vtysh", "-c", "show bgp summary json")),
    # the filter table with counters: network policy's rules (actions/policy/counters.py)
    "filter": (("iptables-save", "-c", "-t", "filter"), ()),
    "nat": (("iptables-save", "-t", "nat"), ()),  # kube-proxy's rules (services check)
}


def read_argv(read: str, arg: str, on_switch: bool) -> list[str]:
    """The command of one state read on a node or a switch; [] when it has none there."""
    if read not in TRACE_READS:
        raise ValueError(f"unknown trace read {read!r}")
    template = TRACE_READS[read][1 if on_switch else 0]
    return [part.replace("{arg}", arg) for part in template]
