"""The screen's side of a replay: the keys that move through the recording,
the timeline strip, the recorded time in the header, and the action log and
frames as they were at the moment shown. The state itself is filled by the
`ReplayDriver` (session layer); the panes draw it as they draw a live lab."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from rich.text import Text
from textual.screen import Screen

from fabrictui.model import LabInfo, overall
from fabrictui.render.checks import check_lines, checks_summary
from fabrictui.render.common import Palette
from fabrictui.session.feeds import Event
from fabrictui.session.record.marks import marks
from fabrictui.session.record.recorder import Recorder
from fabrictui.session.record.replay import ReplayDriver, parse_moment
from fabrictui.session.state import LabState
from fabrictui.ui.screens.confirm import AskScreen
from fabrictui.ui.screens.main import MainScreen
from fabrictui.ui.screens.ping_matrix import PingMatrixScreen
from fabrictui.ui.screens.report import TextReportScreen
from fabrictui.ui.screens.trace import TraceScreen
from fabrictui.ui.widgets.action_log import ActionLog
from fabrictui.ui.widgets.overlay_pane import FrameLog
from fabrictui.ui.widgets.timeline import TimelineStrip


class ReplayHost(Protocol):
    """What the replay asks of the app (`app.FabricApp` is the one). Named here, not
    imported: ui/ is below the app, and the layer contract refuses an import of it."""

    state: LabState
    lab: LabInfo
    main: MainScreen
    palette: Palette
    replay: ReplayControls | None
    recorder: Recorder | None

    @property
    def drawing(self) -> bool: ...

    def feed_event(self, event: Event) -> None: ...

    def log_action(self, message: str, level: str = "info") -> None: ...

    def push_screen(self, screen: Screen, callback: Callable[[Any], Any] | None = None) -> Any: ...

    def notify(self, message: str, **kwargs: Any) -> None: ...

    def export_screenshot(self, *, title: str | None = None) -> str: ...


LOG_LINES = 60  # recorded action-log lines shown at a moment
REPLAY_STATUS = (
    "REPLAY  [ ] change  { } minute  g go to  space play  > faster  w pcap  P V T results"
)
PCAP_AROUND = 30.0  # `w` writes the frames this many seconds either side of the moment


class ReplayControls:
    def __init__(self, app: ReplayHost, driver: ReplayDriver) -> None:
        self.app = app
        self.driver = driver
        self.timeline: TimelineStrip | None = None

    def begin(self) -> None:
        """Mount the strip, show the end of the recording, say what was damaged."""
        app, driver = self.app, self.driver
        recording = driver.recording
        driver.bind(app.state, app.feed_event)
        driver.moved = self.moved
        self.timeline = TimelineStrip(driver.start, driver.end, marks(recording), id="timeline")
        app.main.mount(self.timeline, before=app.main.query_one(ActionLog))
        app.main.idle_status = REPLAY_STATUS
        app.main.show_status(None)
        driver.seek(driver.now)  # the end, or where --at said
        app.log_action(
            f"replay of {recording.path.name}: [ ] changes, {{ }} a minute, g go to, "
            "space play, > faster, w pcap around the moment",
            "info",
        )
        if recording.damage:
            app.log_action(recording.damage, "error")
            app.notify(recording.damage, title="damaged recording", severity="error", timeout=15)

    def moved(self) -> None:
        """After every seek: the header, the strip, the log and frames of the moment."""
        app, driver = self.app, self.driver
        if not app.drawing:
            return
        playing = f"  ▶ {driver.speed:g}x" if driver.playing else ""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(driver.now))
        app.main.set_title_note(f"  recorded {stamp}{playing}")
        if self.timeline is not None:
            self.timeline.show(driver.now, app.palette, playing)
        log = app.main.query_one(ActionLog)
        log.clear()
        for t, level, line in driver.log[-LOG_LINES:]:
            log.add(line, level, app.palette, when=t)
        app.main.query_one(FrameLog).clear()
        app.main.tick()

    # -- keys -----

    def step(self, forward: bool) -> None:
        self.driver.seek(self.driver.step_change(forward))

    def minute(self, forward: bool) -> None:
        self.driver.seek(self.driver.now + (60.0 if forward else -60.0))

    def go_to(self) -> None:
        driver = self.driver

        def problem(value: str) -> str | None:
            if parse_moment(value, driver.now, driver.start) is None:
                return "HH:MM[:SS], +90s / -5m from now, or 12m from the start"
            return None

        def answered(value: str | None) -> None:
            if value:
                moment = parse_moment(value, driver.now, driver.start)
                if moment is not None:
                    driver.seek(moment)

        current = time.strftime("%H:%M:%S", time.localtime(driver.now))
        self.app.push_screen(AskScreen("Go to (HH:MM:SS, -5m, +30s):", current, problem), answered)

    def play(self) -> None:
        self.driver.toggle_play()
        self.moved()

    def faster(self) -> None:
        speed = self.driver.faster()
        self.app.log_action(f"replay speed {speed:g}x")
        self.moved()

    # -- the results known at the moment shown (P and V in a replay) -----

    def _result(self, kind: str, what: str):
        found = self.driver.results.get(kind)
        if found is None:
            self.app.log_action(f"no {what} recorded before this moment", "warn")
        return found

    def show_verify(self) -> None:
        found = self._result("verify", "verification")
        if found is None:
            return
        at, checks = found
        when = time.strftime("%H:%M:%S", time.localtime(at))
        title = f"Verify at {when} (recorded): {checks_summary(checks)}"
        body = Text("\n").join(check_lines(checks, self.app.palette))
        self.app.push_screen(TextReportScreen(title, body, "verify-report"))

    def show_ping(self) -> None:
        found = self._result("ping", "ping mesh")
        if found is None:
            return
        at, results = found
        state = self.app.state
        keys = sorted({key for pair in results for key in pair})
        pods = [state.pods[key] for key in keys if key in state.pods]
        if len(pods) < len(keys):
            self.app.log_action("the mesh's pods are gone at this moment: see the report", "warn")
            return
        screen = PingMatrixScreen(pods, state.racks_of_nodes(), self.app.palette)
        by_key = {p.key: p for p in pods}
        failed = [pair for pair, r in results.items() if not r.ok]
        when = time.strftime("%H:%M:%S", time.localtime(at))
        summary = f"{len(results) - len(failed)} of {len(results)} pairs answered at {when}"

        def fill() -> None:
            for (src, dst), result in results.items():
                screen.set_result(by_key[src], by_key[dst], result)
            verdict = overall(r.verdict for r in results.values())
            screen.finish(f"{summary} (recorded)", verdict, [f"{s} -> {d}" for s, d in failed])

        self.app.push_screen(screen)
        screen.call_after_refresh(fill)

    def show_trace(self) -> None:
        found = self._result("trace", "trace")
        if found is None:
            return
        at, result = found
        when = time.strftime("%H:%M:%S", time.localtime(at))
        screen = TraceScreen(f"Trace at {when} (recorded)", self.app.palette)
        self.app.push_screen(screen)
        screen.call_after_refresh(screen.show, result)

    def write_pcap(self) -> None:
        driver = self.driver
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(driver.now))
        path = Path.cwd() / f"fabrictui-replay-{stamp}.pcap"
        try:
            count = driver.recording.export_pcap(
                path, driver.now - PCAP_AROUND, driver.now + PCAP_AROUND
            )
        except OSError as err:
            self.app.log_action(f"cannot write {path}: {err.strerror or err}", "error")
            return
        around = f"{PCAP_AROUND:.0f} s either side of {stamp}"
        if not count:
            path.unlink(missing_ok=True)
            self.app.log_action(f"no frames recorded {around}: no pcap written", "warn")
            return
        self.app.log_action(f"wrote {count} frames ({around}) to {path}", "ok")


async def write_report(app: ReplayHost) -> None:
    """The palette's "report: write the report of now": the moment shown (a
    replay's, or the live session's from its recording) as HTML, with this
    screen's picture, and as Markdown, in the current directory."""
    from fabrictui.report.moment import moment_at
    from fabrictui.report.render import html_page, markdown
    from fabrictui.session.record import Recording, RecordingError

    if app.replay is not None:
        path, at = app.replay.driver.recording.path, app.replay.driver.now
    elif app.recorder is not None:
        path, at = app.recorder.path, app.state.clock()
    else:
        app.log_action("this session is not recorded (--no-record): no report", "warn")
        return

    def build():
        recording = Recording(path)
        try:
            return moment_at(recording, at)
        finally:
            recording.close()

    try:
        moment = await asyncio.to_thread(build)
    except RecordingError as err:
        app.log_action(f"report: {err}", "error")
        return
    svg = app.export_screenshot(title=f"fabrictui {app.lab.name}")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(moment.at))
    base = Path.cwd() / f"fabrictui-report-{stamp}"
    try:
        Path(f"{base}.html").write_text(html_page(moment, svg), encoding="utf-8")
        Path(f"{base}.md").write_text(markdown(moment), encoding="utf-8")
    except OSError as err:
        app.log_action(f"report: cannot write {base}.html: {err.strerror or err}", "error")
        return
    when = time.strftime("%H:%M:%S", time.localtime(moment.at))
    app.log_action(f"report of {when} written: {base}.html and .md", "ok")
