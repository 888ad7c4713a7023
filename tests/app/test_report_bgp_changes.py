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


def test_a_session_down_carries_the_reason_read_then(tmp_path) -> None:
    clock = Clock()
    path = tmp_path / "r.rec.sqlite"
    recorder = Recorder(path, LAB, clock=clock)
    state = LabState(LAB, clock)
    recorder.attach(state)
    state.set_readings(fabric(T0, "Established", None))
    clock.now = T0 + 10
    words = "BGP Notification received; NOTIFICATION received from the peer: Cease / Admin"
    state.note("bgpreset", ["leaf1", "172.16.0.0", "Idle", words])
    state.set_readings(fabric(T0 + 10, "Idle", None))
    clock.now = T0 + 20
    state.note("bgpreset", ["leaf2", "172.16.0.2", "Idle", "not this session's"])
    state.set_readings(fabric(T0 + 20, "Established", None))
    recorder.close()
    rec = Recording(path)
    down, up = session_changes(rec, T0, T0 + 30)
    assert down.reason == words and up.reason == ""
    assert f"Established -> Idle ({words})" in markdown(moment_at(rec, T0 + 12))


async def test_the_fabric_poll_records_why_a_session_went_down() -> None:
    from fabrictui.session.bgp_resets import record_resets, went_down
    from tests.demo_helpers import FAST, frozen_backend

    backend, clock = frozen_backend("ready")
    state = LabState(backend.info(), clock)
    noted: list[tuple[str, object]] = []
    state.listeners.append(lambda kind, data: noted.append((kind, data)))
    before = {s: await backend.bgp_summary(s) for s in ("leaf1", "spine-sw1")}
    await backend.set_fault("stop-spine:spine-sw1", True)
    clock.step(20 / FAST)
    after = {s: await backend.bgp_summary(s) for s in ("leaf1", "spine-sw1")}
    assert went_down(before, after) == [("leaf1", "172.16.0.0")]  # spine-sw1 did not answer
    await record_resets(backend, state, before, after)
    [(kind, data), (detail_kind, detail)] = noted
    assert kind == "bgpreset" and data[:2] == ["leaf1", "172.16.0.0"]
    assert "NOTIFICATION sent by this switch: Hold Timer Expired (code 4, subcode 0)" in data[3]
    # the neighbour detail read for it, whole, as plain data (a replay shows it)
    from fabrictui.session.record.neighbors import neighbor_from_record

    assert detail_kind == "bgpdetail" and detail[:2] == ["leaf1", "172.16.0.0"]
    neighbor = neighbor_from_record(detail[2])
    assert neighbor.notification is not None and neighbor.notification.code == 4
    assert neighbor.hold is not None and neighbor.messages
    await record_resets(backend, state, after, after)  # nothing went down since
    assert len(noted) == 2
