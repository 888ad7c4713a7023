"""BGP session detail parsers (issue 26) on real FRR 8.4 and BIRD 1.6.8 output
(tests/data/bgp/neighbors/regenerate.sh) and the hand-made NCLU 3.7 text."""

from __future__ import annotations

import pytest

from fabrictui.parsers import ParseError
from fabrictui.parsers.bgp import parse_bgp_neighbors
from fabrictui.parsers.bgp.bird_session import not_a_protocol, parse_protocols_all
from fabrictui.parsers.bgp.neighbor import codes_of, no_such_neighbor, notification_words
from tests._paths import TEST_DATA

DATA = TEST_DATA / "bgp" / "neighbors"


def read(name: str) -> str:
    return (DATA / name).read_text()


@pytest.mark.parametrize("suffix", ["json", "txt"])
def test_a_notification_received_reads_the_same_from_json_and_text(suffix: str) -> None:
    [n] = parse_bgp_neighbors(read(f"frr-8.4-neighbor-notification-received.{suffix}"))
    assert (n.peer, n.state, n.hostname, n.remote_as, n.local_as) == (
        "172.16.98.1",
        "Active",
        "spine-b.lab.local",
        65001,
        65101,
    )
    assert n.notification is not None
    assert (n.notification.direction, n.notification.code, n.notification.subcode) == (
        "received",
        6,
        2,
    )
    assert n.notification.words == "Cease / Administrative Shutdown"
    assert n.down_seconds == 5 and n.up_seconds is None
    assert (n.hold, n.keepalive, n.hold_configured, n.keepalive_configured) == (9, 3, 9, 3)
    assert ("Notifications", 0, 2) in n.messages and n.messages[-1] == ("Total", 9, 8)
    assert (n.connections_established, n.connections_dropped) == (1, 1)
    assert n.bfd is not None and (n.bfd.status, n.bfd.detect_multiplier, n.bfd.rx_ms) == (
        "Up",
        3,
        300,
    )
    assert [f.family for f in n.families] == ["IPv4 Unicast"]


def test_established_after_the_reset_remembers_it() -> None:
    [n] = parse_bgp_neighbors(read("frr-8.4-neighbor-up-after-reset.json"))
    assert n.established and n.up_seconds == 5 and n.down_seconds is None
    assert n.remote_router_id == "172.16.254.1"
    assert n.last_reset == "BGP Notification received"
    assert n.notification is not None and n.notification.code == 6
    [fam] = n.families
    assert (fam.accepted, fam.advertised) == (1, 2)


def test_every_neighbor_and_the_admin_shutdown() -> None:
    found = parse_bgp_neighbors(read("frr-8.4-neighbors-all-up.json"))
    assert [(n.peer, n.state) for n in found] == [
        ("172.16.98.1", "Established"),
        ("172.16.98.3", "Established"),
        ("172.16.98.5", "Active"),
        ("172.16.98.7", "Idle (Admin)"),
    ]
    text = parse_bgp_neighbors(read("frr-8.4-neighbors-all-up.txt"))
    assert [(n.peer, n.state) for n in text] == [(n.peer, n.state) for n in found]
    assert found[0].bfd is not None and found[1].bfd is None  # BFD only where configured
    [shut] = parse_bgp_neighbors(read("frr-8.4-neighbor-admin-shutdown.txt"))
    assert shut.admin_shutdown and shut.state == "Idle (Admin)"
    assert shut.last_reset == "Admin. shutdown" and shut.notification is None


def test_nclu_37_text_with_an_unnumbered_peer() -> None:
    [n] = parse_bgp_neighbors(read("nclu-3.7-leaf01-swp51-handmade.txt"))
    assert (n.peer, n.hostname, n.state, n.hold, n.keepalive) == (
        "swp51",
        "spine01",
        "Active",
        9,
        3,
    )
    assert n.notification is not None and n.notification.words == "Hold Timer Expired"
    assert (n.notification.code, n.notification.subcode) == (4, 0)
    assert n.down_seconds == 31 and n.remote_router_id is None


