"""The Textual application: panes, keys and the workers that feed them.

No I/O here beyond starting workers: feeds live in `fabrictui.live`, actions
in `fabrictui.actions`, both talking only to the `LabBackend` they are given.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.config import Settings
from fabrictui.live import capture_node, follow_watch, poll_forever, read_all_switches
from fabrictui.model import Host, KubeNode, KubePod, SwitchReading
from fabrictui.overlay import OverlayState
from fabrictui.sessions import analyze_sessions
from fabrictui.ui import actions_ui
from fabrictui.ui.commands import FabricCommands
from fabrictui.ui.messages import (
    ActionProgress,
    FabricUpdated,
    FramesCaptured,
    HostsUpdated,
    NodeEvent,
    PodEvent,
    SourceFailed,
)
from fabrictui.ui.render import Palette, frame_lines, freshness
from fabrictui.ui.themes import DEFAULT_THEME, load_themes
from fabrictui.ui.widgets.action_log import ActionLog, StatusLine
from fabrictui.ui.widgets.fabric_pane import FabricPane
from fabrictui.ui.widgets.footer import KeyFooter
from fabrictui.ui.widgets.kube_pane import KubePane
from fabrictui.ui.widgets.overlay_pane import OverlayPane
from fabrictui.ui.widgets.pane import Pane
from fabrictui.ui.widgets.vm_pane import VmPane


def while_screen_alive(handler):
    """Feed messages and timers that land while the app is shutting down find
    their widgets gone; that is not an error worth a traceback."""

    @functools.wraps(handler)
    def wrapper(self, *args):
        if not self.screen_stack:
            return None
        try:
            return handler(self, *args)
        except NoMatches:
            if self.is_running and not self._shutting_down:
                raise
            return None

    return wrapper


PANE_IDS = ("pane-vms", "pane-fabric", "pane-kube", "pane-overlay")
# below this size one pane at a time is shown, with tabs to switch
SINGLE_PANE_WIDTH = 120
SINGLE_PANE_HEIGHT = 34


class FabricApp(App[None]):
    CSS_PATH = "ui/app.tcss"
    TITLE = "fabrictui"
    COMMANDS = App.COMMANDS | {FabricCommands}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("1", "focus_pane(1)", "VMs", id="pane.1", show=False,
                tooltip="show / focus the VM pane"),
        Binding("2", "focus_pane(2)", "Fabric", id="pane.2", show=False,
                tooltip="show / focus the fabric (BGP) pane"),
        Binding("3", "focus_pane(3)", "K8s", id="pane.3", show=False,
                tooltip="show / focus the Kubernetes pane"),
        Binding("4", "focus_pane(4)", "Overlay", id="pane.4", show=False,
                tooltip="show / focus the overlay (VXLAN) pane"),
        Binding("z", "zoom", "Zoom", id="pane.zoom", show=False,
                tooltip="zoom the focused pane to the whole screen, and back"),
        Binding("slash", "filter", "Filter", id="pane.filter", show=False,
                tooltip="filter the focused pane (pods: ns:NAME words)"),
        Binding("D", "deploy_calico", "Deploy", id="action.deploy",
                tooltip="deploy Calico (VXLAN backend), asks first"),
        Binding("S", "scale", "Scale", id="action.scale",
                tooltip="scale space1/nginx-deployment, asks for replicas"),
        Binding("P", "ping_mesh", "Ping", id="action.ping",
                tooltip="ping mesh between the nginx pods: matrix of loss and rtt"),
        Binding("V", "verify", "Verify", id="action.verify",
                tooltip="run the six checks of a healthy lab"),
        Binding("space", "toggle_pause", "Pause", id="overlay.pause", show=False,
                tooltip="pause / resume drawing frames (counting goes on)"),
        Binding("w", "write_pcap", "Write pcap", id="overlay.write", show=False,
                tooltip="write the buffered frames to a pcap file in the current directory"),
        Binding("s", "ssh", "SSH", id="host.ssh", show=False,
                tooltip="interactive ssh to the host selected in the VM pane"),
        Binding("x", "cancel_action", "Cancel", id="action.cancel", show=False,
                tooltip="cancel the running action"),
        Binding("t", "cycle_theme", "Theme", id="app.theme", show=False,
                tooltip="next theme (fabric-dark, fabric-light, fabric-16, yours)"),
        Binding("question_mark", "help", "Help", id="app.help", tooltip="this screen"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="quit fabrictui"),
    ]  # fmt: skip

    def __init__(
        self,
        backend: LabBackend,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.time,
        live: bool = True,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.settings = settings or Settings()
        self.clock = clock
        self.live = live  # False: no feeds (snapshot tests drive the panes themselves)
        self.lab = backend.info()
        self.palette = Palette()
        self.overlay = OverlayState(self.settings.overlay_buffer_frames, clock=clock)
        self.hosts: list[Host] = []
        self._pending_pod_events: list = []
        self._names: dict[str, str] | None = None  # names_by_ip, until hosts/nodes/pods change
        self._shutting_down = False
        self.readings: dict[str, SwitchReading] = {}
        self.last_answer: dict[str, float] = {}
        self.problems: dict[str, str] = {}
        self.zoomed = False
        self.active_pane = 1
        self.action_worker: Worker | None = None
        self.action_name = ""
        self.theme_problems: list[str] = []
        self._register_themes()

    # -- layout -----

    def compose(self) -> ComposeResult:
        yield Static(self._title_text(), id="title-bar")
        yield Static("", id="pane-tabs")
        with Vertical(id="panes"):
            with Horizontal(id="top-row"):
                yield VmPane()
                yield FabricPane()
            yield KubePane()
            yield OverlayPane(max_lines=min(self.settings.overlay_buffer_frames, 5000))
        yield Input(placeholder="filter (ns:NAME words), enter to keep, esc to clear", id="filter")
        yield ActionLog(id="action-log")
        yield StatusLine("", id="status")
        yield KeyFooter()

    def _title_text(self):
        from rich.text import Text

        text = Text()
        text.append(" fabrictui ", style="bold")
        if self.lab.badge:
            text.append(f" {self.lab.badge} ", style=self.palette.badge)
            text.append(" ")
        text.append(self.lab.name)
        if self.lab.kind not in self.lab.name:
            text.append(f" ({self.lab.kind})")
        if self.settings.read_only:
            text.append("  READ-ONLY", style=self.palette.warn)
        return text

    def _main_screen(self):
        return self.screen_stack[0] if self.screen_stack else self.screen

    def _main(self, selector, expect_type=None):
        """Query the main screen, not whichever screen is on top (a modal may be)."""
        screen = self._main_screen()
        if expect_type is None:
            return screen.query_one(selector)
        return screen.query_one(selector, expect_type)

    def on_mount(self) -> None:
        self.set_keymap(self.settings.keymap)
        self.theme = (
            self.settings.theme if self.settings.theme in self.available_themes else (DEFAULT_THEME)
        )
        if self.settings.theme not in self.available_themes:
            self.theme_problems.append(f"unknown theme {self.settings.theme!r}")
        for problem in self.theme_problems:
            self.notify(f"theme skipped: {problem}", severity="warning")
        kind = "" if self.lab.kind in self.lab.name else f" ({self.lab.kind})"
        self.log_action(f"lab: {self.lab.name}{kind}", "info")
        if self.lab.hint:
            self.log_action(self.lab.hint, "warn")
            self.notify(self.lab.hint, title="DEMO lab", timeout=12)
        self._layout_for(self.size.width, self.size.height)
        self.set_interval(0.1, self._draw_overlay)
        # each table change makes the DataTable re-render every visible cell at the
        # next paint; four batches a second stay live without repainting per event
        self.set_interval(0.25, self._apply_pod_events)
        self.set_interval(1.0, self._tick)
        if self.live:
            self.run_worker(self._start_backend(), group="start", exit_on_error=False)
        self._main(VmPane).focus_content()
        self._update_status()

    def on_descendant_focus(self, event) -> None:
        self._show_focused_pane()

    def on_descendant_blur(self, event) -> None:
        self._show_focused_pane()

    def _show_focused_pane(self) -> None:
        if not self.screen_stack:  # shutting down
            return
        focused = self.focused
        for pane in self._main_screen().query(Pane):
            pane.show_focus(focused is not None and pane in focused.ancestors)

    def on_resize(self, event) -> None:
        self._layout_for(event.size.width, event.size.height)

    def _layout_for(self, width: int, height: int) -> None:
        single = self.zoomed or width < SINGLE_PANE_WIDTH or height < SINGLE_PANE_HEIGHT
        self._main_screen().set_class(single, "-single")
        if not single:
            # with all panes shown the classes change nothing visible, but changing
            # them restyles a pane (and re-renders a 5,000-row table): skip it
            return
        for number, pane_id in enumerate(PANE_IDS, start=1):
            self._main(f"#{pane_id}").set_class(number == self.active_pane, "-active")
        self._main("#top-row").set_class(self.active_pane in (1, 2), "-has-active")
        tabs = []
        for number, pane_id in enumerate(PANE_IDS, start=1):
            title = self._main(f"#{pane_id}", Pane).border_title or ""
            marker = "[reverse]" if number == self.active_pane else ""
            end = "[/reverse]" if marker else ""
            tabs.append(f"{marker} {title} {end}")
        self._main("#pane-tabs", Static).update(" ".join(tabs))

    # -- themes -----

    def _register_themes(self) -> None:
        loaded = load_themes(self.settings.themes_dir)
        for theme in loaded.themes:
            self.register_theme(theme)
        self.theme_problems.extend(loaded.problems)

    def watch_theme(self, theme: str) -> None:
        self.palette = Palette.from_variables(self.theme_variables)
        if self.is_mounted:
            for pane in self._main_screen().query(Pane):
                pane.redraw_border()
            self._main("#title-bar", Static).update(self._title_text())
            self._redraw_all()

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
        self.start_feeds()

    def start_feeds(self) -> None:
        self.run_worker(self._feed_hosts(), group="feeds", name="hosts", exit_on_error=False)
        self.run_worker(self._feed_fabric(), group="feeds", name="fabric", exit_on_error=False)
        self.run_worker(self._feed_nodes(), group="feeds", name="nodes", exit_on_error=False)
        self.run_worker(self._feed_pods(), group="feeds", name="pods", exit_on_error=False)
        self.run_worker(self._feed_capture(), group="feeds", name="capture", exit_on_error=False)

    def _failed(self, source: str) -> Callable[[str], None]:
        return lambda error: self.post_message(SourceFailed(source, error))

    async def _feed_hosts(self) -> None:
        await poll_forever(
            self.backend.list_hosts,
            lambda hosts: self.post_message(HostsUpdated(hosts)),
            self._failed("hosts"),
            self.settings.host_poll_seconds,
        )

    async def _switches(self) -> list[str]:
        while True:
            try:
                hosts = await self.backend.list_hosts()
                return [h.name for h in hosts if h.role.is_switch]
            except BackendError as err:
                self.post_message(SourceFailed("fabric", f"cannot list switches: {err}"))
                await asyncio.sleep(5)

    async def _feed_fabric(self) -> None:
        switches = await self._switches()
        interval = self.settings.fabric_poll_seconds
        await poll_forever(
            lambda: read_all_switches(self.backend, switches, timeout=max(5.0, interval * 2)),
            lambda readings: self.post_message(FabricUpdated(readings)),
            self._failed("fabric"),
            interval,
        )

    async def _feed_nodes(self) -> None:
        await follow_watch(
            self.backend.watch_nodes,
            lambda event: self.post_message(NodeEvent(event)),
            self._failed("nodes"),
        )

    async def _feed_pods(self) -> None:
        await follow_watch(
            self.backend.watch_pods,
            lambda event: self.post_message(PodEvent(event)),
            self._failed("pods"),
        )

    async def _feed_capture(self) -> None:
        """Capture on every Kubernetes node; keep each frame once, on the node
        that sent it (each VXLAN frame crosses two nodes' eth0)."""
        hosts = await self.backend.list_hosts()
        nodes = [h for h in hosts if h.role.is_k8s]
        addresses = {h.name: h.address for h in nodes}

        def on_frames(frames, raw, linktype) -> None:
            keep = [
                i for i, f in enumerate(frames)
                if not f.is_vxlan or addresses.get(f.node) in (None, f.outer_src)
            ]  # fmt: skip
            if len(keep) != len(frames):
                frames = [frames[i] for i in keep]
                raw = [raw[i] for i in keep]  # the decoder keeps one record per frame
            if frames:
                self.post_message(FramesCaptured(frames, raw, linktype))

        await asyncio.gather(
            *(
                capture_node(self.backend, node.name, on_frames, self._failed("capture"))
                for node in nodes
            )
        )

    # -- feed results -----

    def _answered(self, source: str) -> None:
        self.last_answer[source] = self.clock()
        self.problems.pop(source, None)

    @while_screen_alive
    def on_hosts_updated(self, message: HostsUpdated) -> None:
        self._answered("hosts")
        self.hosts = message.hosts
        self._names = None
        self._main(VmPane).show_hosts(message.hosts, self.palette)

    @while_screen_alive
    def on_fabric_updated(self, message: FabricUpdated) -> None:
        self._answered("fabric")
        self.readings = message.readings
        self._draw_fabric()

    def _draw_fabric(self) -> None:
        analysis = analyze_sessions(
            self.readings, self.lab.expected_sessions, dict(self.lab.peer_addresses)
        )
        self._main(FabricPane).show_fabric(self.readings, analysis, self.palette)

    @while_screen_alive
    def on_node_event(self, message: NodeEvent) -> None:
        self._answered("nodes")
        self._names = None
        self._main(KubePane).apply_node_event(message.event, self.clock(), self.palette)

    @while_screen_alive
    def on_pod_event(self, message: PodEvent) -> None:
        # applied in batches by a timer: every table change costs the DataTable a
        # pass over all its rows at the next paint, so coalesce them
        self._answered("pods")
        self._pending_pod_events.append(message.event)

    @while_screen_alive
    def _apply_pod_events(self) -> None:
        events, self._pending_pod_events = self._pending_pod_events, []
        if not events:
            return
        last: dict[str, int] = {}
        for index, event in enumerate(events):
            if event.type == "RELIST":
                last.clear()
                last["\0relist"] = index
            elif event.obj is not None:
                last[event.obj.key] = index
        self._names = None
        pane = self._main(KubePane)
        now = self.clock()
        for index in sorted(last.values()):
            pane.apply_pod_event(events[index], now, self.palette)

    @while_screen_alive
    def on_frames_captured(self, message: FramesCaptured) -> None:
        self._answered("capture")
        self.overlay.add(message.frames, message.raw, message.linktype)

    @while_screen_alive
    def on_source_failed(self, message: SourceFailed) -> None:
        first = message.source not in self.problems
        self.problems[message.source] = message.error
        if first:
            self.log_action(f"{message.source}: {message.error}", "error")
        self._tick()

    @while_screen_alive
    def on_action_progress(self, message: ActionProgress) -> None:
        progress = message.progress
        self.log_action(f"{message.action}: {progress.message}", progress.level)
        self._update_status(progress.message, progress.fraction)

    # -- periodic drawing -----

    def names_by_ip(self) -> dict[str, str]:
        """Outer IPs are nodes, inner IPs are pods: what the overlay lines show.
        Rebuilt only after hosts, nodes or pods changed: the overlay asks ten
        times a second, and a cluster may have thousands of pods."""
        if self._names is None:
            self._names = self._build_names()
        return self._names

    def _build_names(self) -> dict[str, str]:
        pane = self._main(KubePane)
        # host-network pods (kube-proxy, calico-node) carry their node's IP: the
        # node's name wins for those, so pods go in first and nodes overwrite
        names = {p.ip: p.name for p in pane.pods.values() if p.ip}
        names.update({h.address: h.name for h in self.hosts if h.address})
        names.update({n.internal_ip: n.name for n in pane.nodes.values() if n.internal_ip})
        return names

    @while_screen_alive
    def _draw_overlay(self) -> None:
        batch = self.overlay.take_for_display()
        if not batch.frames and not batch.skipped:
            return
        names = self.names_by_ip()
        self._main(OverlayPane).show_batch(batch, names)
        screen = self.screen
        if hasattr(screen, "add_frame_lines"):
            screen.add_frame_lines(frame_lines(batch.frames[-50:], names, screen.size.width))

    @while_screen_alive
    def _tick(self) -> None:
        """Once a second: data ages, stale marks, counters, pod ages."""
        now = self.clock()
        stale_after = {
            "hosts": self.settings.host_poll_seconds * self.settings.stale_after_polls,
            "fabric": self.settings.fabric_poll_seconds * self.settings.stale_after_polls,
        }
        sources = {
            "pane-vms": ("hosts",),
            "pane-fabric": ("fabric",),
            "pane-kube": ("nodes", "pods"),
            "pane-overlay": ("capture",),
        }
        for pane_id, names in sources.items():
            pane = self._main(f"#{pane_id}", Pane)
            answers = [self.last_answer.get(n) for n in names]
            known = [a for a in answers if a is not None]
            fetched = min(known) if len(known) == len(answers) else None
            problems = [f"{n}: {self.problems[n]}" for n in names if n in self.problems]
            pane.problem = "; ".join(problems) if problems else None
            limit = max(stale_after.get(n, 30.0) for n in names)
            if pane_id in ("pane-kube", "pane-overlay"):
                # watches and captures only speak on change: silence is not staleness
                limit = float("inf")
            text, stale = freshness(fetched, now, limit)
            pane.set_freshness(text, stale)
        snapshot = self.overlay.snapshot(now)
        self._main(OverlayPane).show_counters(
            snapshot,
            self.names_by_ip(),
            self.overlay.paused,
            self.overlay.skipped_total,
            self.palette,
        )
        self._main(KubePane).refresh_rows(now, self.palette)

    def _redraw_all(self) -> None:
        self._main(VmPane).show_hosts(self.hosts, self.palette)
        self._draw_fabric()
        self._main(KubePane).refresh_rows(self.clock(), self.palette, restyle=True)

    # -- log and status -----

    def log_action(self, message: str, level: str = "info") -> None:
        self._main(ActionLog).add(message, level, self.palette, when=self.clock())

    def _update_status(self, message: str = "", fraction: float | None = None) -> None:
        running = self.action_worker is not None and self.action_worker.state in (
            WorkerState.PENDING,
            WorkerState.RUNNING,
        )
        if running:
            bar = ""
            if fraction is not None:
                filled = int(max(0.0, min(1.0, fraction)) * 20)
                bar = f" [{'#' * filled}{'.' * (20 - filled)}] {fraction:.0%}"
            text = f"▶ {self.action_name}{bar}  {message}   (x cancels)"
        else:
            mode = "READ-ONLY  " if self.settings.read_only else ""
            text = f"{mode}1-4 panes  z zoom  / filter  space pause  w pcap  t theme  x cancel"
        self._main(StatusLine).update(text, layout=False)

    # -- keys: panes -----

    def action_focus_pane(self, number: int) -> None:
        self.active_pane = number
        self._layout_for(self.size.width, self.size.height)
        self._main(f"#{PANE_IDS[number - 1]}", Pane).focus_content()

    def _focused_pane_number(self) -> int:
        node = self.focused
        while node is not None:
            if isinstance(node, Pane):
                return node.number
            node = node.parent
        return self.active_pane

    def action_zoom(self) -> None:
        self.active_pane = self._focused_pane_number()
        self.zoomed = not self.zoomed
        self._layout_for(self.size.width, self.size.height)
        self._main(f"#{PANE_IDS[self.active_pane - 1]}", Pane).focus_content()

    def action_filter(self) -> None:
        self.active_pane = self._focused_pane_number()
        pane = self._main(f"#{PANE_IDS[self.active_pane - 1]}", Pane)
        box = self._main("#filter", Input)
        box.value = getattr(pane, "text_filter", "")
        box.border_title = f"filter {pane.border_title}"
        box.add_class("-open")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter" and event.input.has_class("-open"):
            self._apply_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self._close_filter(keep=True)

    def _apply_filter(self, text: str) -> None:
        pane = self._main(f"#{PANE_IDS[self.active_pane - 1]}", Pane)
        pane.text_filter = text
        if isinstance(pane, KubePane):
            pane.set_filter(text, self.clock(), self.palette)
        elif isinstance(pane, VmPane):
            pane.show_hosts(self.hosts, self.palette)
        elif isinstance(pane, FabricPane):
            self._draw_fabric()

    def _close_filter(self, keep: bool) -> None:
        box = self._main("#filter", Input)
        if not keep:
            self._apply_filter("")
        box.remove_class("-open")
        self._main(f"#{PANE_IDS[self.active_pane - 1]}", Pane).focus_content()

    def on_key(self, event) -> None:
        box = self._main("#filter", Input)
        if event.key == "escape" and box.has_focus:
            event.stop()
            self._close_filter(keep=False)

    # -- keys: overlay -----

    def action_toggle_pause(self) -> None:
        paused = self.overlay.toggle_pause()
        pane = self._main(OverlayPane)
        if paused:
            pane.note("-- paused: frames are still counted and kept for w --")
        else:
            pane.note("-- resumed --")
        self.log_action("overlay paused" if paused else "overlay resumed")
        self._tick()

    def action_write_pcap(self) -> None:
        from fabrictui.capture.pcap_writer import write_pcap

        records = list(self.overlay.raw)
        if not records:
            self.log_action("nothing captured yet: no pcap written", "warn")
            return
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.clock()))
        path = Path.cwd() / f"fabrictui-{stamp}.pcap"
        try:
            count = write_pcap(path, records, self.overlay.linktype)
        except OSError as err:
            self.log_action(f"cannot write {path}: {err.strerror or err}", "error")
            return
        self.log_action(f"wrote {count} frames to {path}", "ok")

    # -- keys: hosts -----

    def action_ssh(self) -> None:
        host = self._main(VmPane).selected_host()
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
        actions_ui.ping_mesh(self)

    def action_verify(self) -> None:
        actions_ui.verify(self)

    def action_vm_action(self, action: str) -> None:
        actions_ui.vm_action(self, action)

    def selected_host(self) -> str | None:
        return self._main(VmPane).selected_host()

    def toggle_fault(self, fault_id: str, active: bool, title: str) -> None:
        actions_ui.toggle_fault(self, fault_id, active, title)

    def action_cancel_action(self) -> None:
        if self.action_worker is not None and self.action_worker.is_running:
            self.action_worker.cancel()
            self.log_action(f"{self.action_name}: cancelled", "warn")
        else:
            self.log_action("no action is running", "info")
        self._update_status()

    def action_help(self) -> None:
        from fabrictui.ui.screens.help import help_screen

        self.push_screen(help_screen(self))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "feeds" and event.state is WorkerState.ERROR:
            # one place that turns a crashed feed into visible state; it is restarted
            self.log_action(f"{worker.name} feed stopped: {worker.error}; restarting", "error")
            self.set_timer(2.0, lambda: self._restart(worker))
        if worker is self.action_worker and event.state in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            if event.state is WorkerState.ERROR:
                self.log_action(f"{self.action_name} failed: {worker.error}", "error")
            self._update_status()

    def _restart(self, worker: Worker) -> None:
        feeds = {
            "hosts": self._feed_hosts,
            "fabric": self._feed_fabric,
            "nodes": self._feed_nodes,
            "pods": self._feed_pods,
            "capture": self._feed_capture,
        }
        factory = feeds.get(worker.name)
        if factory is not None:
            self.run_worker(factory(), group="feeds", name=worker.name, exit_on_error=False)

    def progress_reporter(self, action: str):
        def report(progress) -> None:
            # actions run as async workers on the app's loop: show it at once, in order
            self.on_action_progress(ActionProgress(action, progress))

        return report

    def start_action(self, name: str, coro) -> None:
        self.action_name = name
        self.action_worker = self.run_worker(
            coro, group="action", name=name, exclusive=True, exit_on_error=False
        )
        self._update_status("starting")

    def exit(self, *args, **kwargs) -> None:
        self._shutting_down = True
        super().exit(*args, **kwargs)

    async def on_unmount(self) -> None:
        await self.backend.close()

    # state used by actions_ui -----

    def racks_of_nodes(self) -> dict[str, int | None]:
        return {h.name: h.rack for h in self.hosts}

    def kube_state(self) -> tuple[list[KubeNode], list[KubePod]]:
        pane = self._main(KubePane)
        return list(pane.nodes.values()), list(pane.pods.values())


def make_app(
    backend: LabBackend,
    settings: Settings | None = None,
    clock: Callable[[], float] = time.time,
    live: bool = True,
) -> FabricApp:
    """The one way to build the app: used by the CLI, the tests and the screenshot script."""
    return FabricApp(backend, settings=settings, clock=clock, live=live)
