"""Reports of a recorded moment: what the lab looked like then, the latest
verify and ping results before it with their times, the last actions, the
frames around it; Markdown and self-contained HTML with the TUI's picture."""

from __future__ import annotations

import subprocess
import sys
import time

from fabrictui.model import CheckResult, PingResult
from fabrictui.report.moment import moment_at
from fabrictui.report.render import html_page, markdown
from fabrictui.session.record import Recorder, Recording
from fabrictui.session.state import LabState
from tests.app.test_replay import T0, Clock, make_recording
from tests.cli.test_record import LAB, host, pod, reading


def _with_results(path):
    clock = Clock()
    recorder = Recorder(path, LAB, clock=clock)
    state = LabState(LAB, clock)
    recorder.attach(state)
    state.set_hosts([host("leaf1")])
    state.set_readings(reading("Established", T0))
    from fabrictui.model import WatchEvent

    state.apply_pod_events([WatchEvent("RELIST", items=(pod("web-1"), pod("web-2")))])
    clock.now = T0 + 10
    checks = [
        CheckResult("BGP sessions", True, ("2 of 2 Established",)),
        CheckResult("pods reachable", False, ("web-1 -> web-2: 100% loss",), "leaf1 down"),
    ]
    recorder.result("verify", checks)
    recorder.log("error", "verify: 1 of 2 checks failed")

    class Mesh:
        results = {
            ("space1/web-1", "space1/web-2"): PingResult(
                "space1/web-1", "10.64.2.3", 3, 0, None, None, None
            )
        }

    clock.now = T0 + 20
    recorder.result("ping", Mesh())
    clock.now = T0 + 25
    from fabrictui.capture.transit import PairTransit, TransitSnapshot
    from fabrictui.session.overlay import EMPTY_COUNTERS, DisplayBatch, OverlaySummary

    lossy = PairTransit("10.0.101.101", "10.0.102.101", 40, 7, 0, 0.81, None, None)
    state.apply_overlay(
        OverlaySummary(EMPTY_COUNTERS, DisplayBatch([], 0), 0, 0, (), TransitSnapshot((lossy,)))
    )
    clock.now = T0 + 30
    state.set_readings(reading("Idle", T0 + 30))
    recorder.close()
    return path


def test_a_moment_holds_the_latest_results_before_it(tmp_path):
    rec = Recording(_with_results(tmp_path / "r.rec.sqlite"))
    early = moment_at(rec, T0 + 5)
    assert early.verify is None and early.ping is None
    late = moment_at(rec)  # the end
    assert late.at == T0 + 30
    assert late.verify is not None and late.verify[0] == T0 + 10
    assert [c.passed for c in late.verify[1]] == [True, False]
    assert late.ping is not None and late.ping[0] == T0 + 20
    md = markdown(late)
    assert "# fabrictui report: test-lab at" in md
    assert "| leaf1 | swp51 | spine1 | 65000 | Idle |" in md
    assert "FAIL pods reachable" in md and "cause: leaf1 down" in md
    assert "| space1/web-1 | space1/web-2 | 100% |" in md
    assert "verify: 1 of 2 checks failed" in md
    assert "Ping mesh at " in md and "0/1 pairs answered" in md
    # the transit table as it was: frames lost between the two nodes
    transit = md.split("## Fabric transit", 1)[1].split("##", 1)[0]
    assert "10.0.101.101 → 10.0.102.101" in transit and "0.810 ms" in transit
    assert transit.split("10.0.102.101", 1)[1].split()[2:4] == ["40", "7"]
    page = html_page(late, "<svg>screen</svg>")
    assert page.startswith("<!DOCTYPE html>") and "<svg>screen</svg>" in page
    assert "http://" not in page and "https://" not in page  # self-contained
    assert '<td class="bad">Idle</td>' in page
    rec.close()


