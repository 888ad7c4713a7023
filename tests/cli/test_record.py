"""The session recorder and its file: what goes in comes back, frames as a
valid pcap, commits at least every second, a kill -9 loses at most the last
second, a damaged file opens up to the damage, the size cap prunes."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fabrictui.capture.pcap import decode_pcap_bytes
from fabrictui.capture.synth import build_vxlan_icmp_frame, pcap_global_header, pcap_record
from fabrictui.model import (
    BgpPeer,
    BgpSummary,
    Host,
    KubeNode,
    KubePod,
    LabInfo,
    Role,
    SwitchReading,
    VmState,
    WatchEvent,
)
from fabrictui.session.capture_worker.process import Worker
from fabrictui.session.capture_worker.protocol import (
    DATA,
    END,
    END_CLEAN,
    RECORD,
    START,
    start_payload,
)
from fabrictui.session.record import Recorder, Recording, RecordingError
from fabrictui.session.record.files import prune, recordings
from fabrictui.session.record.format import dumps, loads
from fabrictui.session.state import LabState
from tests._cli import run_fabrictui

LAB = LabInfo("test-lab", "demo", expected_sessions=(("leaf1", "spine1"),))


def frame(seq: int) -> bytes:
    return build_vxlan_icmp_frame(
        outer_src_mac="52:54:00:00:00:01",
        outer_dst_mac="52:54:00:00:00:02",
        outer_src="10.0.101.101",
        outer_dst="10.0.102.101",
        udp_src=40000 + seq % 1000,
        vni=4096,
        inner_src_mac="66:00:00:00:00:01",
        inner_dst_mac="ee:ee:ee:ee:ee:ee",
        inner_src="10.64.1.2",
        inner_dst="10.64.2.3",
        icmp_type=8,
        icmp_id=7,
        icmp_seq=seq,
    )


def host(name: str, role: Role = Role.LEAF) -> Host:
    return Host(name, role, 1, VmState.RUNNING, "demo", "", "10.0.0.1", 65101)


def reading(state: str, at: float) -> dict[str, SwitchReading]:
    peer = BgpPeer("swp51", "spine1", 65000, state, "00:01:00", 3)
    summary = BgpSummary("10.0.0.1", 65101, (peer,))
    return {"leaf1": SwitchReading("leaf1", summary, None, at)}


def pod(name: str, status: str = "Running", restarts: int = 0) -> KubePod:
    return KubePod("space1", name, 1, 1, status, restarts, 1.0, "10.64.1.2", "node1")


def test_codec_round_trip_and_refuses_unknown_types():
    node = KubeNode("node1", True, ("worker",), 1.0, "v1.30", "10.0.101.101")
    for obj in (
        [host("leaf1"), host("spine1", Role.SPINE)],
        reading("Established", 5.0),
        WatchEvent("RELIST", items=(pod("a"), pod("b"))),
        WatchEvent("MODIFIED", obj=node),
        {"a": (1, 2), "b": None},
        LAB,
    ):
        assert loads(dumps(obj)) == obj
    with pytest.raises(ValueError, match="unknown record type"):
        loads('{"@": "Popen", "args": "sh"}')
    with pytest.raises(TypeError):
        dumps(object())


async def test_what_the_state_receives_comes_back_in_order(tmp_path):
    path = tmp_path / "s.rec.sqlite"
    recorder = Recorder(path, LAB)
    state = LabState(LAB, time.time)
    recorder.attach(state)
    state.set_hosts([host("leaf1")])
    state.set_readings(reading("Established", 1.0))
    state.apply_pod_events([WatchEvent("RELIST", items=(pod("a"),))])
    state.apply_pod_events([WatchEvent("MODIFIED", obj=pod("a", "CrashLoopBackOff", 3))])
    state.failed("fabric", "leaf1: no answer")
    recorder.log("error", "verify: 2 of 6 checks failed")
    # one capture stream, cut in the middle of a record, recorded by the capture worker
    data = pcap_global_header() + b"".join(pcap_record(100.0 + i, frame(i)) for i in range(50))
    worker = worker_records(path, "node1", "10.0.101.101", [data[:1000], data[1000:]])
    recorder.close()
    assert recorder.error is None
    assert worker.recording is not None and worker.recording.error is None
    assert worker.recording.dropped == 0

    rec = Recording(path)
    assert rec.damage is None and rec.lab == LAB and rec.ended is not None
    kinds = [e.kind for e in rec.events]
    assert kinds == ["snapshot", "hosts", "fabric", "pod", "pod", "failed", "log"]
    assert rec.events[4].data.obj.status == "CrashLoopBackOff"
    assert rec.events[5].data == ["fabric", "leaf1: no answer"]
    assert rec.frame_count() == 50
    out = tmp_path / "out.pcap"
    assert rec.export_pcap(out, 110.0, 119.5) == 10
    frames = decode_pcap_bytes(out.read_bytes())
    assert [f.icmp_seq for f in frames] == list(range(10, 20))
    rec.close()


def worker_records(path: Path, node: str, address: str, chunks: list[bytes]) -> Worker:
    """The capture worker's own path, in this process: told to record into
    `path`, one stream of `chunks`, ended; its frames written and committed."""
    worker = Worker(100, 10)
    worker.process(RECORD, 0, str(path).encode())
    worker.process(START, 1, start_payload(node, address))
    for chunk in chunks:
        worker.process(DATA, 1, chunk)
    worker.process(END, 1, END_CLEAN)
    assert worker.recording is not None
    worker.recording.close(10.0)
    return worker


def test_what_the_capture_worker_could_not_record_is_noted_as_a_gap(tmp_path):
    """The recorder tells the feeds where the worker writes the frames, and
    notes in the recording what the worker said it could not record."""
    path = tmp_path / "g.rec.sqlite"
    recorder = Recorder(path, LAB)

    class Feeds:
        record_frames = None
        on_record_note = None

    feeds = Feeds()
    recorder.record_frames(feeds)  # type: ignore[arg-type]
    assert feeds.record_frames == path and feeds.on_record_note is not None
    feeds.on_record_note("the recorder fell behind: 64000 frames not recorded")
    recorder.close()
    rec = Recording(path)
    assert [(e.kind, e.data) for e in rec.events] == [
        ("gap", "the recorder fell behind: 64000 frames not recorded")
    ]
    rec.close()


def test_rows_are_committed_within_a_second(tmp_path):
    path = tmp_path / "c.rec.sqlite"
    recorder = Recorder(path, LAB)
    try:
        recorder.log("info", "first line")
        time.sleep(1.0)
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT kind, data FROM events").fetchall()
        finally:
            conn.close()
        assert ("log", dumps(["info", "first line"])) in rows
    finally:
        recorder.close()


WRITER = textwrap.dedent(
    """
    import sys, time
    from fabrictui.model import LabInfo
    from fabrictui.session.record import Recorder
    recorder = Recorder(sys.argv[1], LabInfo("killed", "demo"))
    n = 0
    while True:
        n += 1
        recorder.log("info", f"line {n}")
        print(n, flush=True)
        time.sleep(0.02)
    """
)


def test_kill_9_loses_at_most_the_last_second(tmp_path):
    path = tmp_path / "k.rec.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 3.0
        said = 0
        while time.monotonic() < deadline:
            said = int(proc.stdout.readline())
        os.kill(proc.pid, signal.SIGKILL)
        killed_at = time.time()
    finally:
        proc.kill()
        proc.wait()
    rec = Recording(path)
    assert rec.ended is None  # it never closed
    lines = [e for e in rec.events if e.kind == "log"]
    assert lines, "nothing was committed"
    assert lines[-1].data == ["info", f"line {int(lines[-1].data[1].split()[1])}"]
    kept = int(lines[-1].data[1].split()[1])
    # 50 lines a second: at most a second's worth (and the commit interval is 0.5 s)
    assert said - kept <= 50, (said, kept)
    assert killed_at - lines[-1].t <= 1.0
    rec.close()


def _big_recording(tmp_path: Path) -> Path:
    path = tmp_path / "big.rec.sqlite"
    recorder = Recorder(path, LAB)
    state = LabState(LAB, time.time)
    recorder.attach(state)
    for i in range(3000):
        state.apply_pod_events([WatchEvent("MODIFIED", obj=pod(f"pod-{i % 300}", restarts=i))])
    recorder.close()
    return path


def test_a_truncated_recording_opens_up_to_the_damage(tmp_path):
    path = _big_recording(tmp_path)
    whole = Recording(path)
    total = len(whole.events)
    whole.close()
    cut = tmp_path / "cut.rec.sqlite"
    shutil.copy(path, cut)
    with open(cut, "r+b") as file:
        file.truncate(os.path.getsize(cut) // 2)
    rec = Recording(cut)
    assert rec.damage is not None and "damaged" in rec.damage and str(cut) in rec.damage
    assert 0 < len(rec.events) < total
    # what can be read is right, in order; an event found damaged on the way (a page
    # cut short reads as zeros) ends the recording there, and says so
    data = rec.data_between(0, len(rec.events))
    assert len(data) == len(rec.events) > 0
    restarts = [d.obj.restarts for d, e in zip(data, rec.events, strict=True) if e.kind == "pod"]
    assert restarts == list(range(len(restarts)))
    # and a replay of it shows the last moment it has
    from fabrictui.session.record.replay import ReplayDriver

    driver = ReplayDriver(rec)
    state = LabState(rec.lab, driver.clock)
    driver.bind(state, lambda event: None)
    driver.seek(rec.end)
    assert driver.applied == len(rec.events)
    assert state.pods["space1/pod-0"].restarts <= restarts[-1]
    rec.close()


def test_a_garbled_recording_opens_up_to_the_damage_or_says_why_not(tmp_path):
    path = _big_recording(tmp_path)
    garbled = tmp_path / "garbled.rec.sqlite"
    shutil.copy(path, garbled)
    size = os.path.getsize(garbled)
    with open(garbled, "r+b") as file:
        file.seek(size * 2 // 3)
        file.write(os.urandom(8192))
    rec = Recording(garbled)
    assert rec.damage is not None and "damaged" in rec.damage
    assert len(rec.events) > 0
    rec.close()

    header = tmp_path / "header.rec.sqlite"
    shutil.copy(path, header)
    with open(header, "r+b") as file:
        file.write(b"this is not sqlite at all")
    with pytest.raises(RecordingError, match="not a fabrictui recording"):
        Recording(header)
    with pytest.raises(RecordingError, match="no such recording"):
        Recording(tmp_path / "missing.rec.sqlite")


def test_the_size_cap_prunes_the_oldest_first_and_says_so(tmp_path):
    folder = tmp_path / "recordings"
    folder.mkdir()
    paths = []
    for i in range(4):
        path = folder / f"2026010{i}-000000-lab.rec.sqlite"
        path.write_bytes(b"x" * 400_000)
        os.utime(path, (1000 + i, 1000 + i))
        paths.append(path)
    said = prune(1_000_000, keep=paths[-1], folder=folder)
    assert [p.name for p in recordings(folder)] == [p.name for p in paths[2:]]
    assert len(said) == 2 and paths[0].name in said[0] and "deleted the oldest" in said[0]
    assert prune(1_000_000, keep=paths[-1], folder=folder) == []


def test_headless_record_command_on_the_demo_lab(tmp_path):
    out = tmp_path / "demo.rec.sqlite"
    result = run_fabrictui(
        ["record", "--demo", "ready", "--duration", "3s", "-o", str(out)], timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    rec = Recording(out)
    kinds = {e.kind for e in rec.events}
    assert {"snapshot", "hosts", "fabric", "node", "pod"} <= kinds
    assert rec.ended is not None and rec.damage is None
    assert rec.lab.name.startswith("demo")
    # which lab it was, as every output says it (issue 30): kept, and the report prints it
    assert rec.lab.to_json() == {"kind": "demo", "name": rec.lab.name, "source": "--demo ready"}
    rec.close()
    md = tmp_path / "report.md"
    report = subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", "report", str(out), "--md", "-o", str(md)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert report.returncode == 0, report.stderr
    assert f"- lab: {rec.lab.name} [demo] from --demo ready" in md.read_text()


def test_record_command_refuses_a_bad_duration():
    result = subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", "record", "--demo", "--duration", "soon"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "not a duration" in result.stderr


def test_the_real_record_command_killed_with_9_leaves_a_readable_recording(tmp_path):
    out = tmp_path / "killed.rec.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fabrictui.cli", "record", "--demo", "ready", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert "recording" in proc.stderr.readline()  # started: feeds run from here
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                check = Recording(out)
            except RecordingError:
                continue
            kinds = {e.kind for e in check.events}
            check.close()
            if {"hosts", "fabric", "pod"} <= kinds:
                break
        os.kill(proc.pid, signal.SIGKILL)
        killed_at = time.time()
    finally:
        proc.kill()
        proc.wait()
    rec = Recording(out)
    assert rec.ended is None and rec.damage is None
    assert {"snapshot", "hosts", "fabric", "node", "pod"} <= {e.kind for e in rec.events}
    assert rec.events[-1].t <= killed_at
    rec.close()


def test_a_writer_that_fails_says_so_once_and_stops_taking_items(tmp_path, monkeypatch):
    import fabrictui.session.record.recorder as recorder_module

    def full_disk(obj):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(recorder_module, "dumps", full_disk)
    said: list[str] = []
    recorder = Recorder(tmp_path / "full.rec.sqlite", LAB)
    recorder.on_error = said.append
    state = LabState(LAB, time.time)
    recorder.attach(state)  # the first item written fails
    deadline = time.monotonic() + 5
    while recorder.error is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert recorder.error is not None and "No space left on device" in recorder.error
    assert said == [recorder.error]
    left = recorder._queue.qsize()  # what was queued before it failed
    for _ in range(100):
        state.set_hosts([host("leaf1")])
    assert recorder._queue.qsize() == left
    recorder.close()


def test_the_record_config_keys(tmp_path):
    from fabrictui.config import ConfigError, load_settings

    assert load_settings().record is True  # on by default (no config file)
    good = tmp_path / "good.toml"
    good.write_text("[record]\nenabled = false\nmax_total_mb = 10\n")
    settings = load_settings(good)
    assert settings.record is False and settings.record_cap_mb == 10
    bad = tmp_path / "bad.toml"
    bad.write_text('[record]\nenabled = "no"\n')
    with pytest.raises(ConfigError, match="record has the wrong type"):
        load_settings(bad)
