"""The map from a `LabState` read off the demo lab: the last trace drawn where it stopped,
with its cause, through the same state a screen reads (and a replay fills)."""

from __future__ import annotations

import time

from fabrictui.actions.progress import ignore
from fabrictui.actions.trace.run import run_trace
from fabrictui.render.map.layout import layout_map
from fabrictui.session.mapping import fabric_map, note_result, read_once
from fabrictui.session.state import LabState
from tests.demo_helpers import fast_backend


async def test_a_trace_cut_at_leaf2_is_drawn_where_it_stopped() -> None:
    lab = fast_backend("ready", speed=200.0)
    await lab.start()
    try:
        state = LabState(lab.info(), time.time)
        pods = await lab.list_pods("space1")
        src = next(p for p in pods if p.node == "k8s-node-l2-1")
        dst = next(p for p in pods if p.node == "k8s-node-l1-2")
        for spine in ("spine-sw1", "spine-sw2"):
            await lab.set_fault(f"cut-uplink:leaf2:{spine}", True)
        await lab.advance(2.0)
        note_result(state, await run_trace(lab, ignore, src.key, dst.key))
        await read_once(lab, state)
    finally:
        await lab.close()
    graph = fabric_map(state)
    (path,) = graph.paths
    assert path.stopped_at == "leaf2" and not path.delivered
    assert path.hosts == ("k8s-node-l2-1", "leaf2")  # seen at its downlink, not beyond
    assert "leaf2: both uplinks down" in (path.cause or "")
    text = layout_map(graph, 100, 30).plain()
    assert "leaf2✕" in text and "k8s-node-l2-1»" in text
    assert "trace NOT delivered, stopped at leaf2 swp51/swp52 (request)" in text
    assert f"  {src.key} → {dst.key}" in text and "  via k8s-node-l2-1 » leaf2" in text
    assert "  cause: leaf2: both uplinks down" in text
    assert graph.link("spine-sw1", "leaf2").state == "bad"


async def test_in_bgp_mode_a_node_link_carries_its_session_with_the_leaf() -> None:
    lab = fast_backend("ready-bgp", speed=200.0)
    await lab.start()
    try:
        state = LabState(lab.info(), time.time)
        await read_once(lab, state)
        healthy = fabric_map(state)
        await lab.set_fault("stop-calico-node:k8s-node-l2-2", True)
        await lab.advance(5.0)
        await read_once(lab, state)
        broken = fabric_map(state)
    finally:
        await lab.close()
    assert healthy.mode == "bgp"
    link = healthy.link("leaf2", "k8s-node-l2-2")
    assert (link.state, link.label) == ("good", "Ready, BGP Established")
    assert link.via.startswith("leaf2 10.0.102.")
    link = broken.link("leaf2", "k8s-node-l2-2")
    assert link.state == "bad" and link.label.startswith("Ready, BGP ")
    assert link.label != "Ready, BGP Established"
