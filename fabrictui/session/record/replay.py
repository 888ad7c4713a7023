"""Replay: a `LabState` filled from a recording instead of from feeds.

`ReplayDriver` sits where `FeedSupervisor` sits: it calls the same state
methods with what was recorded, in the recorded order, with the state's clock
at the recorded time, and tells the same listener what changed, so every pane
draws the past as it drew the present. A seek starts from the last whole-state
snapshot before the moment (one a minute) and applies the events after it.

`RecordedLab` is the backend of a replay: it describes the recorded lab and
refuses everything that would reach a lab.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import dataclasses
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from fabrictui.backends.base import BackendError, CaptureStream, DemoWorkload, LabBackend
from fabrictui.capture.pcap import PcapStreamDecoder
from fabrictui.capture.transit import sightings
from fabrictui.model import Host, KubeNode, KubePod, LabInfo, PingResult, VxlanFrame, WatchEvent
from fabrictui.session.feeds import FEEDS, Changed, Event
from fabrictui.session.overlay import EMPTY_COUNTERS, NO_TRANSIT, DisplayBatch, OverlaySummary
from fabrictui.session.record.format import RecordingError
from fabrictui.session.record.reader import Recording
from fabrictui.session.state import LabState

FRAMES_BEFORE = 2.0  # seconds of frames shown in the overlay at a moment
SPEEDS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
PLAY_STEP = 0.25  # seconds of wall time between moves while playing
BADGE = "REPLAY"
APPLY_BATCH = 2000  # events read from the file at a time during a seek


class ReplayDriver:
    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.now = recording.end  # the moment shown
        self.applied = 0  # events applied so far (an index into recording.events)
        self.state: LabState | None = None
        self.listener: Callable[[Event], None] = lambda event: None
        self.moved: Callable[[], None] = lambda: None  # told after every seek
        self.log: list[tuple[float, str, str]] = []  # (t, level, line) up to now
        self.results: dict[str, tuple[float, Any]] = {}  # "verify"/"ping" -> the latest (t, data)
        self.playing = False
        self.speed = 1.0
        self._task: asyncio.Task | None = None
        self._snapshots = [i for i, e in enumerate(recording.events) if e.kind == "snapshot"]

    def clock(self) -> float:
        """The state's clock in a replay: the moment shown."""
        return self.now

    @property
    def start(self) -> float:
        return self.recording.started

    @property
    def end(self) -> float:
        return self.recording.end

    def bind(self, state: LabState, listener: Callable[[Event], None]) -> None:
        self.state = state
        self.listener = listener
        # one dict: the state's latest results are the recording's at the moment shown
        state.results.update(self.results)
        self.results = state.results  # type: ignore[assignment]

    # -- moving -----

    def seek(self, t: float) -> None:
        """Show the lab as it was at `t` (clamped to the recording)."""
        state = self.state
        assert state is not None, "bind() first"
        t = min(max(t, self.start), self.end)
        target = self.recording.index_at(t)
        base = self._snapshot_before(target)
        if target < self.applied or (base is not None and base > self.applied):
            self._reset(state)
            if base is not None:
                try:
                    self._load_snapshot(state, base)
                except RecordingError as err:  # damaged: the recording ends before it
                    self.recording.cut(base, err)
                    self._snapshots = [i for i in self._snapshots if i < base]
                    self.applied = len(self.recording.events) + 1  # forces a reset
                    self.seek(t)
                    return
        self.now = t
        events = self.recording.events
        while self.applied < target:
            first, end = self.applied, min(target, self.applied + APPLY_BATCH)
            batch = self.recording.data_between(first, end)
            for event, data in zip(events[first:end], batch, strict=False):
                self.applied += 1
                self._apply(state, event.t, event.kind, data)
            if len(batch) < end - first:  # damaged from there on: the recording ends
                target = self.applied
                t = min(t, self.end)
                break
        self.now = t
        self._show_frames(state, t)
        for part in FEEDS:
            self.listener(Changed(part))
        self.moved()

    def step_change(self, forward: bool) -> float:
        """The time of the next (previous) change after (before) now."""
        return next_change(self.recording, self.now, forward)

    def toggle_play(self) -> bool:
        self.playing = not self.playing
        if self.playing and self.now >= self.end:
            self.seek(self.start)
        if self.playing and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._play())
        return self.playing

    def faster(self) -> float:
        self.speed = SPEEDS[(SPEEDS.index(self.speed) + 1) % len(SPEEDS)]
        return self.speed

    async def _play(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while self.playing:
            await asyncio.sleep(PLAY_STEP)
            wall = loop.time()
            self.seek(self.now + (wall - last) * self.speed)
            last = wall
            if self.now >= self.end:
                self.playing = False

    async def stop(self) -> None:
        self.playing = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    # -- applying -----

    def _snapshot_before(self, target: int) -> int | None:
        """The index of the last snapshot among the first `target` events."""
        at = bisect.bisect_left(self._snapshots, target) - 1
        return self._snapshots[at] if at >= 0 else None

    def _reset(self, state: LabState) -> None:
        state.hosts = []
        state.readings = {}
        state.switch_answered.clear()
        state.apply_node_event(WatchEvent("RELIST"))
        state.apply_pod_events([WatchEvent("RELIST")])
        state.set_node_bgp(None, {})
        state.set_services([])
        state.set_warnings([])
        state.set_interfaces({}, {})
        state.problems.clear()
        state.last_answer.clear()
        state.overlay.counters = EMPTY_COUNTERS
        state.overlay.transit = NO_TRANSIT
        self.applied = 0
        self.log = []
        self.results.clear()

    def _load_snapshot(self, state: LabState, index: int) -> None:
        event = self.recording.events[index]
        whole = event.data
        self.now = event.t
        state.hosts = list(whole["hosts"])
        state.readings = dict(whole["fabric"])
        state.switch_answered.update(
            {n: r.fetched_at for n, r in state.readings.items() if r.summary is not None}
        )
        state.apply_node_event(WatchEvent("RELIST", items=tuple(whole["nodes"])))
        state.apply_pod_events([WatchEvent("RELIST", items=tuple(whole["pods"]))])
        state.last_answer.clear()
        state.last_answer.update(whole["answers"])
        state.problems.clear()
        state.problems.update(whole["problems"])
        state.overlay.counters = whole["overlay"]
        state.overlay.transit = whole.get("transit", NO_TRANSIT)
        if "bgp" in whole:
            answered = state.last_answer.get("bgp")
            state.set_node_bgp(*whole["bgp"])
            if answered is None:  # set_node_bgp stamps an answer: keep the recorded one
                state.last_answer.pop("bgp", None)
            else:
                state.last_answer["bgp"] = answered
        answered = state.last_answer.get("services")
        state.set_services(*whole.get("services", [[], None]))  # older recordings have none
        if answered is None:  # as for bgp: the recorded answer's time, not the replay's
            state.last_answer.pop("services", None)
        else:
            state.last_answer["services"] = answered
        answered = state.last_answer.get("events")
        state.set_warnings(*whole.get("events", [[], None]))  # older recordings have none
        if answered is None:
            state.last_answer.pop("events", None)
        else:
            state.last_answer["events"] = answered
        state.set_interfaces(*whole.get("interfaces", [{}, {}]))  # older recordings have none
        state.reindex()  # hosts changed behind set_hosts' back: rebuild the indexes
        self.applied = index + 1
        # the log before the snapshot: its lines are few, read them all
        before = self.recording.events[:index]
        self.log = [(e.t, *e.data) for e in before if e.kind == "log"]
        latest = {e.kind: e for e in before if e.kind in RESULT_KINDS}
        self.results.clear()
        self.results.update({kind: (e.t, e.data) for kind, e in latest.items()})

    def _apply(self, state: LabState, t: float, kind: str, data: Any) -> None:
        self.now = t  # what the state stamps as the answer's time
        if kind == "hosts":
            state.set_hosts(data)
        elif kind == "fabric":
            state.set_readings(data)
        elif kind == "node":
            state.apply_node_event(data)
        elif kind == "bgp":
            state.set_node_bgp(*data)
        elif kind == "services":
            state.set_services(*data)
        elif kind == "events":
            state.set_warnings(*data)
        elif kind == "interfaces":
            state.set_interfaces(*data)
        elif kind == "pod":
            state.apply_pod_events((data,))
        elif kind == "failed":
            state.failed(*data)
        elif kind == "overlay":
            state.overlay.counters = data
            state.answered("capture")
        elif kind == "transit":
            state.overlay.transit = data
        elif kind == "log":
            self.log.append((t, data[0], data[1]))
        elif kind in RESULT_KINDS:
            self.results[kind] = (t, data)
        elif kind == "snapshot":
            pass  # the events before it already built the same state

    def _show_frames(self, state: LabState, t: float) -> None:
        frames = frames_between(
            self.recording, t - FRAMES_BEFORE, t, state.lab.vxlan_port, state.pod_node_addresses()
        )
        view = state.overlay
        keep = frames[-view.display_batch :]
        view.buffer.clear()
        view._pending.clear()
        summary = OverlaySummary(
            view.counters, DisplayBatch(keep, len(frames) - len(keep)), len(frames), 0, (),
            view.transit,
        )  # fmt: skip
        view.apply(summary)


def frames_between(
    recording: Recording,
    t0: float,
    t1: float,
    vxlan_port: int,
    pod_nodes: dict[str, str] | None = None,
) -> list[VxlanFrame]:
    """The recorded frames captured between t0 and t1, decoded, oldest first, each
    once: where it was sent, as the live pane counts them (`transit.sightings`;
    `pod_nodes` tells the nodes of native frames)."""
    blocks = list(recording.records(t0, t1))
    # the nodes captured then: those with records in the window
    captured = frozenset(stream.address for stream, _ in blocks if stream.address)
    frames: list[VxlanFrame] = []
    for stream, records in blocks:
        decoder = PcapStreamDecoder(vxlan_ports=(vxlan_port,), node=stream.node)
        decoded = decoder.feed(stream.header + records)
        if stream.address:
            kept, _sent, _received = sightings(decoded, stream.address, captured, pod_nodes or {})
            if kept is not None:
                decoded = [decoded[i] for i in kept]
        frames.extend(decoded)
    frames.sort(key=lambda f: f.time)
    return frames


RESULT_KINDS = frozenset({"verify", "ping", "trace"})
CHANGE_KINDS = frozenset({"hosts", "fabric", "node", "pod", "bgp", "services", "failed"})


def next_change(recording: Recording, now: float, forward: bool) -> float:
    """The time of the nearest change (a state event, not a counter) after or
    before `now`; `now` itself when there is none."""
    events = recording.events
    if forward:
        for i in range(recording.index_at(now), len(events)):
            if events[i].kind in CHANGE_KINDS and events[i].t > now:
                return events[i].t
        return now
    for i in range(bisect.bisect_left(recording.times, now) - 1, -1, -1):
        if events[i].kind in CHANGE_KINDS and events[i].t < now:
            return events[i].t
    return now


def parse_moment(text: str, now: float, start: float) -> float | None:
    """A moment typed at `g`: HH:MM[:SS] (the recording's day), +90s / -5m
    (from the moment shown), or an offset from the start ("12m"). None if not."""
    text = text.strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if match:
        day = time.localtime(start)
        hour, minute, second = (int(g) if g else 0 for g in match.groups())
        moment = time.mktime((*day[:3], hour, minute, second, 0, 0, -1))
        return moment if moment >= start - 1 else moment + 86400  # past midnight
    match = re.fullmatch(r"([+-]?)(\d+(?:\.\d+)?)([smh]?)", text)
    if not match:
        return None
    sign, number, unit = match.groups()
    seconds = float(number) * {"": 1, "s": 1, "m": 60, "h": 3600}[unit]
    if sign == "+":
        return now + seconds
    if sign == "-":
        return now - seconds
    return start + seconds


class RecordedLab(LabBackend):
    """The lab of a recording: its description, and a refusal for everything else."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self._info = dataclasses.replace(recording.lab, badge=BADGE, hint="")

    def info(self) -> LabInfo:
        return self._info

    def _refuse(self) -> BackendError:
        return BackendError(f"a replay of {self.recording.path.name} reaches no lab")

    async def list_hosts(self) -> list[Host]:
        raise self._refuse()

    async def bgp_summary(self, switch: str):
        raise self._refuse()

    async def list_nodes(self) -> list[KubeNode]:
        raise self._refuse()

    async def list_pods(self, namespace: str | None = None) -> list[KubePod]:
        raise self._refuse()

    async def watch_nodes(self) -> AsyncIterator[WatchEvent[KubeNode]]:
        raise self._refuse()
        yield WatchEvent("RELIST")  # pragma: no cover

    async def watch_pods(self) -> AsyncIterator[WatchEvent[KubePod]]:
        raise self._refuse()
        yield WatchEvent("RELIST")  # pragma: no cover

    async def apply_calico(self, pool_cidr: str = "") -> list[str]:
        raise self._refuse()

    async def ensure_workload(self, workload: DemoWorkload) -> list[str]:
        raise self._refuse()

    async def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        raise self._refuse()

    async def ping(
        self, pod: KubePod, target_ip: str, count: int = 3, timeout: float = 10.0
    ) -> PingResult:
        raise self._refuse()

    async def open_capture(
        self, node: str, interface: str = "eth0", bpf: str = ""
    ) -> CaptureStream:
        raise self._refuse()

    def ssh_command(self, host: str) -> list[str] | None:
        return None


def open_recording(name: str | Path) -> Recording:
    """A recording by path, or `latest` (the newest in the state directory)."""
    from fabrictui.session.record.files import latest

    path = latest() if str(name) == "latest" else Path(name)
    return Recording(path)
