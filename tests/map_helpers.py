"""A fabric of any size as the map's inputs, every session Established and every node
Ready unless told otherwise: the map's unit tests and benchmarks/map_draw.py draw it."""

from __future__ import annotations

from fabrictui.capture.transit import PairTransit, TransitSnapshot
from fabrictui.intent.bgp_sessions import analyze_sessions
from fabrictui.intent.labshape import pattern_shape
from fabrictui.model import BgpPeer, BgpSummary, Host, KubeNode, SwitchReading, VmState
from fabrictui.render.map.graph import MapInputs

NOW = 1_764_150_000.0


def fabric_inputs(
    spines: int = 2,
    racks: int = 2,
    nodes_per_rack: int = 2,
    down: frozenset[tuple[str, str]] = frozenset(),  # (leaf, spine) sessions in Active
    silent: frozenset[str] = frozenset(),  # switches that do not answer
    not_ready: frozenset[str] = frozenset(),
    lossy: tuple[str, str] | None = None,  # (node, node): 30 of 100 frames lost
    policy: frozenset[tuple[str, str]] = frozenset(),  # (leaf, spine) up but in (Policy)
) -> MapInputs:
    shape = pattern_shape(spines, racks, nodes_per_rack)
    hosts = tuple(
        Host(h.name, h.role, h.rack, VmState.RUNNING, "test", "", h.address, h.asn)
        for h in shape.hosts
    )
    peers: dict[str, list[BgpPeer]] = {h.name: [] for h in shape.switches}
    for leaf, spine in shape.expected_sessions():
        state = "Active" if (leaf, spine) in down else "Established"
        held = (leaf, spine) in policy
        peers[leaf].append(BgpPeer(spine, spine, 65000, state, "01:00:00", 5, policy_blocked=held))
        peers[spine].append(BgpPeer(leaf, leaf, 65100, state, "01:00:00", 5, policy_blocked=held))
    readings = {
        name: SwitchReading(name, None, "no answer within 5s", NOW)
        if name in silent
        else SwitchReading(name, BgpSummary(name, 65000, tuple(found)), None, NOW)
        for name, found in peers.items()
    }
    nodes = {
        h.name: KubeNode(h.name, h.name not in not_ready, (), 0.0, "v1.17", h.address or "")
        for h in shape.nodes
    }
    transit = None
    names = {h.address: h.name for h in shape.hosts if h.address}
    if lossy is not None:
        src, dst = (shape.host(n).address for n in lossy)
        transit = TransitSnapshot((PairTransit(src, dst, 70, 30, 0, 0.8, None, None),))
    analysis = analyze_sessions(readings, shape.expected_sessions())
    return MapInputs(
        hosts,
        readings,
        analysis,
        nodes,
        NOW,
        switch_answered={name: NOW - 42 for name in silent},
        transit=transit,
        names=names,
    )
