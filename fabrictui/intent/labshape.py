"""The lab's shape: who is a spine, a leaf or a node, in which rack, with which AS number
and addresses, and which BGP sessions a healthy fabric has.

One model for every lab: the demo lab and the rehearsal lab build theirs from
`pattern_shape()` (LAB.md's addressing pattern, any size), a real lab makes one from its
inventory or Vagrant hosts with `LabShape.of()`, and the checks read the same rules
(`expected_sessions`, `same_rack`). Pure data: no I/O, no Textual.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from fabrictui.model import Role

# LAB.md's addressing pattern: spine s is AS 65000+s, leaf r AS 65100+r (seed); router ids
# 172.16.255.s and 172.16.255.(100+r) (seed for leaves); fabric /31s from 172.16.0.0/16 with
# the spine on the even address (seed); rack r's servers in 10.0.(100+r).0/24, the leaf's
# bridge on .1, the master .100 and worker i .(100+i) (seed for l1-2 and l2-1, assumed else).
SPINE_ASN_BASE = 65000
LEAF_ASN_BASE = 65100
LINK_POOL = ipaddress.IPv4Network("172.16.0.0/16")
ROUTER_ID_NET = "172.16.255"
MASTER_NAME = "k8s-master-l1-1"
MAX_SPINES = 49
MAX_RACKS = 99
MAX_NODES_PER_RACK = 49


class ShapeError(ValueError):
    """A lab shape outside what the addressing pattern can express."""


@dataclass(frozen=True, slots=True)
class ShapeHost:
    """One host of the lab and where it sits."""

    name: str
    role: Role
    rack: int | None  # None: a spine, or a host whose rack is not known
    address: str | None  # router id for switches, eth0 address for nodes
    asn: int | None = None
    router_id: str | None = None
    server_subnet: str | None = None  # leaves: the rack's /24
    gateway: str | None = None  # leaves: their .1 on the server bridge; nodes: their gateway
    leaf: str | None = None  # nodes: the leaf of their rack

    @property
    def is_switch(self) -> bool:
        return self.role.is_switch

    @property
    def is_node(self) -> bool:
        return self.role.is_k8s


@dataclass(frozen=True, slots=True)
class ShapeLink:
    """A cable with an address on either end (None where the end has none, such as a
    leaf's bridge port). Addresses may carry their prefix length (`172.16.0.0/31`)."""

    a: str
    a_ip: str | None
    b: str
    b_ip: str | None

    @property
    def is_fabric(self) -> bool:
        return self.a_ip is not None and self.b_ip is not None


class _HostLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> Role: ...
    @property
    def rack(self) -> int | None: ...
    @property
    def address(self) -> str | None: ...
    @property
    def asn(self) -> int | None: ...


def same_rack(rack_a: int | None, rack_b: int | None) -> bool:
    """The one rule: two racks are the same only when both are known and equal. An unknown
    rack is never "same rack", so a lab without rack data shows every pair as crossing."""
    return rack_a is not None and rack_a == rack_b


def expected_sessions(hosts: Iterable[_HostLike]) -> tuple[tuple[str, str], ...]:
    """Every (leaf, spine) pair, in the order the hosts come: the eBGP sessions a healthy
    leaf-spine fabric has (LAB.md: eBGP runs only between leaves and spines)."""
    listed = list(hosts)
    leaves = [h.name for h in listed if h.role is Role.LEAF]
    spines = [h.name for h in listed if h.role is Role.SPINE]
    return tuple((leaf, spine) for leaf in leaves for spine in spines)


@dataclass(frozen=True, slots=True)
class LabShape:
    hosts: tuple[ShapeHost, ...]
    links: tuple[ShapeLink, ...] = ()

    @classmethod
    def of(cls, hosts: Iterable[_HostLike], links: Iterable[Mapping[str, Any]] = ()) -> LabShape:
        """The shape of a lab known from its host list (inventory, Vagrant, the model's
        `Host`s) and optionally its inventory's `links` entries (`a`, `a_ip`, `b`, `b_ip`)."""
        shaped = tuple(
            ShapeHost(h.name, h.role, h.rack, h.address, h.asn, leaf=getattr(h, "leaf", None))
            for h in hosts
        )
        cables = []
        for link in links:
            a, b = link.get("a"), link.get("b")
            if not isinstance(a, str) or not isinstance(b, str):
                continue
            a_ip, b_ip = link.get("a_ip"), link.get("b_ip")
            cables.append(
                ShapeLink(
                    a,
                    a_ip if isinstance(a_ip, str) and a_ip else None,
                    b,
                    b_ip if isinstance(b_ip, str) and b_ip else None,
                )
            )
        return cls(shaped, tuple(cables))

    def host(self, name: str) -> ShapeHost | None:
        return next((h for h in self.hosts if h.name == name), None)

    @property
    def spines(self) -> tuple[ShapeHost, ...]:
        return tuple(h for h in self.hosts if h.role is Role.SPINE)

    @property
    def leaves(self) -> tuple[ShapeHost, ...]:
        return tuple(h for h in self.hosts if h.role is Role.LEAF)

    @property
    def switches(self) -> tuple[ShapeHost, ...]:
        return tuple(h for h in self.hosts if h.is_switch)

    @property
    def nodes(self) -> tuple[ShapeHost, ...]:
        return tuple(h for h in self.hosts if h.is_node)

    def rack_of(self, name: str | None) -> int | None:
        host = self.host(name) if name else None
        return host.rack if host else None

    def leaf_of_rack(self, rack: int | None) -> str | None:
        if rack is None:
            return None
        return next((h.name for h in self.leaves if h.rack == rack), None)

    def leaf_of(self, name: str) -> str | None:
        """The leaf a node hangs off: as listed, else its rack's leaf."""
        host = self.host(name)
        if host is None:
            return None
        return host.leaf or self.leaf_of_rack(host.rack)

    def same_rack(self, a: str | None, b: str | None) -> bool:
        """Hosts `a` and `b` (by name) in one known rack."""
        return same_rack(self.rack_of(a), self.rack_of(b))

    def expected_sessions(self) -> tuple[tuple[str, str], ...]:
        return expected_sessions(self.hosts)

    def peer_addresses(self) -> tuple[tuple[str, str], ...]:
        """(address, host that owns it) for every host and link address, by address: what
        names a BGP neighbor that a switch lists without a hostname."""
        owners: dict[str, str] = {}
        for host in self.hosts:
            if host.address:
                owners[host.address] = host.name
        for link in self.links:
            for ip, owner in ((link.a_ip, link.a), (link.b_ip, link.b)):
                if ip:
                    owners[ip.split("/")[0]] = owner
        return tuple(sorted(owners.items()))


def pattern_shape(spines: int = 2, racks: int = 2, nodes_per_rack: int = 2) -> LabShape:
    """A leaf-spine lab in LAB.md's pattern; rack 1 also holds the master. `pattern_shape()`
    is exactly the reference lab of LAB.md."""
    check_pattern(spines, racks, nodes_per_rack)
    hosts: list[ShapeHost] = []
    links: list[ShapeLink] = []
    for s in range(1, spines + 1):
        rid = f"{ROUTER_ID_NET}.{s}"
        hosts.append(ShapeHost(f"spine-sw{s}", Role.SPINE, None, rid, SPINE_ASN_BASE + s, rid))
    for r in range(1, racks + 1):
        rid = f"{ROUTER_ID_NET}.{100 + r}"
        hosts.append(
            ShapeHost(
                f"leaf{r}",
                Role.LEAF,
                r,
                rid,
                LEAF_ASN_BASE + r,
                rid,
                server_subnet=f"10.0.{100 + r}.0/24",
                gateway=f"10.0.{100 + r}.1",
            )
        )
    for s in range(1, spines + 1):
        for r in range(1, racks + 1):
            base = LINK_POOL.network_address + 2 * ((s - 1) * racks + (r - 1))
            links.append(ShapeLink(f"spine-sw{s}", f"{base}/31", f"leaf{r}", f"{base + 1}/31"))
    for r in range(1, racks + 1):
        leaf, gateway = f"leaf{r}", f"10.0.{100 + r}.1"
        if r == 1:
            hosts.append(
                ShapeHost(MASTER_NAME, Role.MASTER, 1, "10.0.101.100", gateway=gateway, leaf=leaf)
            )
        for i in range(1, nodes_per_rack + 1):
            hosts.append(
                ShapeHost(
                    f"k8s-node-l{r}-{i}",
                    Role.WORKER,
                    r,
                    f"10.0.{100 + r}.{100 + i}",
                    gateway=gateway,
                    leaf=leaf,
                )
            )
    return LabShape(tuple(hosts), tuple(links))


def check_pattern(spines: int, racks: int, nodes_per_rack: int) -> None:
    if not 1 <= spines <= MAX_SPINES:
        raise ShapeError(f"spines must be 1..{MAX_SPINES} (got {spines})")
    if not 1 <= racks <= MAX_RACKS:
        raise ShapeError(f"racks must be 1..{MAX_RACKS} (got {racks})")
    if not 0 <= nodes_per_rack <= MAX_NODES_PER_RACK:
        raise ShapeError(f"nodes per rack must be 0..{MAX_NODES_PER_RACK} (got {nodes_per_rack})")
    # with N <= 99 and K <= 49 the /31s stay well inside 172.16.0.0/16 and below the
    # router-id /24 (172.16.255.0): at most 4851 links use 172.16.0.0 - 172.16.37.229


# --- Scenario 2: Calico peering with the leaves over BGP (LAB.md "Scenario 2") ---------
#
# Design decision (LAB.md's AS point): every node gets an AS of its own, derived from its
# address in the 4-byte private range: 10.0.101.102 -> 4200101102. Nodes of one rack then
# never see their own AS in each other's paths (BGP loop prevention would drop same-rack
# blocks if a rack shared one AS), and no `allowas-in` / `numAllowedLocalASNumbers` is
# needed. Each node peers with its rack's leaf at the leaf's server-bridge address; the
# leaf accepts the rack's subnet as a `bgp listen range` (dynamic neighbours).
NODE_ASN_BASE = 4_200_000_000
BGP_PEER_GROUP = "calico"  # the leaves' peer group for their rack's nodes


def node_asn(address: str | None) -> int | None:
    """The node's own AS in BGP mode, from its IPv4 address (x.x.C.D -> 4200000000 +
    C*1000 + D), or None without an address."""
    if not address:
        return None
    try:
        octets = ipaddress.IPv4Address(address).packed
    except ValueError:
        return None
    return NODE_ASN_BASE + octets[2] * 1000 + octets[3]


@dataclass(frozen=True, slots=True)
class NodePeering:
    """One node's eBGP session with its rack's leaf in BGP mode."""

    leaf: str
    node: str
    node_address: str
    node_asn: int
    leaf_address: str  # the leaf's address on the rack's server subnet (BGPPeer peerIP)
    leaf_asn: int | None
    listen_range: str  # the rack's subnet, accepted by the leaf as dynamic neighbours


def node_peerings(shape: LabShape) -> tuple[NodePeering, ...]:
    """Every node's session with its leaf in BGP mode, in the shape's node order; nodes
    whose leaf, address or the leaf's server subnet are unknown are left out."""
    peerings = []
    for node in shape.nodes:
        leaf = shape.host(shape.leaf_of(node.name) or "")
        asn = node_asn(node.address)
        if leaf is None or node.address is None or asn is None:
            continue
        subnet = leaf.server_subnet or _subnet_of(node.address)
        gateway = leaf.gateway or node.gateway or _first_host(subnet)
        peerings.append(
            NodePeering(leaf.name, node.name, node.address, asn, gateway, leaf.asn, subnet)
        )
    return tuple(peerings)


def bgp_expected_sessions(shape: LabShape) -> tuple[tuple[str, str], ...]:
    """The sessions of a healthy lab in BGP mode: every leaf-spine pair, then every
    (leaf, node) peering."""
    return (*shape.expected_sessions(), *((p.leaf, p.node) for p in node_peerings(shape)))


def _subnet_of(address: str) -> str:
    return str(ipaddress.IPv4Network(f"{address}/24", strict=False))


def _first_host(subnet: str) -> str:
    return str(ipaddress.IPv4Network(subnet).network_address + 1)
