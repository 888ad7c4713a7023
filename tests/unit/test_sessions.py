import time

from fabrictui.intent.bgp_sessions import analyze_sessions, peer_label
from fabrictui.model import BgpPeer, BgpSummary, SwitchReading

EXPECTED = (("leaf1", "spine-sw1"), ("leaf1", "spine-sw2"))


def reading(switch, *peers, error=None):
    summary = None if error else BgpSummary("172.16.255.101", 65101, tuple(peers))
    return SwitchReading(switch, summary, error, time.time())


def peer(host, ip, state="Established"):
    return BgpPeer(ip, f"{host}.lab.local" if host else None, 65001, state, "01:00:00", 3)


def test_healthy_leaf_has_no_problems():
    readings = {
        "leaf1": reading("leaf1", peer("spine-sw1", "172.16.0.0"), peer("spine-sw2", "172.16.0.4"))
    }
    analysis = analyze_sessions(readings, EXPECTED)
    assert analysis.problems() == []
    assert all(v.expected for v in analysis.verdicts)
    assert peer_label(analysis.verdicts[0].peer) == "spine-sw1(172.16.0.0)"


def test_missing_unexpected_and_down_sessions_are_named():
    readings = {
        "leaf1": reading(
            "leaf1",
            peer("spine-sw1", "172.16.0.0", state="Active"),
            peer("rogue", "172.16.9.9"),
        )
    }
    problems = analyze_sessions(readings, EXPECTED).problems()
    assert "leaf1: no session to spine-sw2" in problems
    assert "leaf1: session to spine-sw1 (172.16.0.0) is Active" in problems
    assert "leaf1: unexpected session to rogue (172.16.9.9, Established)" in problems


def test_peer_without_hostname_is_matched_by_address():
    readings = {"leaf1": reading("leaf1", peer(None, "172.16.0.0"), peer(None, "172.16.0.4"))}
    addresses = {"172.16.0.0": "spine-sw1", "172.16.0.4": "spine-sw2"}
    assert analyze_sessions(readings, EXPECTED, addresses).problems() == []
    assert analyze_sessions(readings, EXPECTED).problems() != []


def test_switch_that_did_not_answer_is_reported_not_missing_every_session():
    readings = {"leaf1": reading("leaf1", error="connection refused")}
    analysis = analyze_sessions(readings, EXPECTED)
    assert analysis.unreachable == ("leaf1",)
    assert analysis.problems() == ["leaf1: did not answer"]
