"""A session on the rehearsal lab with the real backends (FRR over SSH, the
lab's Kubernetes API, tcpdump over SSH) recorded by the TUI and by the
headless `fabrictui record`, then replayed: the replayed state is what the app
showed, the ping mesh and its VXLAN frames are in the recording (and export
as a pcap), the TUI replays it read-only, and a report is written from it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrictui.capture.pcap import decode_pcap_bytes
from fabrictui.config import Settings
from fabrictui.session.record import Recording
from fabrictui.session.record.files import recordings
from fabrictui.session.record.replay import RecordedLab, ReplayDriver
from fabrictui.session.state import LabState
from tests._rehearsal_tui import (
    NODES,
    deploy_and_scale,
    finish_action,
    lab_app,
    loaded,
    nginx_running,
    rehearsal_lab,
    wait_for,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with rehearsal_lab(tmp_path_factory.mktemp("replay") / "lab") as directory:
        yield directory


def sessions(readings) -> dict[tuple[str, str], str]:
    return {
        (name, peer.neighbor): peer.state
        for name, reading in readings.items()
        if reading.summary
        for peer in reading.summary.peers
    }


async def test_a_rehearsal_session_recorded_and_replayed(lab_dir: Path, tmp_path: Path) -> None:
    app = lab_app(lab_dir, record=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        assert app.recorder is not None
        await deploy_and_scale(app, pilot, replicas=4)
        await pilot.press("P")
        await finish_action(app, pilot)
        await pilot.press("escape")
        pod_ips = {p.ip for p in nginx_running(app)}
        await wait_for(
            pilot,
            lambda: any(f.is_vxlan and f.inner_src in pod_ips for f in app.state.overlay.buffer),
            15,
            "the mesh's VXLAN frames",
        )
        await pilot.pause(1.5)  # the last readings committed
        shown = sessions(app.state.readings)
        pods_shown = {k: p.status for k, p in app.state.pods.items()}
        path = app.recorder.path
    assert recordings() == [path]

    rec = Recording(path)
    assert rec.damage is None and rec.ended is not None and rec.lab.kind == "rehearsal"
    driver = ReplayDriver(rec)
    state = LabState(rec.lab, driver.clock)
    driver.bind(state, lambda event: None)
    driver.seek(rec.end)
    assert sessions(state.readings) == shown
    assert {k: p.status for k, p in state.pods.items()} == pods_shown
    assert {n.name for n in state.nodes.values()} == set(NODES)
    assert all(n.ready for n in state.nodes.values())
    t_ping, ping = driver.results["ping"]
    assert len(ping) == 12 and all(r.ok for r in ping.values())
    # the frames of the mesh, as a pcap any tool reads
    out = tmp_path / "mesh.pcap"
    count = rec.export_pcap(out, t_ping - 30, rec.end)
    frames = decode_pcap_bytes(out.read_bytes())
    assert count == len(frames) > 0
    assert any(f.vni == 4096 and f.inner_src in pod_ips and f.icmp_type == 8 for f in frames)
    # before the deploy: nodes NotReady, as the app showed them then
    first_ready = next(
        e.t for e in rec.events if e.kind == "node" and e.data.obj and e.data.obj.ready
    )
    driver.seek(first_ready - 0.001)
    assert not all(n.ready for n in state.nodes.values())

    # the same recording in the TUI, read-only
    from fabrictui.app import make_app

    replay_driver = ReplayDriver(rec)
    settings = Settings(read_only=True, read_only_source="a replay", record=False)
    replay = make_app(RecordedLab(rec), settings, clock=replay_driver.clock, replay=replay_driver)
    async with replay.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        assert "REPLAY" in str(replay.main.query_one("#title-bar").render())
        assert sessions(replay.state.readings) == shown
        await pilot.press("left_curly_bracket")
        await pilot.pause(0.2)
        assert replay_driver.now == pytest.approx(rec.end - 60, abs=0.01) or (
            replay_driver.now == rec.started
        )
    rec.close()

    report = tmp_path / "report.md"
    result = subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", "report", str(path), "--md", "-o", str(report)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    text = report.read_text()
    assert "Ping mesh at " in text and "12/12 pairs answered" in text
    assert "| leaf1 |" in text and "Established" in text


def test_headless_record_of_the_rehearsal_lab(lab_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "headless.rec.sqlite"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fabrictui.cli",
            "record",
            "--lab",
            str(lab_dir),
            "--duration",
            "8s",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    rec = Recording(out)
    driver = ReplayDriver(rec)
    state = LabState(rec.lab, driver.clock)
    driver.bind(state, lambda event: None)
    driver.seek(rec.end)
    assert {"leaf1", "leaf2", "spine-sw1", "spine-sw2"} <= set(state.readings)
    assert all(s == "Established" for s in sessions(state.readings).values())
    assert {n.name for n in state.nodes.values()} == set(NODES)
    rec.close()
