"""Drill down on BGP sessions, switches and VMs (issue 26), through the DESCRIBERS table on
the demo lab: its switches print FRR's JSON (spines) and NCLU's text (leaves), its nodes
BIRD's, all read back through the real parsers; the details follow the demo's faults."""

from __future__ import annotations

import pytest

from fabrictui.actions.drill import DESCRIBERS
from fabrictui.backends.base import BackendError, NotFound
from fabrictui.backends.real.bgp_detail import BgpDetailReal, checked_peer, neighbor_commands
from fabrictui.backends.real.ssh.process import CommandResult
from fabrictui.backends.real.switches import NCLU_JSON, VTYSH_JSON, Platform
from fabrictui.render.detail import Detail, detail_text
from tests._paths import TEST_DATA
from tests.demo_helpers import FAST, frozen_backend
from tests.unit.test_bgp_real_backend import FakePool, FakeSwitches


def rows(detail: Detail, title: str) -> dict[str, str]:
    section = next(s for s in detail.sections if s.title == title)
    return dict(section.rows)


def titles(detail: Detail) -> list[str]:
    return [s.title for s in detail.sections]


async def test_a_healthy_uplink_both_ends_and_their_links() -> None:
    backend, _ = frozen_backend("ready")
    leaf = await DESCRIBERS["session"](backend, "leaf1/spine-sw1", None)
    assert leaf.name == "leaf1/172.16.0.0"  # the host name resolved as the switch names it
    session = rows(leaf, "Session")
    assert session["State"] == "Established" and session["Up for"].startswith("02:07:5")
    assert session["Peer"] == "172.16.0.0 (spine-sw1.lab.local)"
    assert "Last reset" not in titles(leaf)
    assert rows(leaf, "Timers")["Hold"] == "9s negotiated, 9s configured"
    assert [(x.kind, x.name) for x in leaf.links] == [
        ("switch", "leaf1"),
        ("session", "spine-sw1/172.16.0.1"),
    ]
    spine = await DESCRIBERS["session"](backend, "spine-sw1/172.16.0.1", None)  # FRR JSON
    prefixes = rows(spine, "Prefixes")["IPv4 Unicast"]
    assert "accepted 3" in prefixes and "advertised 3" in prefixes
    assert ("session", "leaf1/172.16.0.0") in [(x.kind, x.name) for x in spine.links]


async def test_a_cut_uplink_says_interface_down_on_both_ends() -> None:
    backend, clock = frozen_backend("ready")
    await backend.set_fault("cut-uplink:leaf1:spine-sw1", True)
    clock.step(30 / FAST)
    for name in ("leaf1/172.16.0.0", "spine-sw1/172.16.0.1"):
        detail = await DESCRIBERS["session"](backend, name, None)
        assert rows(detail, "Session")["State"] in ("Active", "Connect")
        assert rows(detail, "Session")["Down for"][:8] in ("00:00:29", "00:00:30")
        reset = rows(detail, "Last reset")
        assert reset["Reason"] == "Interface down" and "NOTIFICATION" not in reset
        assert next(s for s in detail.sections if s.title == "Session").severity == "bad"
    switch = await DESCRIBERS["switch"](backend, "leaf1", None)
    ports = rows(switch, "Interfaces")
    assert ports["swp51"].startswith("down,") and ports["swp52"].startswith("up,")
    assert rows(switch, "Sessions")["172.16.0.0 (spine-sw1.lab.local)"].startswith("Active")
    await backend.set_fault("cut-uplink:leaf1:spine-sw1", False)
    clock.step(5 / FAST)
    again = await DESCRIBERS["session"](backend, "leaf1/172.16.0.0", None)
    assert rows(again, "Session")["State"] == "Established"
    assert rows(again, "Last reset")["Reason"] == "Interface down"  # remembered once up
    assert rows(again, "Last reset")["Connections"] == "established 2, dropped 1"


