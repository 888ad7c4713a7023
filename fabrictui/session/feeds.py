"""The feed supervisor: reads a lab into a `LabState`, for as long as it runs.

Six feeds (hosts, fabric, nodes, pods, capture, bgp) run as asyncio tasks on the
running loop. Each writes what it reads into the state and tells a listener
what changed, so a screen can redraw; the listener is a plain callable, so the
supervisor runs the same with a screen, in a headless command or in a test.

A feed that crashes (a bug, not a failing source: sources fail inside the
feeds, with their own backoff in `fabrictui.session.polling`) is restarted with a capped
backoff and reported once per distinct error, not at every restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fabrictui import deadlines
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.model import Host, KubeService, SwitchReading
from fabrictui.parsers.calico import CalicoPeer, peers_from_bird
from fabrictui.parsers.kubedetail.events import KubeEvent
from fabrictui.session.bgp_resets import record_resets
from fabrictui.session.capture_worker import CaptureWorker
from fabrictui.session.detail_reads import DetailReads
from fabrictui.session.polling import (
    InterfaceReading,
    capture_node,
    follow_watch,
    poll_forever,
    read_all_interfaces,
    read_all_switches,
)
from fabrictui.session.state import LabState
from fabrictui.session.tasks import cancel_and_wait

FEEDS = ("hosts", "fabric", "nodes", "pods", "capture", "bgp", "services", "events")
EVENTS_POLL_SECONDS = 10.0  # Warning events: the recording's and the report's (issue 26)
RESTART_FIRST = 2.0  # seconds before restarting a crashed feed; doubles up to RESTART_MAX
RESTART_MAX = 60.0
SUMMARY_SECONDS = 0.1  # the capture worker's summaries: the overlay pane's refresh
SUMMARY_TIMEOUT = 10.0  # a worker that does not answer in this long is broken
NOTE_SECONDS = 1.0  # frames the worker could not record: noted in the recording this often


@dataclass(frozen=True, slots=True)
class Changed:
    """Something in the state changed: `part` names the feed that changed it (FEEDS)."""

    part: str


@dataclass(frozen=True, slots=True)
class Failed:
    """A source fails (`first`: the error is new, worth one line in the log)."""

    source: str
    error: str
    first: bool


@dataclass(frozen=True, slots=True)
class FeedCrashed:
    feed: str
    error: str
    retry_in: float
    first: bool  # False when the same error repeats: the log already says it


Event = Changed | Failed | FeedCrashed


class FeedSupervisor:
    def __init__(
        self,
        backend: LabBackend,
        state: LabState,
        listener: Callable[[Event], None],
        host_poll_seconds: float = 10.0,
        fabric_poll_seconds: float = 3.0,
        overlay_buffer_frames: int = 5000,
    ) -> None:
        self.backend = backend
        self.overlay_buffer_frames = overlay_buffer_frames  # raw frames the worker keeps for w
        self.capture_worker: CaptureWorker | None = None
        self.state = state
        self.listener = listener
        self.host_poll_seconds = host_poll_seconds
        self.fabric_poll_seconds = fabric_poll_seconds
        self._tasks: dict[str, asyncio.Task] = {}
        self._crashes: dict[str, tuple[str, int]] = {}  # feed -> (last error, count)
        self._stopped = False
        # the recording the capture worker writes the frames into (None: not recorded),
        # and who is told, at most ten times a second, what the worker could not record
        self.record_frames: Path | None = None
        self.on_record_note: Callable[[str], None] | None = None
        # a pod's or node's detail read when it turns not ready (or recovers): recorded
        self.details = DetailReads(backend, state)

    # -- life -----

    def start(self, feeds: tuple[str, ...] = FEEDS) -> None:
        """Run `feeds` (all of them; `fabrictui map --traffic` runs the capture alone)."""
        for name in feeds:
            self._spawn(name)

    def running(self) -> list[str]:
        return sorted(name for name, task in self._tasks.items() if not task.done())

    async def stop(self) -> None:
        """Cancel every feed and wait for each to close what it opened (captures
        end their remote tcpdump here)."""
        self._stopped = True
        await cancel_and_wait(self._tasks.values())
        self._tasks.clear()
        await self.details.stop()

    def _spawn(self, name: str) -> None:
        factory = {
            "hosts": self._hosts,
            "fabric": self._fabric,
            "nodes": self._nodes,
            "pods": self._pods,
            "capture": self._capture,
            "bgp": self._bgp,
            "services": self._services,
            "events": self._events,
        }[name]
        task = asyncio.get_running_loop().create_task(factory(), name=f"feed-{name}")
        self._tasks[name] = task
        task.add_done_callback(lambda done, name=name: self._ended(name, done))

    def _ended(self, name: str, task: asyncio.Task) -> None:
        if self._stopped or task.cancelled():
            return
        error = task.exception()
        text = f"{type(error).__name__}: {error}" if error else "ended"
        last, count = self._crashes.get(name, ("", 0))
        count = count + 1 if last == text else 1
        self._crashes[name] = (text, count)
        retry_in = min(RESTART_MAX, RESTART_FIRST * 2 ** (count - 1))
        self.listener(FeedCrashed(name, text, retry_in, first=count == 1))
        loop = asyncio.get_running_loop()
        loop.call_later(retry_in, self._restart, name)

    def _restart(self, name: str) -> None:
        if not self._stopped:
            self._spawn(name)

    # -- reporting -----

    def _changed(self, part: str) -> None:
        self.listener(Changed(part))

    def _failed(self, source: str) -> Callable[[str], None]:
        def report(error: str) -> None:
            first = self.state.failed(source, error)
            self.listener(Failed(source, error, first))

        return report

    # -- the feeds -----

    async def _hosts(self) -> None:
        def got(hosts: list[Host]) -> None:
            self.state.set_hosts(hosts)
            self._changed("hosts")

        await poll_forever(
            self.backend.list_hosts, got, self._failed("hosts"), self.host_poll_seconds
        )

    async def _list_hosts(self, source: str) -> list[Host]:
        """The lab's hosts, retried until the lab answers (feeds need to know
        which switches and nodes there are before they can start)."""
        delay = 2.0
        while True:
            try:
                return await self.backend.list_hosts()
            except BackendError:
                # the hosts feed reads the same list and says why it fails, once, in the
                # lab's own words: this pane only points there
                error = "cannot list the lab's hosts (see the VM pane)"
                self.state.failed(source, error)
                self.listener(Failed(source, error, first=False))
            await asyncio.sleep(delay)
            delay = min(RESTART_MAX, delay * 2)

    async def _fabric(self) -> None:
        hosts = await self._list_hosts("fabric")
        switches = [h.name for h in hosts if h.role.is_switch]
        interval = self.fabric_poll_seconds

        ports = self._switch_ports(switches)

        def got(result: tuple[dict[str, SwitchReading], dict[str, InterfaceReading]]) -> None:
            nonlocal ports
            readings, interfaces = result
            self.state.set_interfaces(interfaces, ports)
            ports = None  # told once: the cabling does not change while the app runs
            self.state.set_readings(readings)
            self._changed("fabric")

        async def read() -> tuple[dict[str, SwitchReading], dict[str, InterfaceReading]]:
            timeout = max(5.0, interval * 2)
            # the interfaces beside the sessions, at the same rhythm: one more command per
            # switch, run concurrently, so a poll takes as long as its slowest switch
            readings, interfaces = await asyncio.gather(
                read_all_switches(self.backend, switches, timeout),
                read_all_interfaces(self.backend, switches, timeout),
            )
            # a session that just went down: why, for the recording (issue 26)
            await record_resets(self.backend, self.state, self.state.readings, readings)
            return readings, interfaces

        await poll_forever(
            read,
            got,
            self._failed("fabric"),
            interval,
        )

    def _switch_ports(self, switches: list[str]) -> dict[tuple[str, str], str]:
        """The switches' ports by neighbour, as the backend knows its cabling (none for a
        lab that cannot say: the map then draws the sessions alone)."""
        try:
            ports = self.backend.trace_ports()
        except BackendError:
            return {}
        return {key: port for key, port in ports.items() if key[0] in switches}

    async def _bgp(self) -> None:
        """Calico's mode and, in BGP mode, every node's BIRD sessions (the Kubernetes
        pane's BGP status; the fabric pane then expects the node peerings)."""

        async def status(node: str) -> tuple[str, tuple[CalicoPeer, ...] | str]:
            try:
                return node, tuple(peers_from_bird(await self.backend.node_bgp_status(node)))
            except BackendError as err:
                return node, str(err)

        async def read() -> tuple[str | None, dict[str, tuple[CalicoPeer, ...] | str]]:
            mode = await self.backend.calico_mode()
            if mode != "bgp":
                return mode, {}
            nodes = [h.name for h in self.state.hosts if h.role.is_k8s]
            return mode, dict(await asyncio.gather(*(status(n) for n in nodes)))

        def got(result: tuple[str | None, dict[str, tuple[CalicoPeer, ...] | str]]) -> None:
            self.state.set_node_bgp(*result)
            self._changed("bgp")

        # longer than the reads' own deadlines, so that what fails names the part it waited
        # for (the mode from the API, then each node's BIRD over SSH or an exec)
        limits = deadlines.current()
        limit = 3 * limits.kube_api + limits.ssh_connect + limits.ssh_command + 2.0
        await poll_forever(
            read, got, self._failed("bgp"), self.fabric_poll_seconds, max(limit, 10.0)
        )

    async def _services(self) -> None:
        """The Services and their endpoint counts (the Kubernetes pane). A lab that cannot
        read them says why in the pane's Services line, not as a failing feed: the nodes
        and pods feeds already say when the API does not answer."""

        async def read() -> tuple[list[KubeService], str | None]:
            try:
                return await self.backend.list_services(), None
            except BackendError as err:
                return [], str(err)

        def got(result: tuple[list[KubeService], str | None]) -> None:
            self.state.set_services(*result)
            self._changed("services")

        await poll_forever(read, got, self._failed("services"), self.fabric_poll_seconds)

    async def _events(self) -> None:
        """The cluster's Warning events, for the recording (replay's event view, the
        report's list). A lab that cannot read them says why in the state, not as a
        failing feed: the nodes and pods feeds already say when the API does not answer."""

        async def read() -> tuple[list[KubeEvent], str | None]:
            try:
                return await self.backend.list_events(None, warnings_only=True), None
            except BackendError as err:
                return [], str(err)

        def got(result: tuple[list[KubeEvent], str | None]) -> None:
            self.state.set_warnings(*result)
            self._changed("events")

        period = max(self.fabric_poll_seconds, EVENTS_POLL_SECONDS)
        await poll_forever(read, got, self._failed("events"), period)

    async def _nodes(self) -> None:
        def got(event) -> None:
            self.state.apply_node_event(event)
            self.details.saw_node(event)
            self._changed("nodes")

        await follow_watch(self.backend.watch_nodes, got, self._failed("nodes"))

    async def _pods(self) -> None:
        def got(event) -> None:
            self.state.apply_pod_events((event,))
            self.details.saw_pods(event)
            self._changed("pods")

        await follow_watch(self.backend.watch_pods, got, self._failed("pods"))

    async def _capture(self) -> None:
        """Capture on every Kubernetes node through one capture worker process:
        this loop only moves each stream's bytes to it; the worker decodes,
        counts each frame once, on the node that sent it (a frame between two
        nodes crosses both eth0s), matches the two sightings (one-way time and
        loss per node pair), buffers, and sends a summary back ten times a
        second (fabrictui.session.capture_worker)."""
        hosts = await self._list_hosts("capture")
        nodes = [h for h in hosts if h.role.is_k8s]
        overlay = self.state.overlay
        worker = CaptureWorker(
            self.overlay_buffer_frames, overlay.display_batch, self.state.lab.vxlan_port
        )
        await worker.start()
        worker.record(self.record_frames)  # before any stream starts
        self.capture_worker = worker
        self.state.capture_nodes = tuple(h.name for h in nodes)
        self._changed("capture")
        try:
            await asyncio.gather(
                self._summaries(worker),
                *(
                    capture_node(
                        self.backend,
                        node.name,
                        worker.sink(node.name, node.address),
                        self._failed("capture"),
                        on_state=self._capture_point(node.name),
                    )
                    for node in nodes
                ),
            )
        finally:
            self.state.capture_nodes = ()
            self.capture_worker = None
            await worker.close()

    def _capture_point(self, node: str) -> Callable[[str], None]:
        def placed(state: str) -> None:
            point = state.removeprefix("capturing at ") if state.startswith("capturing at") else ""
            if self.state.capture_points.get(node, "") != point:
                if point:
                    self.state.capture_points[node] = point
                else:
                    self.state.capture_points.pop(node, None)
                self._changed("capture")

        return placed

    async def _summaries(self, worker: CaptureWorker) -> None:
        """What the worker counted and the newest frames to draw, at the
        screen's pace: one request at a time, so nothing queues up."""
        report = self._failed("capture")
        dropped, stopped = 0, ""  # what the worker said it could not record, so far
        noted = -NOTE_SECONDS
        told: dict[str, str] | None = None  # the pods' nodes as the worker knows them
        while True:
            pod_nodes = self.state.pod_node_addresses()
            # a new index is built only when a pod moved; send it only when that changed it
            if pod_nodes is not told and pod_nodes != told:
                worker.pods(pod_nodes)
            told = pod_nodes
            async with asyncio.timeout(SUMMARY_TIMEOUT):  # not wait_for: see polling.py
                summary, waited = await worker.summary()
            for error in summary.errors:
                report(error)
            self.state.apply_overlay(summary, waited)
            if self.on_record_note is not None:
                now = time.monotonic()
                # frames dropped are noted once a second at most (a flood drops for long)
                if worker.record_dropped > dropped and now - noted >= NOTE_SECONDS:
                    self.on_record_note(
                        f"the recorder fell behind: {worker.record_dropped - dropped} "
                        "frames not recorded"
                    )
                    dropped, noted = worker.record_dropped, now
                if worker.record_error and worker.record_error != stopped:
                    self.on_record_note(worker.record_error)
                    stopped = worker.record_error
            await asyncio.sleep(SUMMARY_SECONDS)

    async def write_pcap(self, path: Path) -> int:
        """Write the frames the capture worker buffers to `path` (0: no capture
        running); raises OSError."""
        worker = self.capture_worker
        if worker is None:
            return 0
        async with asyncio.timeout(SUMMARY_TIMEOUT):
            return await worker.write_pcap(path)
