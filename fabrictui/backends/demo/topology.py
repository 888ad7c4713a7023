"""The reference lab of LAB.md as static data: who is where, with which
addresses. Values marked *(seed)* in LAB.md are copied; the rest follow the
same pattern (documented in LAB.md as *(assumed)*).

Routing note: spines originate their loopback (172.16.255.1/32, .2/32,
assumed), leaves their loopback and server subnet. With eBGP best-path
tie-breaking on the lowest router id, that reproduces the seed's prefix
counts exactly (leaf1 receives 3 from each spine, leaf2 receives 4).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from fabrictui.model import Role

KUBE_VERSION = "v1.15.2"
DOMAIN = "lab.local"
VNI = 4096
VXLAN_PORT = 4789
POD_POOL = "10.64.0.0/12"
SERVICE_RANGE = "10.80.0.0/12"

# BGP timers as Cumulus ships them (keepalive 3 s, hold 9 s, connect-retry 10 s).
KEEPALIVE = 3.0
HOLD_TIME = 9.0
CONNECT_RETRY = 10.0


@dataclass(frozen=True, slots=True)
class SwitchSpec:
    name: str
    role: Role
    asn: int
    router_id: str
    rack: int | None
    originated: tuple[str, ...]
    ssh_port: int


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """One leaf-spine /31: the spine holds the even address."""

    leaf: str
    spine: str
    leaf_ip: str
    spine_ip: str


@dataclass(frozen=True, slots=True)
class NodeSpec:
    name: str
    role: Role
    rack: int
    ip: str
    mac: str
    ssh_port: int

    @property
    def leaf(self) -> str:
        return f"leaf{self.rack}"


def _virtualbox_mac(name: str) -> str:
    """A VirtualBox-style MAC (OUI 08:00:27) derived from the host name."""
    digest = hashlib.sha1(f"eth0:{name}".encode()).digest()
    return "08:00:27:" + ":".join(f"{b:02x}" for b in digest[:3])


# Vagrant forwards the first machine's SSH to 2222, later ones (auto_correct)
# to 2200, 2201, ...
SWITCHES: tuple[SwitchSpec, ...] = (
    SwitchSpec("spine-sw1", Role.SPINE, 65001, "172.16.255.1", None, ("172.16.255.1/32",), 2222),
    SwitchSpec("spine-sw2", Role.SPINE, 65002, "172.16.255.2", None, ("172.16.255.2/32",), 2200),
    SwitchSpec(
        "leaf1", Role.LEAF, 65101, "172.16.255.101", 1, ("10.0.101.0/24", "172.16.255.101/32"), 2201
    ),
    SwitchSpec(
        "leaf2", Role.LEAF, 65102, "172.16.255.102", 2, ("10.0.102.0/24", "172.16.255.102/32"), 2202
    ),
)

LINKS: tuple[LinkSpec, ...] = (
    LinkSpec("leaf1", "spine-sw1", "172.16.0.1", "172.16.0.0"),
    LinkSpec("leaf2", "spine-sw1", "172.16.0.3", "172.16.0.2"),
    LinkSpec("leaf1", "spine-sw2", "172.16.0.5", "172.16.0.4"),
    LinkSpec("leaf2", "spine-sw2", "172.16.0.7", "172.16.0.6"),
)

_SEED_MACS = {"k8s-node-l2-1": "08:00:27:53:73:c7", "k8s-node-l1-2": "08:00:27:91:d4:66"}


def _node(name: str, role: Role, rack: int, ip: str, port: int) -> NodeSpec:
    return NodeSpec(name, role, rack, ip, _SEED_MACS.get(name) or _virtualbox_mac(name), port)


NODES: tuple[NodeSpec, ...] = (
    _node("k8s-master-l1-1", Role.MASTER, 1, "10.0.101.100", 2203),
    _node("k8s-node-l1-1", Role.WORKER, 1, "10.0.101.101", 2204),
    _node("k8s-node-l1-2", Role.WORKER, 1, "10.0.101.102", 2205),
    _node("k8s-node-l2-1", Role.WORKER, 2, "10.0.102.101", 2206),
    _node("k8s-node-l2-2", Role.WORKER, 2, "10.0.102.102", 2207),
)

SWITCH_BY_NAME = {s.name: s for s in SWITCHES}
NODE_BY_NAME = {n.name: n for n in NODES}
NODE_BY_IP = {n.ip: n for n in NODES}
SPINES = tuple(s.name for s in SWITCHES if s.role is Role.SPINE)
LEAVES = tuple(s.name for s in SWITCHES if s.role is Role.LEAF)
WORKERS = tuple(n.name for n in NODES if n.role is Role.WORKER)
MASTER = NODES[0].name


def link(leaf: str, spine: str) -> LinkSpec:
    for spec in LINKS:
        if spec.leaf == leaf and spec.spine == spine:
            return spec
    raise KeyError(f"no link {leaf}-{spine}")


def expected_sessions() -> tuple[tuple[str, str], ...]:
    return tuple((leaf, spine) for leaf in LEAVES for spine in SPINES)


def peer_addresses() -> tuple[tuple[str, str], ...]:
    """(neighbor address as seen by the other end, host that owns it)."""
    pairs: list[tuple[str, str]] = []
    for spec in LINKS:
        pairs.append((spec.spine_ip, spec.spine))
        pairs.append((spec.leaf_ip, spec.leaf))
    return tuple(pairs)


def fqdn(name: str) -> str:
    return f"{name}.{DOMAIN}"
