"""The scenario-2 parsers: calicoctl node status, BIRD show protocols, FRR/Cumulus
show ip route, and the BGP summary's dynamic and (Policy) peers."""

from __future__ import annotations

import pytest

from fabrictui.parsers import ParseError
from fabrictui.parsers.bgp import parse_bgp_summary
from fabrictui.parsers.bird import BirdProtocol, parse_protocols, peer_address_of
from fabrictui.parsers.calico import CalicoPeer, parse_node_status
from fabrictui.parsers.routes import NextHop, parse_routes
from tests._paths import TEST_DATA

DATA = TEST_DATA


def load(path: str) -> str:
    return (DATA / path).read_text()


# --- BGP summary: dynamic neighbours and (Policy) --------------------------------------


@pytest.mark.parametrize("suffix", ["txt", "json"])
def test_dynamic_and_policy_peers_text_and_json(suffix: str) -> None:
    summary = parse_bgp_summary(load(f"bgp/frr-9.1-leaf1-bgp-mode-dynamic-summary.{suffix}"))
    peers = {p.neighbor: p for p in summary.peers}
    assert not peers["172.16.0.0"].dynamic and not peers["172.16.0.0"].policy_blocked
    node = peers["10.0.101.101"]
    assert (node.dynamic, node.established, node.prefixes_received) == (True, True, 1)
    assert node.hostname == "k8s-node-l1-1" and not node.policy_blocked
    blocked = peers["10.0.101.102"]
    assert (blocked.dynamic, blocked.established, blocked.policy_blocked) == (True, True, True)
    assert blocked.prefixes_received is None


def test_policy_only_on_the_sent_side_is_still_blocked() -> None:
    text = (
        "BGP router identifier 10.1.1.1, local AS number 65001 vrf-id 0\n"
        "Neighbor V AS MsgRcvd MsgSent TblVer InQ OutQ Up/Down State/PfxRcd PfxSnt Desc\n"
        "*10.0.101.101 4 64512 8 10 0 0 0 00:03:09 5 (Policy) N/A\n"
        "Total number of neighbors 1\n"
    )
    (peer,) = parse_bgp_summary(text).peers
    assert (peer.neighbor, peer.prefixes_received, peer.dynamic, peer.policy_blocked) == (
        "10.0.101.101",
        5,
        True,
        True,
    )


def test_seed_peers_are_neither_dynamic_nor_blocked() -> None:
    for peer in parse_bgp_summary(load("bgp/seed-leaf1-nclu-aligned.txt")).peers:
        assert not peer.dynamic and not peer.policy_blocked


def test_dynamic_peer_must_be_a_boolean_in_json() -> None:
    text = load("bgp/frr-9.1-leaf1-bgp-mode-dynamic-summary.json").replace(
        '"dynamicPeer":true', '"dynamicPeer":"yes"', 1
    )
    with pytest.raises(ParseError, match="dynamicPeer"):
        parse_bgp_summary(text)


# --- calicoctl node status ---------------------------------------------------------------


def test_calicoctl_bgp_mode() -> None:
    assert parse_node_status(load("calico/calicoctl-3.x-node-status-bgp-mode.txt")) == [
        CalicoPeer("10.0.101.1", "global", "up", "09:14:22", "Established")
    ]


def test_calicoctl_wrapped_info_and_every_peer_type() -> None:
    peers = parse_node_status(load("calico/calicoctl-3.x-node-status-mesh-wrapped.txt"))
    assert [(p.address, p.peer_type, p.state, p.since, p.established) for p in peers] == [
        ("10.0.101.102", "node-to-node mesh", "up", "2026-11-28", True),
        ("10.0.102.101", "node-to-node mesh", "start", "09:14:22", False),
        ("10.0.102.1", "node specific", "start", "09:14:20", False),
        ("10.0.101.1", "global", "up", "09:14:22", True),
    ]
    assert peers[1].info == "Active Socket: Connection refused"
    assert peers[2].info == "Idle BGP Error: Bad peer AS"