async def test_a_stopped_spine_ends_in_the_leafs_hold_timer_notification() -> None:
    backend, clock = frozen_backend("ready")
    await backend.set_fault("stop-spine:spine-sw2", True)
    clock.step(20 / FAST)
    detail = await DESCRIBERS["session"](backend, "leaf2/spine-sw2", None)
    reset = rows(detail, "Last reset")
    assert reset["NOTIFICATION"] == ("sent by this switch: Hold Timer Expired (code 4, subcode 0)")
    as_json = detail.to_json()
    assert as_json["kind"] == "session" and as_json["name"] == "leaf2/172.16.0.6"
    assert "Hold Timer Expired" in detail_text(detail)
    with pytest.raises(BackendError, match="powered off"):
        await DESCRIBERS["session"](backend, "spine-sw2/172.16.0.7", None)
    switch = await DESCRIBERS["switch"](backend, "spine-sw2", None)
    assert switch.problems and "powered off" in switch.problems[0]  # the rest still shown
    assert rows(await DESCRIBERS["vm"](backend, "spine-sw2", None), "Machine")["State"] == (
        "poweroff"
    )


async def test_an_mtu_fault_shows_on_its_port() -> None:
    backend, _ = frozen_backend("ready")
    await backend.set_fault("mtu:leaf1:swp52", True)
    ports = rows(await DESCRIBERS["switch"](backend, "leaf1", None), "Interfaces")
    assert "MTU 1400" in ports["swp52"] and "MTU 1500" in ports["swp51"]


async def test_bgp_mode_the_nodes_bird_and_the_leafs_dynamic_neighbor() -> None:
    backend, clock = frozen_backend("ready-bgp")
    node = await DESCRIBERS["session"](backend, "k8s-node-l1-1/leaf1", None)
    assert node.name == "k8s-node-l1-1/Node_10_0_101_1"
    assert rows(node, "Session")["State"] == "Established (protocol up)"
    assert rows(node, "Session")["Remote router ID"] == "172.16.255.101"
    links = [(x.kind, x.name) for x in node.links]
    assert ("session", "leaf1/10.0.101.101") in links and ("node", "k8s-node-l1-1") in links
    leaf = await DESCRIBERS["session"](backend, "leaf1/k8s-node-l1-1", None)
    assert leaf.name == "leaf1/10.0.101.101"
    assert ("node", "k8s-node-l1-1") in [(x.kind, x.name) for x in leaf.links]
    await backend.set_fault("stop-calico-node:k8s-node-l1-1", True)
    clock.step(10 / FAST)
    with pytest.raises(NotFound, match="No such neighbor"):
        await DESCRIBERS["session"](backend, "leaf1/10.0.101.101", None)
    with pytest.raises(BackendError, match="Unable to connect"):
        await DESCRIBERS["session"](backend, "k8s-node-l1-1/leaf1", None)


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        ("leaf1", BackendError, "a session is DEVICE/PEER"),
        ("leaf9/172.16.0.0", NotFound, "no such switch or node"),
        ("leaf1/10.9.9.9", NotFound, "No such neighbor in this view/vrf"),
        ("spine-sw1/172.16.0.9", NotFound, "bgpNoSuchNeighbor"),
        ("leaf1/bad peer;x", BackendError, "neither an address nor an interface"),
        ("k8s-node-l1-1/10.0.101.1", BackendError, "Unable to connect"),  # VXLAN: no BIRD
    ],
)
async def test_bad_names_get_the_sources_words(name: str, error: type, words: str) -> None:
    backend, _ = frozen_backend("ready")
    with pytest.raises(error, match=words):
        await DESCRIBERS["session"](backend, name, None)


async def test_unknown_switch_and_vm() -> None:
    backend, _ = frozen_backend("ready")
    with pytest.raises(NotFound, match="no such switch"):
        await DESCRIBERS["switch"](backend, "k8s-node-l1-1", None)
    with pytest.raises(NotFound, match="machines: spine-sw1"):
        await DESCRIBERS["vm"](backend, "nope", None)


