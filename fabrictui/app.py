"""The Textual application: keys, themes, and the glue between the session
layer and the main screen.

The lab's state lives in `LabState` (fabrictui.session), filled by the
`FeedSupervisor`; actions live with the `ActionRunner`; the layout with
`MainScreen`. The app builds them, passes what changed from one to the other,
and stops everything it started when it ends, however it ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from textual.app import App
from textual.screen import Screen

from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.config import Settings
from fabrictui.render.common import Palette
from fabrictui.render.frames import frame_lines
from fabrictui.session.capture_worker import WorkerGone
from fabrictui.session.ending import ExitDeadline
from fabrictui.session.feeds import Changed, Event, Failed, FeedCrashed, FeedSupervisor
from fabrictui.session.mapping import note_result
from fabrictui.session.record.replay import ReplayDriver
from fabrictui.session.record.session import record_session
from fabrictui.session.runner import ActionRunner
from fabrictui.session.state import LabState
from fabrictui.ui import actions_mtu, actions_ui
from fabrictui.ui.commands import FabricCommands
from fabrictui.ui.ending import AppEnding
from fabrictui.ui.guards import draws
from fabrictui.ui.keys import APP_BINDINGS
from fabrictui.ui.messages import FabricUpdated, FeedStopped, HostsUpdated, SourceFailed
from fabrictui.ui.replay import ReplayControls, write_report
from fabrictui.ui.screens import history
from fabrictui.ui.screens.confirm import ConfirmScreen
from fabrictui.ui.screens.main import MainScreen
from fabrictui.ui.screens.map import MapScreen
from fabrictui.ui.screens.ping_matrix import PingMatrixScreen
from fabrictui.ui.terminal import TerminalDriver
from fabrictui.ui.themes import DEFAULT_THEME, load_themes
from fabrictui.ui.widgets.kube_pane import KubePane
from fabrictui.ui.widgets.overlay_pane import OverlayPane
from fabrictui.ui.widgets.vm_pane import VmPane

RECORDER_CLOSE_WAIT = 3.0  # seconds the session recording gets to finish at exit
# each step of stopping (actions, feeds, the lab), at most: short, so that a hung one
# leaves the next its turn within the process's exit deadline (session.ending)
STOP_STEP_SECONDS = 1.5


class FabricApp(App[None]):
    CSS_PATH = "ui/app.tcss"
    TITLE = "fabrictui"
    COMMANDS = App.COMMANDS | {FabricCommands}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = APP_BINDINGS

    def __init__(
        self,
        backend: LabBackend,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.time,
        live: bool = True,
        replay: ReplayDriver | None = None,
        deadline: ExitDeadline | None = None,
    ) -> None:
        super().__init__(driver_class=TerminalDriver)
        self.backend = backend
        self.settings = settings or Settings()
        self.live = live  # False: no feeds (snapshot tests fill the state themselves)
        self.lab = backend.info()
        self.palette = Palette()
        self.state = LabState(
            self.lab,
            clock,
            self.settings.overlay_buffer_frames,
            poll_seconds={
                "hosts": self.settings.host_poll_seconds,
                "fabric": self.settings.fabric_poll_seconds,
            },
            stale_after_polls=self.settings.stale_after_polls,
        )
        self.feeds = FeedSupervisor(
            backend,
            self.state,
            self.feed_event,
            self.settings.host_poll_seconds,
            self.settings.fabric_poll_seconds,
            self.settings.overlay_buffer_frames,
        )
        read_only = self.settings.read_only_source if self.settings.read_only else None
        self.runner = ActionRunner(self.lab.name, read_only, self)
        self.runner.result_listeners.append(lambda _, done: note_result(self.state, done))
        self.trace_pair: tuple[str, str] | None = None  # the last failed pair, for `T`
        self.main = MainScreen(
            self.state, self.settings.read_only, min(self.settings.overlay_buffer_frames, 5000)
        )
        self.theme_problems: list[str] = []
        # a replay fills the state from a recording (its driver uses `clock`), else feeds
        self.replay = ReplayControls(self, replay) if replay is not None else None
        self.recorder = None  # the session's Recorder while a live session is recorded
        self.ending = AppEnding(self._end, deadline)
        self._register_themes()

    def get_default_screen(self) -> Screen:
        return self.main

    def on_mount(self) -> None:
        self.set_keymap(self.settings.keymap)
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        else:
            self.theme = DEFAULT_THEME
            self.theme_problems.append(f"unknown theme {self.settings.theme!r}")
        for problem in self.theme_problems:
            self.notify(f"theme skipped: {problem}", severity="warning")

    def on_main_screen_ready(self) -> None:
        kind = "" if self.lab.kind in self.lab.name else f" ({self.lab.kind})"
        self.log_action(f"lab: {self.lab.name}{kind}", "info")
        if self.lab.hint:
            self.log_action(self.lab.hint, "warn")
            title = f"{self.lab.badge} lab" if self.lab.badge else self.lab.name
            self.notify(self.lab.hint, title=title, timeout=12)
        # the screen's own timers: they end with the screen, never drawing into
        # widgets already gone while the app shuts down
        self.main.set_interval(0.1, self._draw_overlay)
        # each table change makes the DataTable re-render every visible cell at the
        # next paint; four batches a second stay live without repainting per event
        self.main.set_interval(0.25, self._apply_kube_changes)
        self.main.set_interval(1.0, self._tick)
        self.ending.install()
        if self.replay is not None:
            self.replay.begin()
        elif self.live:
            self.recorder, said = record_session(self.state, self.feeds, self.settings, self.runner)
            for line in said:
                self.log_action(line, "info" if self.recorder else "warn")
            if self.recorder is not None:  # a full disk stops it: said once, in the log
                self.recorder.on_error = lambda error: self.call_from_thread(
                    self.log_action, error, "error"
                )
            self.run_worker(self._start_backend(), group="start", exit_on_error=False)

    # -- themes -----

    def _register_themes(self) -> None:
        loaded = load_themes(self.settings.themes_dir)
        for theme in loaded.themes:
            self.register_theme(theme)
        self.theme_problems.extend(loaded.problems)

    def watch_theme(self, theme: str) -> None:
        self.palette = Palette.from_variables(self.theme_variables)
        if self.main.is_mounted:
            self.main.set_palette(self.palette)

    def fabric_themes(self) -> list[str]:
        return sorted(name for name in self.available_themes if name.startswith("fabric-"))

    def action_cycle_theme(self) -> None:
        names = self.fabric_themes()
        current = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(current + 1) % len(names)]
        self.log_action(f"theme: {self.theme}", "info")

    # -- feeds -----

    async def _start_backend(self) -> None:
        try:
            await self.backend.start()
        except BackendError as err:
            self.log_action(f"lab did not start: {err}", "error")
            # the hosts feed will meet the same error: it is said once
            self.state.failed("hosts", str(err))
        if not self.ending.stopping:
            self.feeds.start()

    def feed_event(self, event: Event) -> None:
        """From the supervisor (on this loop): tell the screen, through the queue."""
        if isinstance(event, Changed):
            if event.part == "hosts":
                self.post_message(HostsUpdated(self.state.hosts))
            elif event.part == "fabric":
                self.post_message(FabricUpdated(self.state.readings))
            elif event.part == "pods" and self.state.pods_relisted and self.drawing:
                # a whole new list: the rows in view are drawn now, not at the next batch
                self.call_later(self._apply_kube_changes)
        elif isinstance(event, Failed):
            self.post_message(SourceFailed(event.source, event.error, event.first))
        elif isinstance(event, FeedCrashed):
            self.post_message(FeedStopped(event.feed, event.error, event.retry_in, event.first))

    @draws
    def on_hosts_updated(self, message: HostsUpdated) -> None:
        self.main.query_one(VmPane).redraw()

    @draws
    def on_fabric_updated(self, message: FabricUpdated) -> None:
        self.main.pane(2).redraw()

    @draws
    def on_source_failed(self, message: SourceFailed) -> None:
        if message.first:
            self.log_action(f"{message.source}: {message.error}", "error")
        self._tick()

    @draws
    def on_feed_stopped(self, message: FeedStopped) -> None:
        if message.first:
            self.log_action(
                f"{message.feed} feed stopped: {message.error}; "
                f"restarting in {message.retry_in:.0f} s (and backing off)",
                "error",
            )

    @property
    def drawing(self) -> bool:
        """The main screen is there to draw on (not before start-up, not at exit)."""
        return self.main.is_attached and not self.ending.stopping

    @draws
    def _tick(self) -> None:
        self.main.tick()

    @draws
    def _apply_kube_changes(self) -> None:
        self.main.query_one(KubePane).apply_changes()

    @draws
    def _draw_overlay(self) -> None:
        batch = self.state.overlay.take_for_display()
        if not batch.frames and not batch.skipped:
            return
        names = self.state.names_by_ip()
        self.main.query_one(OverlayPane).show_batch(batch, names)
        if isinstance(self.screen, PingMatrixScreen):
            lines = frame_lines(batch.frames[-50:], names, self.screen.size.width)
            self.screen.add_frame_lines(lines)

    # -- the runner's port: log, ask, status -----

    def log_action(self, message: str, level: str = "info") -> None:
        if self.recorder is not None:
            self.recorder.log(level, message)
        if self.drawing:
            self.main.log_line(message, level)

    def refused(self, message: str) -> None:
        self.log_action(message, "warn")
        self.notify(message, severity="warning")

    async def confirm(self, question: str, plan: Sequence[str]) -> bool:
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def answered(yes: bool | None) -> None:
            if not answer.done():
                answer.set_result(bool(yes))

        self.push_screen(ConfirmScreen(question, list(plan)), answered)
        return await answer

    def show_status(
        self, running: str | None, message: str = "", fraction: float | None = None
    ) -> None:
        if self.drawing:
            self.main.show_status(running, message, fraction)

    # -- keys: overlay -----

    def action_toggle_pause(self) -> None:
        if self.replay is not None:  # space plays and pauses a replay
            self.replay.play()
            return
        paused = self.state.overlay.toggle_pause()
        pane = self.main.query_one(OverlayPane)
        pane.note(
            "-- paused: frames are still counted and kept for w --" if paused else "-- resumed --"
        )
        self.log_action("overlay paused" if paused else "overlay resumed")
        self.main.tick()

    def action_toggle_transit(self) -> None:
        self.main.query_one(OverlayPane).toggle_transit()
        self.main.action_focus_pane(4)  # the view changed in the overlay pane: show it

    async def action_write_pcap(self) -> None:
        if self.replay is not None:  # the recorded frames around the moment shown
            self.replay.write_pcap()
            return
        # the capture worker holds the frames and writes them: nothing big crosses to here
        if not self.state.overlay.buffered:
            self.log_action("nothing captured yet: no pcap written", "warn")
            return
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.state.clock()))
        path = Path.cwd() / f"fabrictui-{stamp}.pcap"
        try:
            count = await self.feeds.write_pcap(path)
        except (OSError, TimeoutError, WorkerGone) as err:
            why = getattr(err, "strerror", None) or str(err) or type(err).__name__
            self.log_action(f"cannot write {path}: {why}", "error")
            return
        if not count:
            self.log_action("nothing captured yet: no pcap written", "warn")
            return
        self.log_action(f"wrote {count} frames to {path}", "ok")

    # -- keys: replay -----

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # the replay keys exist only in a replay (hidden from help and the footer otherwise);
        # live, `{` opens the fabric's Prometheus history when the lab has one
        if action == "replay_minute" and self.replay is None:
            return history.available(self.backend)
        return self.replay is not None if action.startswith("replay_") else True

    def action_replay_step(self, forward: int) -> None:
        if self.replay is not None:
            self.replay.step(bool(forward))

    def action_replay_minute(self, forward: int) -> None:
        if self.replay is not None:
            self.replay.minute(bool(forward))
        elif not forward:
            history.open_history(self)

    def action_replay_goto(self) -> None:
        if self.replay is not None:
            self.replay.go_to()

    def action_replay_faster(self) -> None:
        if self.replay is not None:
            self.replay.faster()

    async def action_write_report(self) -> None:
        await write_report(self)

    # -- keys: hosts -----

    def selected_host(self) -> str | None:
        return self.main.query_one(VmPane).selected_host()

    def action_ssh(self) -> None:
        host = self.selected_host()
        if host is None:
            self.log_action("select a host in the VM pane (1) first", "warn")
            return
        argv = self.backend.ssh_command(host)
        if argv is None:
            self.log_action(f"{host}: this lab offers no interactive ssh", "warn")
            return
        import subprocess

        with self.suspend():
            try:
                subprocess.run(argv, check=False)
            except OSError as err:
                print(f"cannot run {argv[0]}: {err}")
        self.log_action(f"ssh session to {host} ended")

    # -- keys: actions -----

    def action_deploy_calico(self) -> None:
        actions_ui.deploy_calico(self)

    def action_scale(self) -> None:
        actions_ui.scale(self)

    def action_ping_mesh(self) -> None:
        if self.replay is not None:  # the recorded result known at the moment shown
            self.replay.show_ping()
            return
        actions_ui.ping_mesh(self)

    def action_verify(self) -> None:
        if self.replay is not None:  # the recorded result known at the moment shown
            self.replay.show_verify()
            return
        actions_ui.verify(self)

    def action_trace(self, to_service: bool = False) -> None:
        if self.replay is not None:  # the recorded result known at the moment shown
            self.replay.show_trace()
            return
        (actions_ui.trace_service if to_service else actions_ui.trace)(self)

    def action_mtu(self) -> None:
        actions_mtu.mtu(self)

    def action_map(self) -> None:
        if not isinstance(self.screen, MapScreen):
            self.push_screen(MapScreen(self.state))

    def action_routes(self) -> None:
        actions_ui.routes(self)

    def action_vm_action(self, action: str) -> None:
        actions_ui.vm_action(self, action, self.selected_host())

    def toggle_fault(self, fault_id: str, active: bool, title: str) -> None:
        actions_ui.toggle_fault(self, fault_id, active, title)

    def action_cancel_action(self) -> None:
        self.runner.cancel()

    def action_help(self) -> None:
        from fabrictui.ui.screens.help import help_screen

        rows = {}
        for active in self.active_bindings.values():
            binding = active.binding
            if binding.id is not None:
                rows[binding.id] = (self.get_key_display(binding), binding)
        self.push_screen(help_screen(rows, self.settings.keymap))

    # -- the end, however it comes -----

    # (ui/ending.py: signals, a lost terminal, the exit deadline)

    def terminal_lost(self, why: str) -> None:
        """From the terminal driver's threads: output fails or input hung up."""
        self.ending.lost(why)

    def _end(self, why: str, code: int) -> None:
        self.log_action(f"{why}: stopping", "warn")
        self.exit(return_code=code)

    def exit(self, *args, **kwargs) -> None:
        self.ending.exiting(kwargs.get("return_code", 0))
        super().exit(*args, **kwargs)

    async def on_unmount(self) -> None:
        await self.stop_everything()

    async def stop_everything(self) -> None:
        """Actions, feeds (their remote captures), then the lab's connections."""
        # each step bounded: a lab that stopped answering must not keep the app alive
        step, seconds = self.ending.step, STOP_STEP_SECONDS
        await step("cancelling the running action", self.runner.close(), seconds)
        await step("stopping the feeds and their remote captures", self.feeds.stop(), seconds)
        await step("closing the lab's connections", self.backend.close(), seconds)
        if self.replay is not None:
            await step("stopping the replay", self.replay.driver.stop(), seconds)
        if self.recorder is not None:  # its writer commits every 0.5 s: a short wait is enough
            closing = asyncio.to_thread(self.recorder.close, RECORDER_CLOSE_WAIT)
            await step("closing the recording", closing, RECORDER_CLOSE_WAIT + 1)
        await self.ending.audit_given_up()


def make_app(
    backend: LabBackend,
    settings: Settings | None = None,
    clock: Callable[[], float] = time.time,
    live: bool = True,
    replay: ReplayDriver | None = None,
    deadline: ExitDeadline | None = None,
) -> FabricApp:
    """The one way to build the app: used by the CLI, the tests and the screenshot script.
    `deadline`: the process's exit deadline, for the real command only."""
    return FabricApp(
        backend, settings=settings, clock=clock, live=live, replay=replay, deadline=deadline
    )
