"""Replay: a LabState filled from a recording shows what was known at each
moment (forward, backward, across snapshots), the timeline marks what broke,
and the TUI replays with its badge, keys, refusals and `w`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fabrictui.capture.pcap import decode_pcap_bytes
from fabrictui.capture.synth import pcap_global_header, pcap_record
from fabrictui.config import Settings
from fabrictui.model import WatchEvent
from fabrictui.session.feeds import FEEDS
from fabrictui.session.record import Recorder, Recording
from fabrictui.session.record.marks import marks
from fabrictui.session.record.replay import (
    RecordedLab,
    ReplayDriver,
    next_change,
    parse_moment,
)
from fabrictui.session.state import LabState
from tests.cli.test_record import LAB, frame, host, pod, reading, worker_records

T0 = 1_800_000_000.0  # the recording's first moment


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


async def make_recording(path: Path) -> Path:
    """Five minutes: sessions up, a session down at +130 s and back at +250 s,
    a pod restarting at +140 s, frames every second."""
    clock = Clock()
    recorder = Recorder(path, LAB, clock=clock)
    state = LabState(LAB, clock)
    recorder.attach(state)
    state.set_hosts([host("leaf1")])
    state.apply_pod_events([WatchEvent("RELIST", items=(pod("web-1"),))])
    chunks = [pcap_global_header()]
    for second in range(0, 301):
        clock.now = T0 + second
        if second % 3 == 0:
            up = "Active" if 130 <= second < 250 else "Established"
            state.set_readings(reading(up, clock.now))
        if second == 140:
            state.apply_pod_events([WatchEvent("MODIFIED", obj=pod("web-1", "Error", 1))])
        if second == 150:
            state.apply_pod_events([WatchEvent("MODIFIED", obj=pod("web-1", "Running", 1))])
        if second == 200:
            recorder.log("error", "verify: 1 of 6 checks failed")
        chunks.append(pcap_record(clock.now, frame(second)))
    worker_records(path, "node1", "10.0.101.101", chunks)  # the capture worker writes frames
    recorder.close()
    return path


@pytest.fixture
async def recording(tmp_path):
    rec = Recording(await make_recording(tmp_path / "five.rec.sqlite"))
    yield rec
    rec.close()


def bound(rec: Recording) -> tuple[ReplayDriver, LabState, list]:
    driver = ReplayDriver(rec)
    state = LabState(rec.lab, driver.clock)
    told: list = []
    driver.bind(state, told.append)
    return driver, state, told


def session_state(state: LabState) -> str:
    return state.readings["leaf1"].summary.peers[0].state


async def test_every_moment_shows_what_was_known_then(recording):
    driver, state, told = bound(recording)
    assert len([e for e in recording.events if e.kind == "snapshot"]) >= 5
    for at, expected_session, expected_pod in (
        (T0 + 100, "Established", "Running"),
        (T0 + 140.5, "Active", "Error"),
        (T0 + 299, "Established", "Running"),
        (T0 + 135, "Active", "Running"),  # backwards, across a snapshot
        (T0 + 10, "Established", "Running"),
        (T0 + 260, "Established", "Running"),  # forwards, several snapshots ahead
    ):
        driver.seek(at)
        assert driver.now == at
        assert session_state(state) == expected_session, at
        assert state.pods["space1/web-1"].status == expected_pod, at
        assert [h.name for h in state.hosts] == ["leaf1"]
        # the answer's time is the recorded one: freshness is judged at the moment shown
        assert at - 3 <= state.last_answer["fabric"] <= at
    assert {event.part for event in told[-len(FEEDS) :]} == set(FEEDS)  # every pane is told
    # the frames of the two seconds before the moment, decoded
    driver.seek(T0 + 200)
    shown = state.overlay.take_for_display().frames
    assert [f.icmp_seq for f in shown] == [198, 199, 200]
    assert [line for _t, level, line in driver.log if level == "error"] == [
        "verify: 1 of 6 checks failed"
    ]
    driver.seek(T0 + 199)
    assert driver.log == []


async def test_changes_and_marks(recording):
    assert next_change(recording, T0 + 100, True) == T0 + 102
    marked = marks(recording)
    bad = [(m.t - T0, m.text) for m in marked if m.level == "bad"]
    assert (132, "BGP: 0 of 1 sessions up") in bad
    assert (140, "pod space1/web-1 Error, 1 restarts") in bad
    assert (200, "verify: 1 of 6 checks failed") in bad
    good = [m.t - T0 for m in marked if m.level == "good"]
    assert good == [252]


def test_moments_typed_at_g():
    start = time.mktime((2026, 11, 30, 2, 0, 0, 0, 0, -1))
    assert parse_moment("02:13", start + 5, start) == start + 13 * 60
    assert parse_moment("02:13:30", start, start) == start + 13 * 60 + 30
    assert parse_moment("-5m", start + 600, start) == start + 300
    assert parse_moment("+30s", start, start) == start + 30
    assert parse_moment("90", start + 1000, start) == start + 90
    assert parse_moment("soon", start, start) is None


async def test_export_around_a_moment_is_a_valid_pcap(recording, tmp_path):
    out = tmp_path / "around.pcap"
    assert recording.export_pcap(out, T0 + 10, T0 + 20) == 11
    assert [f.icmp_seq for f in decode_pcap_bytes(out.read_bytes())] == list(range(10, 21))


async def test_the_tui_replays_read_only_with_its_badge_keys_and_strip(recording, tmp_path):
    from fabrictui.app import make_app
    from fabrictui.ui.widgets.action_log import ActionLog
    from fabrictui.ui.widgets.timeline import TimelineStrip

    driver = ReplayDriver(recording)
    settings = Settings(read_only=True, read_only_source="a replay of five", record=False)
    app = make_app(RecordedLab(recording), settings, clock=driver.clock, replay=driver)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.3)
        title = str(app.main.query_one("#title-bar").render())
        assert "REPLAY" in title and "recorded " in title
        assert time.strftime("%H:%M:%S", time.localtime(T0 + 300)) in title
        strip = app.main.query_one(TimelineStrip)
        assert "█" in strip.render().plain and "^" in strip.render().plain
        assert driver.now == T0 + 300
        await pilot.press("left_curly_bracket")  # a minute back
        await pilot.pause(0.1)
        assert driver.now == T0 + 240 and session_state(app.state) == "Active"
        await pilot.press("right_square_bracket")  # the next change
        await pilot.pause(0.1)
        assert driver.now == T0 + 243
        await pilot.press("left_square_bracket", "left_square_bracket")
        await pilot.pause(0.1)
        assert driver.now == T0 + 237
        await pilot.press("g")
        await pilot.pause(0.2)
        await pilot.press("ctrl+a", "ctrl+k", *"-100s", "enter")
        await pilot.pause(0.2)
        assert driver.now == T0 + 137
        # an action that changes a lab is refused, with the reason
        await pilot.press("D")
        await pilot.pause(0.2)
        logged = list(app.main.query_one(ActionLog).history)
        assert any("refused" in line and "a replay of five" in line for line in logged), logged
        # w: the frames around the moment, as a pcap in the current directory
        import os

        here = os.getcwd()
        os.chdir(tmp_path)
        try:
            await pilot.press("w")
            await pilot.pause(0.2)
        finally:
            os.chdir(here)
        written = list(tmp_path.glob("fabrictui-replay-*.pcap"))
        assert len(written) == 1
        assert len(decode_pcap_bytes(written[0].read_bytes())) == 61
        # space plays at 1x, > goes faster
        await pilot.press("space")
        await pilot.press("greater_than_sign")
        await pilot.pause(0.6)
        assert driver.playing and driver.speed == 2.0 and driver.now > T0 + 137
        await pilot.press("space")
        assert not driver.playing


async def test_a_live_app_records_and_no_record_stops_it(tmp_path):
    from fabrictui.app import make_app
    from fabrictui.session.record.files import recordings
    from tests.demo_helpers import fast_backend

    app = make_app(fast_backend("ready"), Settings())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(1.0)
        assert app.recorder is not None
        await pilot.press("t")  # the action log is recorded too
        await pilot.pause(0.1)
    found = recordings()
    assert len(found) == 1
    rec = Recording(found[0])
    assert rec.ended is not None and {"hosts", "fabric", "pod"} <= {e.kind for e in rec.events}
    assert any(e.kind == "log" and e.data[1].startswith("theme: ") for e in rec.events)
    rec.close()

    app = make_app(fast_backend("ready"), Settings(record=False))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        assert app.recorder is None
    assert len(recordings()) == 1


def test_replay_command_says_why_it_cannot_open(tmp_path):
    import subprocess
    import sys

    run = [sys.executable, "-m", "fabrictui.cli", "replay"]
    latest = subprocess.run([*run, "latest"], capture_output=True, text=True, timeout=60)
    assert latest.returncode == 2 and "no recordings in" in latest.stderr
    garbage = tmp_path / "x.rec.sqlite"
    garbage.write_bytes(b"not a recording" * 100)
    bad = subprocess.run([*run, str(garbage)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "not a fabrictui recording" in bad.stderr


def test_the_strip_marks_changes_and_labels_the_moment():
    from fabrictui.render.common import Palette
    from fabrictui.session.record.marks import Mark
    from fabrictui.ui.widgets.timeline import strip_text

    found = [Mark(T0 + 30, "bad", "BGP: 4 of 6 sessions up"), Mark(T0 + 60, "good", "up")]
    marks_line, moment = strip_text(T0, T0 + 100, found, T0 + 40, 80, Palette()).plain.split("\n")
    assert len(marks_line) == len(moment) == 80
    assert marks_line[24] == "█" and marks_line[48] == "▲" and marks_line.count("─") == 78
    assert moment[32] == "^" and "BGP: 4 of 6 sessions up" in moment[33:]
    at_end = strip_text(T0, T0 + 100, found, T0 + 100, 80, Palette()).plain.split("\n")[1]
    assert at_end.endswith("^") and " up " in at_end  # the label left of the cursor


async def test_calico_bgp_mode_state_is_recorded_and_replayed(tmp_path):
    from fabrictui.parsers.calico import CalicoPeer

    clock = Clock()
    path = tmp_path / "bgp.rec.sqlite"
    recorder = Recorder(path, LAB, clock=clock)
    state = LabState(LAB, clock)
    recorder.attach(state)
    up = CalicoPeer("10.0.101.1", "global", "up", "07:00:00", "Established")
    down = CalicoPeer("10.0.101.1", "global", "start", "07:01:00", "Active Socket: refused")
    clock.now = T0 + 10
    state.set_node_bgp("bgp", {"node1": (up,), "node2": "cannot exec into calico-node"})
    clock.now = T0 + 100  # past a snapshot
    state.set_hosts([host("leaf1")])
    clock.now = T0 + 110
    state.set_node_bgp("bgp", {"node1": (down,), "node2": "cannot exec into calico-node"})
    recorder.close()
    rec = Recording(path)
    driver, replayed, _told = bound(rec)
    for at, peer in ((T0 + 50, up), (T0 + 105, up), (T0 + 115, down), (T0 + 20, up)):
        driver.seek(at)
        assert replayed.calico_mode == "bgp"
        assert replayed.node_bgp["node1"] == (peer,), at
        assert replayed.node_bgp["node2"] == "cannot exec into calico-node"
    driver.seek(T0)
    assert replayed.node_bgp == {} and replayed.calico_mode is None
    rec.close()


async def test_transit_is_recorded_and_replayed_and_frames_show_once(tmp_path):
    """What the transit view showed at a moment comes back at that moment; the
    frames of the moment show once each, although both nodes' captures are
    recorded (the live pane's rule: counted where sent)."""
    from fabrictui.capture.transit import PairTransit, TransitSnapshot
    from fabrictui.session.overlay import EMPTY_COUNTERS, DisplayBatch, OverlaySummary

    clock = Clock()
    path = tmp_path / "transit.rec.sqlite"
    recorder = Recorder(path, LAB, clock=clock)
    state = LabState(LAB, clock)
    recorder.attach(state)

    def summary(lost: int) -> OverlaySummary:
        pair = PairTransit("10.0.101.101", "10.0.102.101", 40, lost, 0, 0.8, 0.75, 0.05)
        return OverlaySummary(
            EMPTY_COUNTERS, DisplayBatch([], 0), 0, 0, (), TransitSnapshot((pair,))
        )

    clock.now = T0 + 10
    state.apply_overlay(summary(0))
    clock.now = T0 + 100  # past a snapshot
    state.set_hosts([host("leaf1")])
    clock.now = T0 + 110
    state.apply_overlay(summary(3))
    chunks = [pcap_global_header()] + [pcap_record(T0 + 100 + s, frame(s)) for s in range(5)]
    recorder.close()
    worker_records(path, "node1", "10.0.101.101", chunks)  # sent by node1...
    later = [pcap_global_header()] + [pcap_record(T0 + 100.001 + s, frame(s)) for s in range(5)]
    worker_records(path, "node2", "10.0.102.101", later)  # ...and seen arriving at node2
    rec = Recording(path)
    driver, replayed, _told = bound(rec)
    for at, lost in ((T0 + 50, 0), (T0 + 115, 3), (T0 + 20, 0)):
        driver.seek(at)
        assert replayed.overlay.transit.pairs[0].lost == lost, at
    driver.seek(T0 + 104.5)
    shown = replayed.overlay.take_for_display().frames
    assert [(f.node, f.icmp_seq) for f in shown] == [("node1", 3), ("node1", 4)]
    rec.close()


async def test_replay_counts_a_frame_where_it_was_seen_when_its_sender_was_not_captured(tmp_path):
    """Node2's capture started late: before that, what node1 received from node2 is the
    only sighting there is, and the moment shows it."""
    from fabrictui.capture.synth import build_vxlan_icmp_frame

    def back(seq: int) -> bytes:  # node2 -> node1
        return build_vxlan_icmp_frame(
            outer_src_mac="52:54:00:00:00:02", outer_dst_mac="52:54:00:00:00:01",
            outer_src="10.0.102.101", outer_dst="10.0.101.101", udp_src=40000, vni=4096,
            inner_src_mac="ee:ee:ee:ee:ee:ee", inner_dst_mac="66:00:00:00:00:01",
            inner_src="10.64.2.3", inner_dst="10.64.1.2", icmp_type=0, icmp_id=7, icmp_seq=seq,
        )  # fmt: skip

    clock = Clock()
    path = tmp_path / "late.rec.sqlite"
    recorder = Recorder(path, LAB, clock=clock)
    recorder.attach(LabState(LAB, clock))
    clock.now = T0 + 200
    recorder.close()
    early = [pcap_global_header()] + [pcap_record(T0 + 1 + s, back(s)) for s in range(3)]
    worker_records(path, "node1", "10.0.101.101", early)
    late = [pcap_global_header()] + [pcap_record(T0 + 150 + s, back(10 + s)) for s in range(3)]
    worker_records(path, "node2", "10.0.102.101", late)
    rec = Recording(path)
    driver, state, _told = bound(rec)
    driver.seek(T0 + 3.5)
    assert [f.icmp_seq for f in state.overlay.take_for_display().frames] == [1, 2]
    rec.close()
