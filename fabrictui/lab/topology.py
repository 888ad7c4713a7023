"""The rehearsal lab's shape: hosts, links and addresses, as pure data.

`reference_topology()` is exactly the lab of LAB.md; `build_topology()` makes larger labs
in the same pattern (see docs/rehearsal-lab.md, "Topology"). Nothing here does I/O.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Literal

LabRole = Literal["spine", "leaf", "master", "worker"]

SPINE_ASN_BASE = 65000
LEAF_ASN_BASE = 65100
LINK_POOL = ipaddress.IPv4Network("172.16.0.0/16")
ROUTER_ID_NET = "172.16.255"
MASTER_NAME = "k8s-master-l1-1"
LEAF_UPLINK_BASE = 50  # leaf uplink to spine s is swp(50+s), as on Cumulus
MAX_SPINES = 49
MAX_RACKS = 99
MAX_NODES_PER_RACK = 49

INVENTORY_FORMAT = "fabrictui-inventory/1"
POD_POOL = "10.64.0.0/12"
VNI = 4096
VXLAN_PORT = 4789


class TopologyError(ValueError):
    """A lab shape outside what the addressing pattern can express."""


@dataclass(frozen=True, slots=True)
class LabHost:
    name: str
    role: LabRole
    rack: int | None
    address: str  # router-id for switches, eth0 address for nodes
    asn: int | None = None
    router_id: str | None = None
    server_subnet: str | None = None  # leaves: the rack's /24
    gateway: str | None = None  # leaves: their .1 on br0; nodes: their default gateway
    leaf: str | None = None  # nodes: the leaf of their rack

    @property
    def is_switch(self) -> bool:
        return self.role in ("spine", "leaf")

    @property
    def is_node(self) -> bool:
        return self.role in ("master", "worker")


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
    _check_shape(spines, racks, nodes_per_rack)
    hosts: list[LabHost] = []
    links: list[LabLink] = []
    for s in range(1, spines + 1):
        rid = f"{ROUTER_ID_NET}.{s}"
        hosts.append(
            LabHost(
                name=f"spine-sw{s}",
                role="spine",
                rack=None,
                address=rid,
                asn=SPINE_ASN_BASE + s,
                router_id=rid,
            )
        )
    for r in range(1, racks + 1):
        rid = f"{ROUTER_ID_NET}.{100 + r}"
        subnet = f"10.0.{100 + r}.0/24"
        hosts.append(
            LabHost(
                name=f"leaf{r}",
                role="leaf",
                rack=r,
                address=rid,
                asn=LEAF_ASN_BASE + r,
                router_id=rid,
                server_subnet=subnet,
                gateway=f"10.0.{100 + r}.1",
            )
        )
    for s in range(1, spines + 1):
        for r in range(1, racks + 1):
            index = (s - 1) * racks + (r - 1)
            base = LINK_POOL.network_address + 2 * index
            links.append(
                LabLink(
                    a=f"spine-sw{s}",
                    a_port=f"swp{r}",
                    a_ip=f"{base}/31",
                    b=f"leaf{r}",
                    b_port=f"swp{LEAF_UPLINK_BASE + s}",
                    b_ip=f"{base + 1}/31",
                )
            )
    for r in range(1, racks + 1):
        leaf = f"leaf{r}"
        gateway = f"10.0.{100 + r}.1"
        rack_nodes: list[LabHost] = []
        if r == 1:
            rack_nodes.append(
                LabHost(MASTER_NAME, "master", 1, "10.0.101.100", gateway=gateway, leaf=leaf)
            )
        for i in range(1, nodes_per_rack + 1):
            rack_nodes.append(
                LabHost(
                    f"k8s-node-l{r}-{i}",
                    "worker",
                    r,
                    f"10.0.{100 + r}.{100 + i}",
                    gateway=gateway,
                    leaf=leaf,
                )
            )
        for port, node in enumerate(rack_nodes, start=1):
            hosts.append(node)
            links.append(LabLink(leaf, f"swp{port}", None, node.name, "eth0", f"{node.address}/24"))
    return LabTopology(spines, racks, nodes_per_rack, tuple(hosts), tuple(links))


def _check_shape(spines: int, racks: int, nodes_per_rack: int) -> None:
    if not 1 <= spines <= MAX_SPINES:
        raise TopologyError(f"spines must be 1..{MAX_SPINES} (got {spines})")
    if not 1 <= racks <= MAX_RACKS:
        raise TopologyError(f"racks must be 1..{MAX_RACKS} (got {racks})")
    if not 0 <= nodes_per_rack <= MAX_NODES_PER_RACK:
        raise TopologyError(
            f"nodes per rack must be 0..{MAX_NODES_PER_RACK} (got {nodes_per_rack})"
        )
    # with N <= 99 and K <= 49 the /31s stay well inside 172.16.0.0/16 and below the
    # router-id /24 (172.16.255.0): at most 4851 links use 172.16.0.0 - 172.16.37.229


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
        "vni": VNI,
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
