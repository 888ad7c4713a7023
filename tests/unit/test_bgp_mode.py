"""BGP mode (issue 11): the lab's shape in BGP mode, the session analysis with dynamic
neighbours and (Policy), and the demo lab in BGP mode through verify: healthy, then each
usual failure of docs/bgp-scenario.md named by the check that catches it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fabrictui.actions.progress import Progress
from fabrictui.actions.verify.apps import APP_CHECKS
from fabrictui.actions.verify.bgp import CHECKS_BGP, detect_mode
from fabrictui.actions.verify.run import verify
from fabrictui.backends.demo.backend import DemoBackend
from fabrictui.intent.bgp_sessions import analyze_sessions, grouped_by_switch
from fabrictui.intent.calico_bgp import bgp_configuration, bgp_peer_object, design_for
from fabrictui.intent.labshape import (
    bgp_expected_sessions,
    node_asn,
    node_peerings,
    pattern_shape,
)
from fabrictui.model import BgpPeer, BgpSummary, CheckResult, SwitchReading


def ignore(_progress: Progress) -> None:
    pass


# --- the shape ------------------------------------------------------------------------


def test_every_node_its_own_as_derived_from_its_address() -> None:
    assert node_asn("10.0.101.102") == 4_200_101_102
    assert node_asn("10.0.255.255") == 4_200_255_255 < 2**32
    assert node_asn(None) is None and node_asn("not an address") is None
    peerings = node_peerings(pattern_shape())
    assert len({p.node_asn for p in peerings}) == len(peerings) == 5


def test_node_peerings_point_at_the_racks_leaf() -> None:
    by_node = {p.node: p for p in node_peerings(pattern_shape())}
    l21 = by_node["k8s-node-l2-1"]
    assert (l21.leaf, l21.leaf_address, l21.leaf_asn, l21.listen_range) == (
        "leaf2",
        "10.0.102.1",
        65102,
        "10.0.102.0/24",
    )
    assert by_node["k8s-master-l1-1"].leaf == "leaf1"


def test_bgp_expected_sessions_add_the_node_peerings() -> None:
    shape = pattern_shape()
    expected = bgp_expected_sessions(shape)
    assert expected[:4] == shape.expected_sessions()
    assert ("leaf1", "k8s-node-l1-2") in expected and ("leaf2", "k8s-node-l1-2") not in expected
    assert len(expected) == 4 + 5


# --- the analysis ---------------------------------------------------------------------


def _reading(*peers: BgpPeer) -> SwitchReading:
    return SwitchReading("leaf1", BgpSummary("172.16.255.101", 65101, peers), None, 0.0)


def test_analysis_groups_dynamic_neighbours_and_names_policy() -> None:
    spine = BgpPeer("172.16.0.0", "spine-sw1", 65001, "Established", "01:00:00", 3)
    node = BgpPeer("10.0.101.101", None, 4200101101, "Established", "00:10:00", 1, dynamic=True)
    held = BgpPeer(
        "10.0.101.102", None, 4200101102, "Established", "00:10:00", None, dynamic=True,
        policy_blocked=True,
    )  # fmt: skip
    addresses = {"10.0.101.101": "k8s-node-l1-1", "10.0.101.102": "k8s-node-l1-2"}
    expected = [("leaf1", "spine-sw1"), ("leaf1", "k8s-node-l1-1"), ("leaf1", "k8s-node-l1-2")]
    analysis = analyze_sessions({"leaf1": _reading(spine, node, held)}, expected, addresses)
    assert all(v.expected for v in analysis.verdicts)
    static, dynamic = grouped_by_switch(analysis)["leaf1"]
    assert [v.peer_host for v in static] == ["spine-sw1"]
    assert [v.peer_host for v in dynamic] == ["k8s-node-l1-1", "k8s-node-l1-2"]
    assert analysis.problems() == [
        "leaf1: session to k8s-node-l1-2 (10.0.101.102) is up but (Policy): no eBGP policy,"
        " no routes exchanged"
    ]


def test_node_peers_are_unexpected_in_vxlan_mode() -> None:
    node = BgpPeer("10.0.101.101", None, 4200101101, "Established", "00:10:00", 1, dynamic=True)
    analysis = analyze_sessions(
        {"leaf1": _reading(node)}, [("leaf1", "spine-sw1")], {"10.0.101.101": "k8s-node-l1-1"}
    )
    assert "unexpected session to k8s-node-l1-1" in analysis.problems()[1]


# --- the demo lab in BGP mode through verify -------------------------------------------


@pytest.fixture
async def lab() -> AsyncIterator[DemoBackend]:
    backend = DemoBackend("ready-bgp", speed=200.0)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


async def run_checks(lab: DemoBackend) -> dict[str, CheckResult]:
    results = await verify(lab, ignore, ping_timeout=5.0)
    assert [r.name for r in results] == list(CHECKS_BGP) + [name for name, _ in APP_CHECKS]
    return {r.name: r for r in results}


async def test_mode_is_read_from_the_cluster(lab: DemoBackend) -> None:
    assert await detect_mode(lab) == "bgp"
    ready = DemoBackend("ready")
    fresh = DemoBackend("fresh")
    assert await ready.calico_mode() == "vxlan" and await detect_mode(ready) == "vxlan"
    assert await fresh.calico_mode() is None and await detect_mode(fresh) == "vxlan"


async def test_healthy_bgp_lab_passes_all_eight(lab: DemoBackend) -> None:
    checks = await run_checks(lab)
    failed = {name: c.cause for name, c in checks.items() if not c.passed}
    assert failed == {}
    assert any("dynamic k8s-node-l2-1" in e for e in checks["leaf BGP sessions"].evidence)
    wire = checks["native on the wire"].evidence[0]
    # the demo's own background pings may add echoes while the capture runs
    requests = int(wire.split(": ", 1)[1].split()[0])
    assert requests >= 3 and wire.endswith(", 0 VXLAN frames")


async def test_policy_held_sessions_fail_the_leaf_check(lab: DemoBackend) -> None:
    lab.bgp.policy["leaf2"] = False  # plain FRR without the route-maps
    checks = await run_checks(lab)
    cause = checks["leaf BGP sessions"].cause or ""
    assert "leaf2: session to k8s-node-l2-1 (10.0.102.101) is up but (Policy)" in cause
    assert not checks["pod blocks on the fabric"].passed
    assert not checks["cross-rack ping"].passed


async def test_missing_listen_range(lab: DemoBackend) -> None:
    design = design_for(pattern_shape(), "10.64.0.0/12")
    await lab.configure_switch(
        "leaf1", ["net del bgp listen range 10.0.101.0/24 peer-group calico"]
    )
    del design
    checks = await run_checks(lab)
    assert "leaf1: no session to k8s-node-l1-2" in (checks["leaf BGP sessions"].cause or "")
    node_cause = checks["node BGP sessions"].cause or ""
    assert "k8s-node-l1-2: session to leaf1 is start (Active Socket: Connection refused)" in (
        node_cause
    )


async def test_wrong_peer_as_and_mesh_still_on(lab: DemoBackend) -> None:
    design = design_for(pattern_shape(), "10.64.0.0/12")
    wrong = bgp_peer_object("leaf2", design.rack_peerings("leaf2"))
    wrong["spec"]["asNumber"] = 65101
    await lab.apply_objects([wrong, bgp_configuration(mesh=True)])
    checks = await run_checks(lab)
    cause = checks["node BGP sessions"].cause or ""
    assert "k8s-node-l2-1: session to leaf2 is start (Idle BGP Error: Bad peer AS)" in cause
    assert "node-to-node mesh sessions: the mesh is still on" in cause


async def test_bgp_checks_on_a_vxlan_lab_see_the_encapsulation() -> None:
    vxlan = DemoBackend("ready", speed=200.0)
    await vxlan.start()
    try:
        results = {r.name: r for r in await verify(vxlan, ignore, ping_timeout=5.0, mode="bgp")}
    finally:
        await vxlan.close()
    assert results["cross-rack ping"].passed
    assert "still encapsulating" in (results["native on the wire"].cause or "")
    assert "leaf1: no session to k8s-node-l1-1" in (results["leaf BGP sessions"].cause or "")
