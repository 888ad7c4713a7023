"""FRR's neighbour JSON of several real versions (issue 26), each parsed for what the
session detail shows: state, the last reset and its NOTIFICATION, timers, message counters,
prefixes (tests/data/bgp/neighbors/SOURCES.md names each one's source and version)."""

from __future__ import annotations

from fabrictui.parsers.bgp import parse_bgp_neighbors
from tests._paths import TEST_DATA

DATA = TEST_DATA / "bgp" / "neighbors"


def neighbors(name: str) -> dict:
    return {n.peer: n for n in parse_bgp_neighbors((DATA / name).read_text())}


def test_the_rehearsal_labs_frr_8_4_4_with_an_uplink_down() -> None:
    found = neighbors("frr-8.4.4-rehearsal-leaf1-uplink-down.json")
    down, up = found["172.16.0.0"], found["172.16.0.4"]
    assert (down.state, down.hostname, down.remote_as, down.local_as) == (
        "Active", "spine-sw1", 65001, 65101,
    )  # fmt: skip
    assert down.last_reset == "Waiting for NHT" and down.notification is None
    assert down.down_seconds == 13 and down.up_seconds is None
    assert (down.connections_established, down.connections_dropped) == (1, 1)
    # no connection: FRR prints "Unknown" for its addresses, which are not addresses
    assert down.local_address is None and down.peer_address is None
    assert (down.hold, down.keepalive, down.hold_configured, down.keepalive_configured) == (
        9, 3, 9, 3,
    )  # fmt: skip
    assert down.messages[-1] == ("Total", 8, 8)
    assert [(f.family, f.accepted) for f in down.families] == [("IPv4 Unicast", 0)]
    assert up.established and up.up_seconds == 23
    assert [(f.accepted, f.advertised) for f in up.families] == [(1, 2)]
    # the same neighbour as the same FRR prints it in text reads the same
    [text] = parse_bgp_neighbors(
        (DATA / "frr-8.4.4-rehearsal-leaf1-uplink-down-172.16.0.0.txt").read_text()
    )
    assert (text.state, text.last_reset, text.down_seconds, text.messages[-1]) == (
        down.state, down.last_reset, down.down_seconds, down.messages[-1],
    )  # fmt: skip
    everything_up = neighbors("frr-8.4.4-rehearsal-leaf1-all-up.json")
    assert all(n.established for n in everything_up.values()) and len(everything_up) == 2


def test_cumulus_3_nclu_json_of_the_frr_4_0_era() -> None:
    found = neighbors("nclu-cumulus3-net-show-bgp-neighbor-json.json")
    admin, collision = found["1.1.1.2"], found["2012:1:1:1::2"]
    assert admin.established and admin.description == "rtr2" and admin.hostname == "rtr2"
    assert admin.last_reset == "Admin. shutdown" and admin.last_reset_seconds == 37619
    assert admin.up_seconds == 1506030  # bgpTimerUpMsec, not the older bgpTimerUp beside it
    # no configured timers printed then: only the negotiated ones
    assert (admin.hold, admin.keepalive, admin.hold_configured) == (9, 3, None)
    assert admin.messages[-1] == ("Total", 605031, 604997)
    assert (admin.connections_established, admin.connections_dropped) == (20, 19)
    note = collision.notification
    assert note is not None and (note.direction, note.code, note.subcode) == ("sent", 6, 7)
    assert note.words == "Cease / Connection Collision Resolution"
    assert [(f.family, f.accepted, f.advertised) for f in collision.families] == [
        ("IPv4 Unicast", 0, None),
        ("IPv6 Unicast", 2, None),
    ]
    assert (collision.local_address, collision.peer_address) == ("2012:1:1:1::1", "2012:1:1:1::2")


def test_a_current_frr_in_sonic() -> None:
    found = neighbors("frr-sonic-show-ipv6-bgp-neighbors.json")
    assert sorted(found) == ["fc00::7a", "fc00::7e"]
    n = found["fc00::7e"]
    assert n.established and n.up_seconds == 77573 and n.description == "ARISTA04T1"
    assert n.hostname is None  # FRR's "Unknown": the peer sent no host name
    assert (n.remote_as, n.local_as, n.remote_router_id) == (64600, 65100, "100.1.0.4")
    assert n.last_reset == "No AFI/SAFI activated for peer" and n.notification is None
    assert (n.hold, n.keepalive, n.hold_configured, n.keepalive_configured) == (
        180, 60, 180, 60,
    )  # fmt: skip
    assert ("Notifications", 1, 2) in n.messages and n.messages[-1] == ("Total", 4505, 4722)
    assert [(f.family, f.accepted, f.advertised) for f in n.families] == [
        ("IPv6 Unicast", 6400, 6412)
    ]