def test_real_switch_commands_prefer_json_then_nclu_text() -> None:
    assert neighbor_commands("swp51", True, True) == [
        ("vtysh", "-c", "show bgp neighbors swp51 json"),
        ("net", "show", "bgp", "neighbor", "swp51"),
        ("vtysh", "-c", "show bgp neighbors swp51"),
    ]
    assert neighbor_commands("10.0.0.1", False, True) == [
        ("net", "show", "bgp", "neighbor", "10.0.0.1")
    ]
    assert checked_peer("fe80::1%swp1") == "fe80::1%swp1"
    with pytest.raises(BackendError):
        checked_peer("1.2.3.4 json\nconfigure terminal")


# --- the real backend's reading path, with a pool that answers what real devices printed ---


def real_lab(platform: Platform, answers: dict[tuple[str, ...], CommandResult]) -> BgpDetailReal:
    lab = BgpDetailReal()
    lab.kind = "vagrant"
    lab.pool = FakePool(answers)  # type: ignore[assignment]
    lab.switches = FakeSwitches(platform.name)  # type: ignore[assignment]
    lab.switches.value = platform  # type: ignore[attr-defined]
    return lab


NEIGHBORS = TEST_DATA / "bgp" / "neighbors"
FRR = Platform("frr", True, (VTYSH_JSON,))
NCLU = Platform("nclu", True, (VTYSH_JSON, NCLU_JSON))


async def test_real_frr_json_is_read_first() -> None:
    text = (NEIGHBORS / "frr-8.4-neighbor-notification-received.json").read_text()
    lab = real_lab(
        FRR, {("vtysh", "-c", "show bgp neighbors 172.16.98.1 json"): CommandResult(0, text, "")}
    )
    neighbor = await lab.bgp_neighbor("leaf1", "172.16.98.1")
    assert neighbor.notification is not None and neighbor.notification.code == 6
    assert lab.pool.sent == [  # type: ignore[attr-defined]
        ("leaf1", ["vtysh", "-c", "show bgp neighbors 172.16.98.1 json"], True)
    ]


async def test_real_nclu_text_where_vtysh_fails_and_the_switchs_words_for_none() -> None:
    text = (NEIGHBORS / "nclu-3.7-leaf01-swp51-handmade.txt").read_text()
    refused = CommandResult(1, "", "sudo: vtysh: command not found\n")
    answers = {
        ("vtysh", "-c", "show bgp neighbors swp51 json"): refused,
        ("net", "show", "bgp", "neighbor", "swp51"): CommandResult(0, text, ""),
    }
    neighbor = await real_lab(NCLU, answers).bgp_neighbor("leaf1", "swp51")
    assert neighbor.state == "Active" and neighbor.notification is not None
    none = (NEIGHBORS / "frr-8.4-neighbor-unknown.json").read_text()
    lab = real_lab(
        FRR, {("vtysh", "-c", "show bgp neighbors 10.1.1.1 json"): CommandResult(0, none, "")}
    )
    with pytest.raises(NotFound, match="leaf1: No such neighbor"):
        await lab.bgp_neighbor("leaf1", "10.1.1.1")
    with pytest.raises(NotFound, match="no SSH endpoint"):
        await lab.bgp_neighbor("leaf7", "10.1.1.1")


async def test_a_shut_session_idle_admin_here_a_cease_notification_there() -> None:
    backend, clock = frozen_backend("ready")
    fault = "shut-session:leaf1:spine-sw2"
    assert any(f.id == fault for f in backend.faults())
    await backend.set_fault(fault, True)
    clock.step(12 / FAST)
    leaf = await DESCRIBERS["session"](backend, "leaf1/spine-sw2", None)  # NCLU text
    assert rows(leaf, "Session")["State"] == "Idle (Admin)"
    assert rows(leaf, "Last reset")["Reason"] == "Admin. shutdown"
    spine = await DESCRIBERS["session"](backend, "spine-sw2/172.16.0.5", None)  # FRR JSON
    assert rows(spine, "Last reset")["NOTIFICATION"] == (
        "received from the peer: Cease / Administrative Shutdown (code 6, subcode 2)"
    )
    summary = (await backend.bgp_summary("leaf1")).summary
    assert summary is not None
    assert {p.neighbor: p.state for p in summary.peers}["172.16.0.4"] == "Idle (Admin)"
    ports = rows(await DESCRIBERS["switch"](backend, "leaf1", None), "Interfaces")
    assert ports["swp52"].startswith("up,")  # the link itself is fine
    await backend.set_fault(fault, False)
    clock.step(3 / FAST)
    back = await DESCRIBERS["session"](backend, "leaf1/spine-sw2", None)
    assert rows(back, "Session")["State"] == "Established"