def test_calicoctl_no_peers_is_an_empty_list() -> None:
    text = "Calico process is running.\n\nIPv4 BGP status\nNo IPv4 peers found.\n\n"
    assert parse_node_status(text) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Calico process is not running.\n", "not running"),
        ("", "no 'Calico process is running.'"),
        ("Calico process is running.\n\nIPv4 BGP status\n", "without its table"),
        (
            "Calico process is running.\nIPv4 BGP status\n+---+---+---+---+---+\n"
            "| PEER ADDRESS | PEER TYPE | STATE | SINCE | INFO |\n+---+---+---+---+---+\n"
            "| 10.0.101.1 | global | up | 09:14:22 | Established |\n",
            "never closes",
        ),
        (
            "Calico process is running.\nIPv4 BGP status\n+---+---+---+---+---+\n"
            "| PEER ADDRESS | PEER TYPE | STATE | SINCE | INFO |\n+---+---+---+---+---+\n"
            "| 10.0.101.1 | bgp peer | up | 09:14:22 | Established |\n+---+---+---+---+---+\n",
            "unknown peer type",
        ),
        (
            "Calico process is running.\nIPv4 BGP status\n+---+---+---+---+---+\n"
            "| PEER ADDRESS | PEER TYPE | STATE | SINCE | INFO |\n+---+---+---+---+---+\n"
            "|  |  |  |  | refused |\n+---+---+---+---+---+\n",
            "nothing to continue",
        ),
    ],
)
def test_calicoctl_refuses(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_node_status(text)


# --- BIRD show protocols ---------------------------------------------------------------


def test_bird_bgp_mode() -> None:
    protocols = parse_protocols(load("bird/bird-1.6-calico-node-bgp-mode.txt"))
    assert [p.name for p in protocols] == [
        "static1",
        "kernel1",
        "device1",
        "direct1",
        "Global_10_0_101_1",
    ]
    assert protocols[0] == BirdProtocol("static1", "Static", "master", "up", "09:10:01", "")
    assert protocols[0].peer_address is None and not protocols[0].established
    leaf = protocols[-1]
    assert (leaf.proto, leaf.state, leaf.info, leaf.established) == (
        "BGP",
        "up",
        "Established",
        True,
    )
    assert leaf.peer_address == "10.0.101.1"


def test_bird_raw_reply_codes_and_down_sessions() -> None:
    protocols = {p.name: p for p in parse_protocols(load("bird/bird-1.6-calico-node-mesh-raw.txt"))}
    assert len(protocols) == 8
    assert protocols["Mesh_10_0_101_102"].established
    refused = protocols["Mesh_10_0_102_101"]
    assert (refused.state, refused.info, refused.established) == (
        "start",
        "Active Socket: Connection refused",
        False,
    )
    assert protocols["Node_10_0_102_1"].peer_address == "10.0.102.1"
    down = protocols["Global_fd00__1_port_1179"]
    assert (down.state, down.info, down.peer_address) == ("down", "", "fd00::1")


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("Mesh_10_0_0_1", "10.0.0.1"),
        ("Node_10_0_102_1_port_1179", "10.0.102.1"),
        ("Global_fd00__1", "fd00::1"),
        ("Global_10_0_0", None),
        ("kernel1", None),
        ("Mesh_", None),
    ],
)
def test_peer_address_from_calico_names(name: str, address: str | None) -> None:
    assert peer_address_of(name) == address


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Unable to connect to server control socket (/var/run/calico/bird.ctl)\n", "birdcl"),
        ("BIRD 1.6.8 ready.\n", "no `name proto table"),
        ("name proto table state since info\nbgp1 BGP master sideways 09:00:00\n", "state"),
        ("name proto table state since info\nbgp1 BGP master up yesterday\n", "since"),
        (
            "name proto table state since info\n"
            "x BGP master up 09:00:00\nx BGP master up 09:00:00\n",
            "twice",
        ),
    ],
)
def test_bird_refuses(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_protocols(text)


# --- show ip route ---------------------------------------------------------------------


def test_frr_text_routes_ecmp_inactive_blackhole_recursive() -> None:
    routes = parse_routes(load("routes/frr-9.1-spine1-show-ip-route.txt"))
    by_prefix = {(r.prefix, r.selected): r for r in routes}
    block = by_prefix[("10.67.209.0/26", True)]
    assert (block.protocol, block.installed, block.distance, block.metric) == ("bgp", True, 20, 0)
    assert block.nexthops == (NextHop("172.16.0.1", "swp1"),)
    alternate = by_prefix[("10.76.172.128/26", False)]
    assert (alternate.installed, alternate.ecmp) == (False, 0)
    assert alternate.nexthops == (NextHop("172.16.0.1", "swp1", active=False),)
    connected = by_prefix[("172.16.0.0/31", True)]
    assert (connected.protocol, connected.nexthops) == ("connected", (NextHop(None, "swp1"),))
    assert by_prefix[("172.16.0.0/32", True)].protocol == "local"
    assert by_prefix[("172.16.255.0/24", True)].nexthops == ()
    recursive = by_prefix[("172.16.255.200/32", True)]
    assert recursive.nexthops[0] == NextHop("10.0.101.1", None, recursive=True)
    assert (recursive.installed, recursive.ecmp) == (False, 1)
    assert by_prefix[("0.0.0.0/0", True)].protocol == "kernel"


def test_nclu_text_unnumbered_ecmp() -> None:
    routes = {r.prefix: r for r in parse_routes(load("routes/nclu-leaf2-net-show-route.txt"))}
    assert len(routes) == 8
    remote = routes["10.65.76.192/26"]
    assert remote.ecmp == 2
    assert [h.interface for h in remote.nexthops] == ["swp51", "swp52"]
    assert remote.nexthops[0].ip == "fe80::4638:39ff:fe00:5b"
    assert routes["10.68.86.128/26"].nexthops == (NextHop("10.0.102.101", "swp1"),)


def test_frr_json_routes() -> None:
    routes = {r.prefix: r for r in parse_routes(load("routes/frr-8.4-leaf1-show-ip-route.json"))}
    spine_routed = routes["10.0.102.0/24"]
    assert (spine_routed.protocol, spine_routed.selected, spine_routed.installed) == (
        "bgp",
        True,
        True,
    )
    assert spine_routed.nexthops == (
        NextHop("172.16.0.0", "swp51"),
        NextHop("172.16.0.4", "swp52"),
    )
    assert routes["10.0.101.0/24"].nexthops == (NextHop(None, "swp1"),)
    unused = routes["10.68.86.128/26"]
    assert (unused.selected, unused.installed, unused.ecmp) == (False, False, 0)
    assert routes["172.16.255.0/24"].nexthops == ()


def test_json_vrf_all_level() -> None:
    inner = load("routes/frr-8.4-leaf1-show-ip-route.json")
    routes = parse_routes('{"default": ' + inner + "}")
    assert len(routes) == 5


def test_text_and_json_agree_on_the_same_routes() -> None:
    text = (
        "B>* 10.0.102.0/24 [20/0] via 172.16.0.0, swp51, weight 1, 03:21:05\n"
        "  *                      via 172.16.0.4, swp52, weight 1, 03:21:05\n"
    )
    (from_text,) = parse_routes(text)
    from_json = parse_routes(load("routes/frr-8.4-leaf1-show-ip-route.json"))[1]
    assert from_text == from_json


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("% Unknown command: show ip rout\n", "device answered"),
        ("B>* 10.0.102.0/33 [20/0] via 172.16.0.0, swp51, 03:21:05\n", "not a prefix"),
        ("Q>* 10.0.102.0/24 [20/0] via 172.16.0.0, swp51, 03:21:05\n", "route code"),
        ("B>* 10.0.102.0/24 [20/0] via nowhere, swp51, 03:21:05\n", "not an address"),
        ("  *   via 172.16.0.4, swp52, weight 1, 03:21:05\n", "before any route"),
        ("B   10.76.172.128/26 [20/0]", "without a next hop"),  # found by fuzzing
        ('{"10.0.0.0/24": {"protocol": "bgp"}}', "list of routes"),
        ('{"10.0.0.0/24": [{"protocol": "bgp", "selected": 1}]}', "true/false"),
        ("[]", "list"),
    ],
)
def test_routes_refuse(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_routes(text)


# --- real captures from the rehearsal lab in BGP mode (FRR 8.4, Debian's BIRD 1.6.8) -----


@pytest.mark.parametrize("suffix", ["txt", "json"])
def test_real_frr84_leaf_with_dynamic_nodes(suffix: str) -> None:
    summary = parse_bgp_summary(load(f"bgp/frr-8.4-rehearsal-leaf1-dynamic-summary.{suffix}"))
    dynamic = sorted(p.neighbor for p in summary.peers if p.dynamic)
    assert dynamic == ["10.0.101.100", "10.0.101.101", "10.0.101.102"]
    assert all(p.established and not p.policy_blocked for p in summary.peers)
    assert {p.remote_as for p in summary.peers if p.dynamic} == {
        4200101100,
        4200101101,
        4200101102,
    }


def test_real_frr84_routes_text_and_json() -> None:
    leaf2 = {
        r.prefix: r for r in parse_routes(load("routes/frr-8.4-rehearsal-leaf2-show-ip-route.txt"))
    }
    assert leaf2["10.66.131.0/26"].ecmp == 2
    assert leaf2["10.68.245.128/26"].nexthops == (NextHop("10.0.102.101", "br0"),)
    spine = parse_routes(load("routes/frr-8.4-rehearsal-spine1-show-ip-route.json"))
    assert sum(1 for r in spine if r.prefix.endswith("/26") and r.protocol == "bgp") == 5


def test_real_bird_168() -> None:
    protocols = parse_protocols(load("bird/bird-1.6.8-rehearsal-node.txt"))
    (session,) = [p for p in protocols if p.proto == "BGP"]
    assert session.established and session.peer_address == "10.0.101.1"
