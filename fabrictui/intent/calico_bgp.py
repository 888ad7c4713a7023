"""Calico in BGP mode (LAB.md "Scenario 2", docs/bgp-scenario.md): what it applies to the
cluster and to the switches, and in which order. Pure data, no I/O: the action
(`actions/change/bgp_mode.py`), its plan and the demo lab's replay of it read the same design.

BGP mode means: the IPPool carries no encapsulation (`vxlanMode: Never`, `ipipMode:
Never`), calico-node runs BIRD (`calico_backend: bird`), every node has an AS of its own
(`labshape.node_asn`, the `projectcalico.org/ASNumber` annotation Calico reads on
Kubernetes nodes), one `BGPPeer` per rack selects the rack's nodes and points at the leaf,
and the node-to-node mesh is off. The leaves accept their rack's nodes with a peer group
(`remote-as external`) and a `bgp listen range` for the rack's subnet.

Order matters (LAB.md): the switches first (a node's session has somewhere to go), then
the nodes' AS, then the BGPPeers, and only then the mesh off and the pool unencapsulated;
turning the mesh off before the peers exist cuts pod networking until they do. Back to
VXLAN is the reverse: the pool encapsulates again first, then the mesh and peers go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fabrictui.intent.labshape import BGP_PEER_GROUP, LabShape, NodePeering, node_peerings
from fabrictui.model import Role

MODES = ("vxlan", "bgp")
CRD_API = "crd.projectcalico.org/v1"
POOL_NAME = "default-ipv4-ippool"
ASN_ANNOTATION = "projectcalico.org/ASNumber"
DEFAULT_NODE_ASN = 64512  # Calico's default AS, for nodes without their own
# Plain FRR (not Cumulus' datacenter defaults) refuses eBGP routes without a policy: the
# session comes up as `(Policy)` and carries nothing. These maps are that policy.
ROUTE_MAP_IN = "CALICO-IN"
ROUTE_MAP_OUT = "CALICO-OUT"
PREFIX_LIST = "CALICO-PODS"


@dataclass(frozen=True, slots=True)
class BgpDesign:
    """Everything BGP mode applies, derived from the lab's shape and pod pool."""

    pool: str
    peerings: tuple[NodePeering, ...]
    spines: tuple[tuple[str, int | None], ...]  # (name, AS)

    @property
    def leaves(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.leaf for p in self.peerings))

    def rack_peerings(self, leaf: str) -> tuple[NodePeering, ...]:
        return tuple(p for p in self.peerings if p.leaf == leaf)


def design_for(shape: LabShape, pool: str) -> BgpDesign:
    spines = tuple((h.name, h.asn) for h in shape.hosts if h.role is Role.SPINE)
    return BgpDesign(pool, node_peerings(shape), spines)


# --- the Kubernetes side -----------------------------------------------------------------


def pool_object(pool: str, mode: str) -> dict[str, Any]:
    vxlan = "Always" if mode == "vxlan" else "Never"
    return {
        "apiVersion": CRD_API,
        "kind": "IPPool",
        "metadata": {"name": POOL_NAME},
        "spec": {
            "cidr": pool,
            "blockSize": 26,
            "vxlanMode": vxlan,
            "ipipMode": "Never",
            "natOutgoing": True,
            "nodeSelector": "all()",
        },
    }


def bgp_configuration(mesh: bool) -> dict[str, Any]:
    return {
        "apiVersion": CRD_API,
        "kind": "BGPConfiguration",
        "metadata": {"name": "default"},
        "spec": {
            "logSeverityScreen": "Info",
            "nodeToNodeMeshEnabled": mesh,
            "asNumber": DEFAULT_NODE_ASN,
        },
    }


def backend_config(backend: str) -> dict[str, Any]:
    """calico-node runs BIRD only when the ConfigMap says `calico_backend: bird`."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "calico-config", "namespace": "kube-system"},
        "data": {"calico_backend": backend},
    }


def node_asn_object(peering: NodePeering) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": peering.node,
            "annotations": {ASN_ANNOTATION: str(peering.node_asn)},
        },
    }


def peer_name(leaf: str) -> str:
    return f"rack-{leaf}"


def bgp_peer_object(leaf: str, peerings: Sequence[NodePeering]) -> dict[str, Any]:
    names = ", ".join(f"'{p.node}'" for p in peerings)
    first = peerings[0]
    return {
        "apiVersion": CRD_API,
        "kind": "BGPPeer",
        "metadata": {"name": peer_name(leaf)},
        "spec": {
            "nodeSelector": f"kubernetes.io/hostname in {{{names}}}",
            "peerIP": first.leaf_address,
            "asNumber": first.leaf_asn,
        },
    }


def to_bgp_objects(design: BgpDesign) -> list[dict[str, Any]]:
    """The cluster's objects in the order that keeps pod traffic flowing."""
    docs: list[dict[str, Any]] = [backend_config("bird")]
    docs += [node_asn_object(p) for p in design.peerings]
    docs += [bgp_peer_object(leaf, design.rack_peerings(leaf)) for leaf in design.leaves]
    docs += [bgp_configuration(mesh=False), pool_object(design.pool, "bgp")]
    return docs


