"""One moment of a recording, read the way a replay reads it: the state a
`ReplayDriver` builds at that time, the latest verify and ping results before
it, the last actions, and the frames around it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fabrictui.actions.trace.model import TraceResult
from fabrictui.capture.format import frame_to_line
from fabrictui.model import CheckResult, Host, KubeNode, KubePod, LabInfo, PingResult, SwitchReading
from fabrictui.parsers.kubedetail.events import KubeEvent, order_events
from fabrictui.render.common import Palette
from fabrictui.render.map.draw import map_text
from fabrictui.render.transit import transit_lines
from fabrictui.session.mapping import fabric_map
from fabrictui.session.record.bgp_changes import session_changes
from fabrictui.session.record.kubedetail import change_line, recorded_details
from fabrictui.session.record.reader import Recording
from fabrictui.session.record.replay import ReplayDriver, frames_between
from fabrictui.session.state import LabState

FRAMES_AROUND = 5.0  # seconds either side of the moment
CHANGES_AROUND = 300.0  # BGP session changes this many seconds either side (issue 26)
MAX_FRAMES = 40
LAST_ACTIONS = 20
MAP_SIZE = (100, 40)  # the Markdown report's map: columns, lines


@dataclass
class Moment:
    recording: str  # the file's name
    lab: LabInfo
    at: float
    started: float
    end: float
    damage: str | None
    hosts: list[Host]
    readings: dict[str, SwitchReading]
    nodes: list[KubeNode]
    pods: list[KubePod]
    problems: dict[str, str]
    session_problems: list[str]
    verify: tuple[float, list[CheckResult]] | None
    ping: tuple[float, dict[tuple[str, str], PingResult]] | None
    trace: tuple[float, TraceResult] | None
    actions: list[tuple[float, str, str]]
    frames: list[str]
    transit: list[str]  # the overlay's transit table at the moment, as lines
    frames_total: int
    version: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    fabric_map: list[str] = field(default_factory=list)  # the map at the moment, as text
    # BGP session changes around the moment, as lines: "12:01:07 leaf1 172.16.0.0 ..."
    session_changes: list[str] = field(default_factory=list)
    warnings: list[KubeEvent] = field(default_factory=list)  # the cluster's, newest first
    # pods' and nodes' detail read as they turned not ready or recovered, around the moment
    detail_changes: list[str] = field(default_factory=list)


def moment_at(recording: Recording, at: float | None = None) -> Moment:
    """The recording at `at` (default: its end), clamped to it."""
    driver = ReplayDriver(recording)
    state = LabState(recording.lab, driver.clock)
    driver.bind(state, lambda event: None)
    driver.seek(recording.end if at is None else at)
    now = driver.now
    frames = frames_between(
        recording,
        now - FRAMES_AROUND,
        now + FRAMES_AROUND,
        state.lab.vxlan_port,
        state.pod_node_addresses(),
    )
    names = state.names_by_ip()
    shown = frames[-MAX_FRAMES:] if len(frames) > MAX_FRAMES else frames
    return Moment(
        recording=recording.path.name,
        lab=recording.lab,
        at=now,
        started=recording.started,
        end=recording.end,
        damage=recording.damage,
        hosts=list(state.hosts),
        readings=dict(sorted(state.readings.items())),
        nodes=sorted(state.nodes.values(), key=lambda n: n.name),
        pods=sorted(state.pods.values(), key=lambda p: p.key),
        problems=dict(state.problems),
        session_problems=state.session_analysis().problems() if state.readings else [],
        verify=driver.results.get("verify"),
        ping=driver.results.get("ping"),
        trace=driver.results.get("trace"),
        actions=driver.log[-LAST_ACTIONS:],
        frames=[frame_to_line(f, names, local_time=True) for f in shown],
        transit=[line.plain for line in transit_lines(state.overlay.transit, names, Palette())],
        frames_total=len(frames),
        version=recording.version,
        # the driver's results are the state's: the map draws the trace recorded before it
        fabric_map=map_text(fabric_map(state), *MAP_SIZE).split("\n") if state.hosts else [],
        session_changes=[
            f"{time.strftime('%H:%M:%S', time.localtime(c.t))} {c.switch} {c.neighbor}"
            + (f" ({c.hostname})" if c.hostname else "")
            + f": {c.before} -> {c.after}"
            + (f" ({c.reason})" if c.reason else "")
            for c in session_changes(recording, now - CHANGES_AROUND, now + CHANGES_AROUND)
        ],
        warnings=order_events(list(state.warnings)),
        detail_changes=[
            change_line(d)
            for d in recorded_details(recording.events, now + CHANGES_AROUND)
            if d.t >= now - CHANGES_AROUND
        ],
    )


def stamp(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
