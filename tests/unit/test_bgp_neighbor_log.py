"""A session's last change from FRR's log (issue 26), for a neighbour the switch deleted:
real FRR 8.4.4 log lines and `show logging` of the rehearsal lab
(tests/data/bgp/neighbors/SOURCES.md)."""

from __future__ import annotations

import pytest

from fabrictui.parsers import ParseError
from fabrictui.parsers.bgp.neighbor.logged import bgpd_log_file, last_change
from tests._paths import TEST_DATA

DATA = TEST_DATA / "bgp" / "neighbors"
LOG = (DATA / "frr-8.4.4-rehearsal-leaf1-bgpd.log").read_text()


def test_the_newest_down_with_the_notification_before_it() -> None:
    found = last_change(LOG, "172.16.0.0", "2026/12/07 16:51:06")
    assert found is not None
    assert (found.state, found.reason, found.hostname) == (
        "Down", "BGP Notification received", "spine-sw1",
    )  # fmt: skip
    assert (found.when, found.seconds_ago) == ("2026/12/07 16:50:56", 10)
    note = found.notification
    assert note is not None and (note.direction, note.code, note.subcode) == ("received", 6, 2)
    assert note.words == "Cease / Administrative Shutdown"


def test_an_up_after_the_down_and_other_peers() -> None:
    up_again = LOG + (
        "2026/12/07 16:51:10 BGP: [N9HHH-F8H1M] %ADJCHANGE: neighbor 172.16.0.0(spine-sw1)"
        " in vrf default Up\n"
    )
    found = last_change(up_again, "172.16.0.0")
    assert found is not None and found.state == "Up" and found.notification is None
    assert found.seconds_ago is None  # no clock given
    assert last_change(LOG, "172.16.0.4") is None  # never logged a change
    assert last_change(LOG, "172.16.0.") is None  # a prefix of an address is not the peer


def test_a_notification_long_before_the_down_is_not_its_cause() -> None:
    log = (
        "2026/12/07 10:00:00 BGP: %NOTIFICATION: sent to neighbor swp51 4/0 (Hold Timer Expired)"
        " 0 bytes\n"
        "2026/12/07 11:00:00 BGP: %ADJCHANGE: neighbor swp51(Unknown) in vrf default Down"
        " Peer closed the session\n"
    )
    found = last_change(log, "swp51")
    assert found is not None and found.notification is None and found.hostname is None
    assert found.reason == "Peer closed the session"


def test_the_file_bgpd_logs_to() -> None:
    shown = (DATA / "frr-8.4.4-rehearsal-show-logging.out").read_text()
    assert bgpd_log_file(shown) == "/var/run/frr/ftl-a605d0-leaf1/bgpd.log"
    syslog_only = shown.replace(
        "File logging: level informational, filename /var/run/frr/ftl-a605d0-leaf1/bgpd.log\n"
        "Protocol name: BGP",
        "File logging: disabled\nProtocol name: BGP",
    )
    assert bgpd_log_file(syslog_only) is None  # zebra's file is not bgpd's
    assert bgpd_log_file("% Unknown command: show logging") is None


@pytest.mark.parametrize(("peer", "now"), [("", ""), ("a b", ""), ("x", "yesterday")])
def test_bad_input_is_a_parse_error(peer: str, now: str) -> None:
    with pytest.raises(ParseError):
        last_change(LOG, peer, now)