async def test_report_command_writes_markdown_and_html_with_the_screen(tmp_path):
    path = await make_recording(tmp_path / "five.rec.sqlite")
    at = time.strftime("%H:%M:%S", time.localtime(T0 + 140))
    md = tmp_path / "r.md"
    run = [sys.executable, "-m", "fabrictui.cli", "report", str(path)]
    result = subprocess.run(
        [*run, "--at", at, "--md", "-o", str(md)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    text = md.read_text()
    assert "| leaf1 | swp51 | spine1 | 65000 | Active |" in text
    assert "| space1/web-1 | 1/1 | Error | 1 |" in text
    assert "VXLAN frames within 5 s of the moment (all)" in text
    page = tmp_path / "r.html"
    result = subprocess.run(
        [*run, "--html", "-o", str(page)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    html = page.read_text()
    assert "<svg" in html and "REPLAY" in html and "Established" in html
    bad = subprocess.run(
        [*run, "--at", "never", "--md", "-o", str(md)], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "not a time" in bad.stderr
    missing = subprocess.run(
        [*run[:-1], str(tmp_path / "none.rec.sqlite"), "--md", "-o", str(md)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "no such recording" in missing.stderr


async def test_the_palette_report_of_now_from_a_replay(tmp_path, monkeypatch):
    from fabrictui.app import make_app
    from fabrictui.config import Settings
    from fabrictui.session.record.replay import RecordedLab, ReplayDriver

    rec = Recording(await make_recording(tmp_path / "five.rec.sqlite"))
    driver = ReplayDriver(rec)
    driver.now = T0 + 140
    settings = Settings(read_only=True, read_only_source="a replay", record=False)
    app = make_app(RecordedLab(rec), settings, clock=driver.clock, replay=driver)
    monkeypatch.chdir(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        await app.action_write_report()
    pages = list(tmp_path.glob("fabrictui-report-*.html"))
    assert len(pages) == 1 and "<svg" in pages[0].read_text()
    assert "Error" in pages[0].with_suffix(".md").read_text()
    rec.close()


async def test_v_and_p_in_a_replay_show_the_results_recorded_before_the_moment(tmp_path):
    from fabrictui.app import make_app
    from fabrictui.config import Settings
    from fabrictui.session.record.replay import RecordedLab, ReplayDriver
    from fabrictui.ui.screens.ping_matrix import PingMatrixScreen
    from fabrictui.ui.screens.report import TextReportScreen

    rec = Recording(_with_results(tmp_path / "r.rec.sqlite"))
    driver = ReplayDriver(rec)
    driver.now = T0 + 5  # before any result
    settings = Settings(read_only=True, read_only_source="a replay", record=False)
    app = make_app(RecordedLab(rec), settings, clock=driver.clock, replay=driver)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("V")
        await pilot.pause(0.1)
        assert (
            "no verification recorded before this moment"
            in app.main.query_one("ActionLog").history[-1]
        )
        driver.seek(T0 + 25)
        await pilot.press("V")
        await pilot.pause(0.2)
        assert isinstance(app.screen, TextReportScreen)
        assert (
            "1/2 checks pass" in app.screen.report_title and "(recorded)" in app.screen.report_title
        )
        await pilot.press("escape")
        await pilot.press("P")
        await pilot.pause(0.3)
        assert isinstance(app.screen, PingMatrixScreen)
        title = str(app.screen.query_one("#matrix-title").render())
        assert "0 of 1 pairs answered" in title and "(recorded)" in title
        assert set(app.screen.results) == {("space1/web-1", "space1/web-2")}
    rec.close()


def _trace_result():
    from fabrictui.actions.trace.model import (
        Correlation,
        Hop,
        HopState,
        ObservationPoint,
        PointKind,
        Sighting,
        TraceResult,
    )

    start = ObservationPoint("k8s-node-l1-1", "cali123", PointKind.POD, "REQUEST", 0)
    lost = ObservationPoint("leaf1", "swp51", PointKind.LEAF_UPLINK, "REQUEST", 3)
    seen = Sighting("k8s-node-l1-1", "cali123", T0 + 9, "10.64.1.2", "10.64.2.3", 8, 7, 1)
    hops = (Hop(start, HopState.SEEN, seen, (1,), 0.0), Hop(lost, HopState.MISSING))
    correlation = Correlation(hops, 7, lost, False, False, None, None, {"leaf1": 0.002})
    return TraceResult(
        "space1/web-1", "space1/web-2", "10.64.1.2", "10.64.2.3", "k8s-node-l1-1",
        "k8s-node-l2-1", correlation, "leaf1's uplink to spine-sw1 is down",
        ("leaf1: swp51 is DOWN",), phases=(("capture", 1.5),),
    )  # fmt: skip


async def test_a_trace_is_recorded_replayed_on_t_and_reported(tmp_path):
    from fabrictui.app import make_app
    from fabrictui.config import Settings
    from fabrictui.session.record.marks import marks
    from fabrictui.session.record.replay import RecordedLab, ReplayDriver
    from fabrictui.ui.screens.trace import TraceScreen

    clock = Clock()
    path = tmp_path / "t.rec.sqlite"
    recorder = Recorder(path, LAB, clock=clock)
    state = LabState(LAB, clock)
    recorder.attach(state)
    clock.now = T0 + 10
    traced = _trace_result()
    recorder.result("trace", traced)
    recorder.close()
    rec = Recording(path)
    assert [e.data for e in rec.events if e.kind == "trace"] == [traced]
    assert any("not delivered: leaf1's uplink" in m.text for m in marks(rec))
    md = markdown(moment_at(rec))
    assert "## Trace at " in md and "NOT delivered" in md and "lost at leaf1 swp51" in md

    driver = ReplayDriver(rec)
    settings = Settings(read_only=True, read_only_source="a replay", record=False)
    app = make_app(RecordedLab(rec), settings, clock=driver.clock, replay=driver)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("T")
        await pilot.pause(0.3)
        assert isinstance(app.screen, TraceScreen) and app.screen.result == traced
    rec.close()


def test_a_report_keeps_what_could_not_be_observed_apart_from_failures(tmp_path):
    """Issue 28: the recording keeps the third verdict, and the report says it in words."""
    path = tmp_path / "r.rec.sqlite"
    clock = Clock()
    recorder = Recorder(path, LAB, clock=clock)
    state = LabState(LAB, clock)
    recorder.attach(state)
    state.set_hosts([host("leaf1")])
    clock.now = T0 + 10
    unseen = "spine-sw1: management SSH not answering; leaf1 sees its session Established"
    checks = [
        CheckResult("leaf BGP sessions", True, ("leaf1: spine-sw1 Established",), unseen=(unseen,)),
        CheckResult.not_observed("VXLAN on the wire", "k8s-node-l2-1: management SSH refused"),
    ]
    recorder.result("verify", checks)

    class Mesh:
        results = {
            ("space1/web-1", "space1/web-2"): PingResult.failed(
                "space1/web-1", "10.64.2.3", "exec in space1/web-1: the API is not answering"
            )
        }

    clock.now = T0 + 20
    recorder.result("ping", Mesh())
    recorder.close()
    late = moment_at(Recording(path))
    assert late.verify is not None
    assert [c.state.value for c in late.verify[1]] == ["pass", "not_observed"]
    md = markdown(late)
    assert "1. PASS leaf BGP sessions" in md and f"not seen: {unseen}" in md
    assert "2. NOT OBSERVED VXLAN on the wire" in md
    assert "not observed: k8s-node-l2-1: management SSH refused" in md
    assert "1/2 checks passed, 1 not observed" in md and "FAIL" not in md
    assert "| space1/web-1 | space1/web-2 | not probed |" in md
    assert "0/1 pairs answered, 1 not probed" in md