def to_vxlan_objects(design: BgpDesign) -> list[dict[str, Any]]:
    """Back to VXLAN: encapsulate first (the VXLAN routes do not need BGP), then BIRD off
    (`calico_backend: vxlan`, as the VXLAN manifest has it); the BGPPeers and the nodes'
    AS annotations are then deleted (`bgp_leftovers`)."""
    return [pool_object(design.pool, "vxlan"), backend_config("vxlan")]


def bgp_leftovers(design: BgpDesign) -> list[dict[str, Any]]:
    """What BGP mode added that VXLAN mode does not have: deleted on the way back."""
    peers = [bgp_peer_object(leaf, design.rack_peerings(leaf)) for leaf in design.leaves]
    return [*peers, bgp_configuration(mesh=False)]


def describe_object(doc: dict[str, Any]) -> str:
    """One line per object for the plan, as `kubectl get -o yaml` would show its point."""
    kind, name = doc["kind"], doc["metadata"]["name"]
    spec = doc.get("spec", {})
    if kind == "IPPool":
        return (
            f"IPPool {name}: cidr {spec['cidr']}, vxlanMode {spec['vxlanMode']}, "
            f"ipipMode {spec['ipipMode']}"
        )
    if kind == "BGPConfiguration":
        return (
            f"BGPConfiguration {name}: nodeToNodeMeshEnabled "
            f"{str(spec['nodeToNodeMeshEnabled']).lower()}, asNumber {spec['asNumber']}"
        )
    if kind == "BGPPeer":
        return (
            f"BGPPeer {name}: peerIP {spec['peerIP']}, asNumber {spec['asNumber']}, "
            f"nodeSelector {spec['nodeSelector']}"
        )
    if kind == "Node":
        asn = doc["metadata"]["annotations"][ASN_ANNOTATION]
        return f"Node {name}: annotation {ASN_ANNOTATION}={asn}"
    if kind == "ConfigMap":
        return f"ConfigMap kube-system/{name}: calico_backend {doc['data']['calico_backend']}"
    return f"{kind} {name}"


# --- the switches' side --------------------------------------------------------------------


def leaf_lines(design: BgpDesign, leaf: str, dialect: str, remove: bool = False) -> list[str]:
    """The leaf's peer group and listen range in its own language."""
    rack = design.rack_peerings(leaf)
    if not rack:
        return []
    subnet, asn, group = rack[0].listen_range, rack[0].leaf_asn, BGP_PEER_GROUP
    if dialect == "nclu":
        verb = "del" if remove else "add"
        lines = [f"net {verb} bgp listen range {subnet} peer-group {group}"]
        if not remove:
            lines = [
                f"net add bgp neighbor {group} peer-group",
                f"net add bgp neighbor {group} remote-as external",
                *lines,
                "net add bgp bestpath as-path multipath-relax",
            ]
        else:
            lines.append(f"net del bgp neighbor {group} peer-group")
        return [*lines, "net commit"]
    if remove:
        return [
            "configure terminal",
            f"router bgp {asn}",
            f" no bgp listen range {subnet} peer-group {group}",
            f" no neighbor {group} peer-group",
            "end",
            "write memory",
        ]
    return [
        "configure terminal",
        f"ip prefix-list {PREFIX_LIST} seq 10 permit {design.pool} ge 26 le 32",
        f"route-map {ROUTE_MAP_IN} permit 10",
        f" match ip address prefix-list {PREFIX_LIST}",
        f"route-map {ROUTE_MAP_OUT} permit 10",
        f"router bgp {asn}",
        " bgp bestpath as-path multipath-relax",
        f" neighbor {group} peer-group",
        f" neighbor {group} remote-as external",
        f" bgp listen range {subnet} peer-group {group}",
        " address-family ipv4 unicast",
        f"  neighbor {group} route-map {ROUTE_MAP_IN} in",
        f"  neighbor {group} route-map {ROUTE_MAP_OUT} out",
        " exit-address-family",
        "end",
        "write memory",
    ]


def spine_lines(asn: int | None, dialect: str) -> list[str]:
    """Spines ECMP over leaves of different AS only with multipath-relax."""
    if dialect == "nclu":
        return ["net add bgp bestpath as-path multipath-relax", "net commit"]
    return [
        "configure terminal",
        f"router bgp {asn}",
        " bgp bestpath as-path multipath-relax",
        "end",
        "write memory",
    ]
