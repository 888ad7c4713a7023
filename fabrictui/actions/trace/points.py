"""Where a probe between two pods should be seen: the observation points, both ways.

From the lab's shape (which leaf a node hangs off, which spines there are) and the lab's port
map (`LabBackend.trace_ports`: the interface a host uses towards a neighbour), the request
path is: the source pod's host-side interface, the source node's VXLAN device and uplink, the
leaf port facing the node, then per spine (ECMP alternatives sharing a step) the leaf's uplink,
the spine's port from that leaf and its port to the other leaf, the other leaf's uplink; then
the leaf port facing the destination node, its uplink, its VXLAN device and the destination
pod's interface. The reply path is the same, the other way. Pure: no I/O.
"""

from __future__ import annotations

from fabrictui.actions.trace.model import REPLY, REQUEST, ObservationPoint, PointKind
from fabrictui.backends.trace_ports import DEFAULT_NODE_UPLINK, Ports
from fabrictui.constants import VXLAN_DEVICE
from fabrictui.intent.labshape import LabShape

NO_INTERFACE = "(no pod)"


def _one_way(
    shape: LabShape,
    ports: Ports,
    src_node: str,
    src_iface: str,
    dst_node: str | None,
    dst_iface: str | None,
    direction: str,
    first_step: int,
) -> list[ObservationPoint]:
    points: list[ObservationPoint] = []
    step = first_step

    def add(host: str, iface: str | None, kind: PointKind, branch: str | None = None,
            peer: str | None = None, same_step: bool = False) -> None:  # fmt: skip
        nonlocal step
        if not iface:
            return  # the lab does not say which port: no point there, nothing to capture
        if not same_step:
            step += 1
        points.append(ObservationPoint(host, iface, kind, direction, step, branch, peer))

    add(src_node, src_iface, PointKind.POD)
    if dst_node is None:
        return points
    if dst_node == src_node:
        add(dst_node, dst_iface, PointKind.POD)
        return points
    src_leaf, dst_leaf = shape.leaf_of(src_node), shape.leaf_of(dst_node)
    add(src_node, VXLAN_DEVICE, PointKind.VXLAN)
    add(src_node, ports.get((src_node, src_leaf or ""), DEFAULT_NODE_UPLINK),
        PointKind.NODE_UPLINK, peer=src_leaf)  # fmt: skip
    if src_leaf is not None:
        add(src_leaf, ports.get((src_leaf, src_node)), PointKind.LEAF_DOWNLINK, peer=src_node)
    if src_leaf is not None and dst_leaf is not None and src_leaf != dst_leaf:
        spines = [s.name for s in shape.spines]
        legs = (
            (src_leaf, lambda s: ports.get((src_leaf, s)), PointKind.LEAF_UPLINK, lambda s: s),
            (None, lambda s: ports.get((s, src_leaf)), PointKind.SPINE_PORT, lambda s: src_leaf),
            (None, lambda s: ports.get((s, dst_leaf)), PointKind.SPINE_PORT, lambda s: dst_leaf),
            (dst_leaf, lambda s: ports.get((dst_leaf, s)), PointKind.LEAF_UPLINK, lambda s: s),
        )
        for host, iface, kind, peer in legs:
            first = True
            for spine in spines:
                name = iface(spine)
                if not name:
                    continue
                add(host or spine, name, kind, spine, peer(spine), same_step=not first)
                first = False
    if dst_leaf is not None:
        add(dst_leaf, ports.get((dst_leaf, dst_node)), PointKind.LEAF_DOWNLINK, peer=dst_node)
    add(dst_node, ports.get((dst_node, dst_leaf or ""), DEFAULT_NODE_UPLINK),
        PointKind.NODE_UPLINK, peer=dst_leaf)  # fmt: skip
    add(dst_node, VXLAN_DEVICE, PointKind.VXLAN)
    if dst_iface:
        add(dst_node, dst_iface, PointKind.POD)
    else:  # no pod holds the address: where the node delivers it is its routes' business
        add(dst_node, NO_INTERFACE, PointKind.ROUTED)
    return points


def observation_points(
    shape: LabShape,
    ports: Ports,
    src_node: str,
    src_iface: str,
    dst_node: str | None,
    dst_iface: str | None,
) -> tuple[ObservationPoint, ...]:
    """Every point of the request path then of the reply path, in path order.

    `dst_node` None: the destination is no pod or node block the lab knows; only the source
    side is watched. `dst_iface` None: the destination IP is in `dst_node`'s block but no
    pod holds it, so the path ends at that node's VXLAN device."""
    request = _one_way(shape, ports, src_node, src_iface, dst_node, dst_iface, REQUEST, 0)
    if dst_node is None:
        return tuple(request)
    last = request[-1].step if request else 0
    reply_from = dst_iface if dst_iface else None
    if reply_from is None:
        return tuple(request)  # nothing there answers: no reply path to watch
    reply = _one_way(shape, ports, dst_node, reply_from, src_node, src_iface, REPLY, last)
    return tuple(request + reply)
