"""The report lists the BGP session changes around its moment (issue 26), derived from the
fabric polls the recording already holds: a session going down, one coming back, and a
dynamic neighbour the switch stopped listing."""

from __future__ import annotations

from fabrictui.model import BgpPeer, BgpSummary, SwitchReading
from fabrictui.report.moment import moment_at
from fabrictui.report.render import markdown
from fabrictui.session.record import Recorder, Recording
from fabrictui.session.record.bgp_changes import GONE, session_changes
from fabrictui.session.state import LabState
from tests.app.test_replay import T0, Clock
from tests.cli.test_record import LAB, host


def fabric(at: float, spine: str, node: str | None) -> dict[str, SwitchReading]:
    peers = [BgpPeer("172.16.0.0", "spine-sw1", 65001, spine, "00:01:00", 3)]
    if node is not None:
        peers.append(BgpPeer("10.0.101.101", None, 4200101101, node, "00:00:30", 1, dynamic=True))
    return {
        "leaf1": SwitchReading("leaf1", BgpSummary("172.16.255.101", 65101, tuple(peers)), None, at)
    }


def test_session_changes_around_the_moment(tmp_path) -> None:
    clock = Clock()
    path = tmp_path / "r.rec.sqlite"
    recorder = Recorder(path, LAB, clock=clock)
    state = LabState(LAB, clock)
    recorder.attach(state)
    state.set_hosts([host("leaf1")])
    for dt, spine, node in [
        (0, "Established", "Established"),
        (10, "Established", "Established"),
        (20, "Idle", "Established"),  # the uplink cut
        (30, "Active", None),  # the node's BIRD stopped: FRR deleted the dynamic neighbour
        (40, "Established", None),
    ]:
        clock.now = T0 + dt
        state.set_readings(fabric(T0 + dt, spine, node))
    recorder.close()
    rec = Recording(path)
    changes = session_changes(rec, T0, T0 + 60)
    assert [(c.t - T0, c.neighbor, c.before, c.after) for c in changes] == [
        (20, "172.16.0.0", "Established", "Idle"),
        (30, "172.16.0.0", "Idle", "Active"),
        (30, "10.0.101.101", "Established", GONE),
        (40, "172.16.0.0", "Active", "Established"),
    ]
    assert changes[0].went_down and not changes[1].went_down
    assert session_changes(rec, T0 + 35, T0 + 60)[0].after == "Established"  # window
    moment = moment_at(rec, T0 + 25)
    assert any(
        "leaf1 172.16.0.0 (spine-sw1): Established -> Idle" in c for c in moment.session_changes
    )
    md = markdown(moment)
    assert "## BGP session changes within 5 min of the moment" in md
    assert "Established -> (gone)" in md