async def test_a_readiness_message_names_the_session_on_its_switch() -> None:
    """For the pod and node readers: calico-node's "BGP not established with 10.0.101.1"
    opens that session on the node's leaf; a mesh peer opens the node's own session."""
    from fabrictui.actions.drill.session import peer_link

    backend, _ = frozen_backend("ready-bgp")
    hosts = await backend.list_hosts()
    why = "readiness names peer 10.0.101.1"
    link = peer_link(hosts, "k8s-node-l1-1", "10.0.101.1", why)
    assert link is not None and (link.kind, link.name) == ("session", "leaf1/10.0.101.101")
    opened = await DESCRIBERS[link.kind](backend, link.name, None)
    assert rows(opened, "Session")["State"] == "Established"
    mesh = peer_link(hosts, "k8s-node-l1-1", "10.0.101.102", "mesh")
    assert mesh is not None and mesh.name == "k8s-node-l1-1/10.0.101.102"
    assert peer_link(hosts, "leaf1", "10.0.101.1", why) is None
    # a stopped BIRD names no peer: the node's own session on its leaf
    leaf = peer_link(hosts, "k8s-node-l2-1", None, "BIRD does not answer")
    assert leaf is not None and leaf.name == "leaf2/10.0.102.101"


def test_the_readiness_words_name_their_peers_or_none() -> None:
    from fabrictui.actions.drill.common import readiness_peers

    head = "calico/node is not ready: BIRD is not ready: "
    assert readiness_peers(head + "BGP not established with 10.0.101.1") == ["10.0.101.1"]
    both = readiness_peers(head + "BGP not established with 10.0.101.1,10.0.101.102")
    assert both == ["10.0.101.1", "10.0.101.102"]  # the rehearsal lab's probe lists each
    stopped = "Error querying BIRD: unable to connect to BIRDv4 socket: dial unix ..."
    assert readiness_peers(head + stopped) == []  # BIRD itself: its session on its leaf
    assert readiness_peers("calico/node is not ready: felix is not ready: ...") is None


async def test_a_stopped_birds_session_the_leaf_deleted_is_read_from_its_log() -> None:
    """FRR deletes a dynamic neighbour whose session ended: the leaf's session with a node
    whose BIRD stopped says when and why from the leaf's FRR log, as the rehearsal lab's real
    FRR logs it; once BIRD is back the session is read from the switch again."""
    backend, clock = frozen_backend("ready-bgp")
    await backend.set_fault("stop-bird:k8s-node-l1-1", True)
    clock.step(42 / FAST)
    gone = await DESCRIBERS["session"](backend, "leaf1/10.0.101.101", None)
    assert "FRR log" in gone.source
    session = rows(gone, "Session")
    assert session["State"].startswith("not listed: No such neighbor")
    assert session["Down for"].startswith("00:00:42 (since ")
    reset = rows(gone, "Last reset")
    assert reset["Reason"] == "Neighbor deleted"
    assert reset["NOTIFICATION"] == (
        "received from the peer: Cease / Administrative Shutdown (code 6, subcode 2)"
    )
    assert ("node", "k8s-node-l1-1") in [(x.kind, x.name) for x in gone.links]
    await backend.set_fault("stop-bird:k8s-node-l1-1", False)
    clock.step(30 / FAST)
    back = await DESCRIBERS["session"](backend, "leaf1/10.0.101.101", None)
    assert rows(back, "Session")["State"] == "Established" and "FRR log" not in back.source
    # a session the log never saw go down stays the switch's own "No such neighbor"
    with pytest.raises(NotFound, match="No such neighbor"):
        await DESCRIBERS["session"](backend, "leaf1/10.0.101.9", None)
