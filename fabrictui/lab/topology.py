"""The rehearsal lab's shape: hosts, links and addresses, as pure data.

`reference_topology()` is exactly the lab of LAB.md; `build_topology()` makes larger labs
in the same pattern (see docs/rehearsal-lab.md, "Topology"). Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fabrictui.constants import INVENTORY_FORMAT, POD_POOL, VXLAN_PORT, VXLAN_VNI
from fabrictui.intent.labshape import (
    LabShape,
    ShapeError,
    ShapeHost,
    ShapeLink,
    pattern_shape,
)

__all__ = [
    "BgpNeighbor",
    "LabHost",
    "LabLink",
    "LabTopology",
    "TopologyError",
    "build_topology",
    "inventory",
    "netns_name",
    "netns_prefix",
    "reference_topology",
]

LEAF_UPLINK_BASE = 50  # leaf uplink to spine s is swp(50+s), as on Cumulus

# The hosts, their roles, racks, ASNs and addresses are the shared lab shape's; this module
# adds what only namespaces need (ports, cables to bridge ports).
TopologyError = ShapeError
LabHost = ShapeHost


@dataclass(frozen=True, slots=True)
class LabLink:
    """A point-to-point cable. Fabric links carry a /31 on both ends; server links carry the
    node's address on `b` only (the leaf side is a bridge port)."""

    a: str
    a_port: str
    a_ip: str | None
    b: str
    b_port: str
    b_ip: str | None

    @property
    def is_fabric(self) -> bool:
        return self.a_ip is not None and self.b_ip is not None


@dataclass(frozen=True, slots=True)
class BgpNeighbor:
    """One session as a switch's configuration sees it."""

    port: str
    local_ip: str  # with prefix length
    peer_ip: str  # address only
    peer_name: str
    peer_asn: int


@dataclass(frozen=True, slots=True)
class LabTopology:
    spines: int
    racks: int
    nodes_per_rack: int
    hosts: tuple[LabHost, ...]
    links: tuple[LabLink, ...]

    @property
    def shape(self) -> LabShape:
        """The lab's shape as the checks and the backends read it."""
        return LabShape(
            self.hosts,
            tuple(ShapeLink(ln.a, ln.a_ip, ln.b, ln.b_ip) for ln in self.links if ln.is_fabric),
        )

    def host(self, name: str) -> LabHost:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    @property
    def switches(self) -> tuple[LabHost, ...]:
        return tuple(h for h in self.hosts if h.is_switch)

    @property
    def nodes(self) -> tuple[LabHost, ...]:
        return tuple(h for h in self.hosts if h.is_node)

    @property
    def leaves(self) -> tuple[LabHost, ...]:
        return tuple(h for h in self.hosts if h.role == "leaf")

    def links_of(self, name: str) -> tuple[LabLink, ...]:
        return tuple(link for link in self.links if name in (link.a, link.b))

    def bgp_neighbors(self, name: str) -> tuple[BgpNeighbor, ...]:
        """The eBGP sessions of switch `name`, in port order of its links."""
        out: list[BgpNeighbor] = []
        for link in self.links:
            if not link.is_fabric:
                continue
            if link.a == name:
                port, local, peer, peer_ip = link.a_port, link.a_ip, link.b, link.b_ip
            elif link.b == name:
                port, local, peer, peer_ip = link.b_port, link.b_ip, link.a, link.a_ip
            else:
                continue
            assert local is not None and peer_ip is not None
            peer_asn = self.host(peer).asn
            assert peer_asn is not None
            out.append(BgpNeighbor(port, local, peer_ip.split("/")[0], peer, peer_asn))
        return tuple(out)

    def server_ports(self, leaf: str) -> tuple[LabLink, ...]:
        return tuple(link for link in self.links if link.a == leaf and not link.is_fabric)


def netns_name(lab_id: str, host: str) -> str:
    """Every namespace of a lab starts with `ftl-<lab_id>-`, so cleanup finds them all."""
    return f"{netns_prefix(lab_id)}{host}"


def netns_prefix(lab_id: str) -> str:
    return f"ftl-{lab_id}-"


def reference_topology() -> LabTopology:
    """The lab of LAB.md: two spines, two leaves, the master and four workers."""
    return build_topology(spines=2, racks=2, nodes_per_rack=2)


def build_topology(spines: int = 2, racks: int = 2, nodes_per_rack: int = 2) -> LabTopology:
    """A leaf-spine lab in the reference lab's pattern; rack 1 also holds the master."""
    shape = pattern_shape(spines, racks, nodes_per_rack)
    links: list[LabLink] = []
    for cable in shape.links:  # spine s port swp<r> to leaf r port swp<50+s>
        s = int(cable.a.removeprefix("spine-sw"))
        r = int(cable.b.removeprefix("leaf"))
        links.append(
            LabLink(
                cable.a, f"swp{r}", cable.a_ip, cable.b, f"swp{LEAF_UPLINK_BASE + s}", cable.b_ip
            )
        )
    for leaf in shape.leaves:
        rack_nodes = [n for n in shape.nodes if n.leaf == leaf.name]
        for port, node in enumerate(rack_nodes, start=1):
            links.append(
                LabLink(leaf.name, f"swp{port}", None, node.name, "eth0", f"{node.address}/24")
            )
    return LabTopology(spines, racks, nodes_per_rack, shape.hosts, tuple(links))


def inventory(
    topology: LabTopology,
    lab_id: str,
    ssh_ports: dict[str, int],
    kube_port: int,
    identity_file: str = "keys/id_ed25519",
) -> dict[str, Any]:
    """The `inventory.json` document fabrictui's backends and the lab's API server read."""
    hosts: list[dict[str, Any]] = []
    for host in topology.hosts:
        entry: dict[str, Any] = {"name": host.name, "role": host.role, "rack": host.rack}
        if host.is_switch:
            entry["asn"] = host.asn
            entry["router_id"] = host.router_id
        entry["address"] = host.address
        if host.is_switch:
            entry["platform"] = "frr"
        entry["netns"] = netns_name(lab_id, host.name)
        if host.server_subnet:
            entry["server_subnet"] = host.server_subnet
        if host.leaf:
            entry["leaf"] = host.leaf
            entry["gateway"] = host.gateway
        entry["ssh"] = {
            "host": "127.0.0.1",
            "port": ssh_ports[host.name],
            "user": "root",
            "identity_file": identity_file,
        }
        hosts.append(entry)
    return {
        "format": INVENTORY_FORMAT,
        "name": "rehearsal",
        "kind": "rehearsal",
        "lab_id": lab_id,
        "ssh_config": "ssh_config",
        "known_hosts": "known_hosts",
        "kubeconfig": "kubeconfig",
        "pod_pool": POD_POOL,
        "vni": VXLAN_VNI,
        "vxlan_port": VXLAN_PORT,
        "shape": {
            "spines": topology.spines,
            "racks": topology.racks,
            "nodes_per_rack": topology.nodes_per_rack,
        },
        "hosts": hosts,
        "links": [
            {
                "a": link.a,
                "a_port": link.a_port,
                "a_ip": link.a_ip,
                "b": link.b,
                "b_port": link.b_port,
                "b_ip": link.b_ip,
            }
            for link in topology.links
        ],
        "kube_api": {"host": "127.0.0.1", "port": kube_port},
    }
