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

from fabrictui.constants import KUBE_VERSION, POD_POOL, SERVICE_RANGE, VXLAN_PORT
from fabrictui.constants import VXLAN_VNI as VNI
from fabrictui.intent.labshape import LabShape, pattern_shape
from fabrictui.model import Role

__all__ = ["KUBE_VERSION", "POD_POOL", "SERVICE_RANGE", "VNI", "VXLAN_PORT"]  # re-exported

DOMAIN = "lab.local"
# The reference lab of LAB.md, shared with the rehearsal lab and the checks.
SHAPE: LabShape = pattern_shape()

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
    server_subnet: str | None = None  # leaves: the rack's servers


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
    leaf: str  # the leaf of its rack, from the lab's shape


def _virtualbox_mac(name: str) -> str:
    """A VirtualBox-style MAC (OUI 08:00:27) derived from the host name."""
    digest = hashlib.sha1(f"eth0:{name}".encode()).digest()
    return "08:00:27:" + ":".join(f"{b:02x}" for b in digest[:3])


# Vagrant forwards the first machine's SSH to 2222, later ones (auto_correct)
# to 2200, 2201, ...; the machines come up in the shape's order.
_SSH_PORTS = (2222, *range(2200, 2200 + len(SHAPE.hosts) - 1))
_SSH_PORT = {host.name: port for host, port in zip(SHAPE.hosts, _SSH_PORTS, strict=True)}

SWITCHES: tuple[SwitchSpec, ...] = tuple(
    SwitchSpec(
        h.name,
        h.role,
        h.asn or 0,
        h.router_id or "",
        h.rack,
        # spines originate their loopback, leaves their server subnet and loopback
        (*((h.server_subnet,) if h.server_subnet else ()), f"{h.router_id}/32"),
        _SSH_PORT[h.name],
        h.server_subnet,
    )
    for h in SHAPE.switches
)

LINKS: tuple[LinkSpec, ...] = tuple(
    LinkSpec(ln.b, ln.a, (ln.b_ip or "").split("/")[0], (ln.a_ip or "").split("/")[0])
    for ln in SHAPE.links
)

_SEED_MACS = {"k8s-node-l2-1": "08:00:27:53:73:c7", "k8s-node-l1-2": "08:00:27:91:d4:66"}


NODES: tuple[NodeSpec, ...] = tuple(
    NodeSpec(
        h.name,
        h.role,
        h.rack or 0,
        h.address or "",
        _SEED_MACS.get(h.name) or _virtualbox_mac(h.name),
        _SSH_PORT[h.name],
        SHAPE.leaf_of(h.name) or "",
    )
    for h in SHAPE.nodes
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
    return SHAPE.expected_sessions()


def peer_addresses() -> tuple[tuple[str, str], ...]:
    """(address, host that owns it): link ends as seen by the other end, and host addresses."""
    return SHAPE.peer_addresses()


def fqdn(name: str) -> str:
    return f"{name}.{DOMAIN}"