@pytest.mark.parametrize("name", ["frr-8.4-neighbor-unknown.json", "frr-8.4-neighbor-unknown.txt"])
def test_no_such_neighbor_is_an_answer_with_the_devices_words(name: str) -> None:
    assert parse_bgp_neighbors(read(name)) == []
    assert no_such_neighbor(read(name))


@pytest.mark.parametrize(
    "text",
    ["% Unknown command: show bgp neighbors", "hello", "[]", '{"warning": "bgp not running"}'],
)
def test_what_is_not_a_neighbor_detail_is_one_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        parse_bgp_neighbors(text)


def test_notification_words_follow_the_rfcs() -> None:
    assert notification_words(4, 0) == "Hold Timer Expired"
    assert notification_words(2, 2) == "OPEN Message Error / Bad Peer AS"
    assert notification_words(6, 99) == "Cease / subcode 99"
    assert codes_of("Cease/Administratively Shutdown") == (6, 2)  # FRR's older words
    assert codes_of("Something else") == (None, None)


def test_bird_session_up_and_down() -> None:
    [up] = parse_protocols_all(read("bird-1.6.8-protocols-all-up.txt"))
    assert (up.bgp_state, up.neighbor_address, up.neighbor_as, up.neighbor_id) == (
        "Established",
        "172.16.98.2",
        65101,
        "172.16.254.101",
    )
    assert up.hold == (6, 9) and up.keepalive == (2, 3)
    assert (up.imported, up.exported, up.import_updates) == (1, 1, (1, 0, 0, 0, 1))
    [down] = parse_protocols_all(read("bird-1.6.8-protocols-all-received-shutdown.txt"))
    assert down.protocol.state == "start" and down.bgp_state == "Active"
    assert down.last_error == "Socket: Connection reset by peer" and down.notification is None
    assert parse_protocols_all(read("bird-1.6.8-protocols-all-unknown.txt")) == []
    assert (
        not_a_protocol(read("bird-1.6.8-protocols-all-unknown.txt")) == "Nope_1 is not a protocol"
    )


def test_bird_last_error_as_a_notification() -> None:
    text = read("bird-1.6.8-protocols-all-connect.txt").replace(
        "    Neighbor AS:      65101",
        "    Neighbor AS:      65101\n    Last error:       Received: Administrative shutdown",
    )
    [s] = parse_protocols_all(text)
    assert s.notification == ("received", "Administrative shutdown")


def test_birdcl_complaint_is_a_parse_error_in_its_words() -> None:
    with pytest.raises(ParseError, match="Unable to connect"):
        parse_protocols_all(
            "Unable to connect to server control socket (/var/run/bird.ctl): No such file"
        )


def test_interfaces_from_a_real_namespace() -> None:
    from fabrictui.parsers.interfaces import parse_interfaces

    found = {
        i.name: i
        for i in parse_interfaces((TEST_DATA / "interfaces" / "netns-leaf.txt").read_text())
    }
    assert (found["swp51"].state, found["swp51"].speed_mbps, found["swp51"].mtu) == (
        "up",
        10000,
        1500,
    )
    assert (found["swp52"].state, found["swp52"].mtu) == ("down", 1400)
    assert found["bridge"].speed_mbps is None and found["lo"].speed_mbps is None
    with pytest.raises(ParseError):
        parse_interfaces("swp1 up 1000")


def test_code_and_subcode_are_hex_as_frr_prints_them() -> None:
    """FRR prints lastErrorCodeSubcode with `%02X%02X`: RFC 9234's Role Mismatch (2, 11)
    is `020B`; an unnumbered peer is keyed by its interface."""
    text = (
        '{"swp51": {"bgpState": "Idle", "remoteAs": 65002, "connectionsDropped": 1,'
        ' "lastResetTimerMsecs": 103000, "lastErrorCodeSubcode": "020B",'
        ' "lastResetDueTo": "BGP Notification send"}}'
    )
    [n] = parse_bgp_neighbors(text)
    assert n.peer == "swp51" and n.down_seconds == 103
    assert n.notification is not None and n.notification.direction == "sent"
    assert (n.notification.code, n.notification.subcode) == (2, 11)
    assert n.notification.words == "OPEN Message Error / Role Mismatch"
