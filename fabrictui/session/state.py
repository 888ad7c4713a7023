"""The live lab state: the one owner of what fabrictui knows about the lab.

Feeds write here (through `FeedSupervisor`), screens read from here; widgets
keep no copy of the truth. Nothing here knows about Textual, so the whole
state can be driven and checked without a screen.

Pods and nodes change one event at a time, and a cluster may have thousands of
pods: the state records which keys changed since a reader last asked
(`take_pod_changes`), so that a table can update those rows in place instead
of redrawing everything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from fabrictui.intent.bgp_sessions import SessionAnalysis, analyze_sessions
from fabrictui.intent.labshape import LabShape, bgp_expected_sessions
from fabrictui.intent.liveness import HostView, host_liveness, management_cut
from fabrictui.model import (
    Host,
    KubeNode,
    KubePod,
    KubeService,
    LabInfo,
    SwitchReading,
    WatchEvent,
)
from fabrictui.parsers.calico import CalicoPeer
from fabrictui.parsers.interfaces import Interface
from fabrictui.parsers.kubedetail.events import KubeEvent
from fabrictui.session.overlay import OverlaySummary, OverlayView

# Watches and captures only speak on change: their silence is not staleness.
SPEAK_ON_CHANGE = frozenset({"nodes", "pods", "capture"})
OVERLAY_RECENT_FRAMES = 5000  # frames handed to the app kept for a look (not the pcap buffer)


@dataclass(frozen=True, slots=True)
class KeyedChanges:
    """What changed in a keyed collection since the reader last asked."""

    relisted: bool = False  # the whole collection was replaced: redraw everything
    changed: tuple[str, ...] = ()  # keys added or updated (still present)
    deleted: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.relisted or bool(self.changed) or bool(self.deleted)


@dataclass(frozen=True, slots=True)
class Freshness:
    """How fresh a group of sources is: what a pane shows under its title."""

    fetched_at: float | None  # the oldest latest answer (None until every source answered)
    stale_after: float  # seconds of silence after which the data is stale
    problem: str | None  # "fabric: cannot list switches: ..." when a source is failing


@dataclass
class _Keyed:
    """A collection updated by watch events, remembering which keys changed."""

    items: dict = field(default_factory=dict)
    relisted: bool = False
    changed: set = field(default_factory=set)
    deleted: set = field(default_factory=set)

    def apply(self, event: WatchEvent, key: Callable[[object], str]) -> None:
        if event.type == "RELIST":
            self.items = {key(item): item for item in event.items}
            self.relisted = True
            self.changed.clear()
            self.deleted.clear()
            return
        if event.obj is None:
            return
        name = key(event.obj)
        if event.type == "DELETED":
            self.items.pop(name, None)
            self.changed.discard(name)
            self.deleted.add(name)
        else:
            self.items[name] = event.obj
            self.deleted.discard(name)
            self.changed.add(name)

    def take(self) -> KeyedChanges:
        changes = KeyedChanges(self.relisted, tuple(sorted(self.changed)), tuple(self.deleted))
        self.relisted = False
        self.changed.clear()
        self.deleted.clear()
        return changes


class LabState:
    """Hosts, switch readings, nodes, pods, frames, problems and freshness of one lab."""

    def __init__(
        self,
        lab: LabInfo,
        clock: Callable[[], float],
        overlay_buffer_frames: int = 5000,
        poll_seconds: dict[str, float] | None = None,
        stale_after_polls: float = 3.0,
    ) -> None:
        self.lab = lab
        self.clock = clock
        self.hosts: list[Host] = []
        self.readings: dict[str, SwitchReading] = {}
        self._nodes = _Keyed()
        self._pods = _Keyed()
        # what the capture worker last reported (it holds the frames themselves)
        self.overlay = OverlayView(min(overlay_buffer_frames, OVERLAY_RECENT_FRAMES))
        self.last_answer: dict[str, float] = {}
        self.problems: dict[str, str] = {}
        self.ssh_cut_since: dict[str, float] = {}  # host -> when its SSH first failed
        self.failing_since: dict[str, float] = {}  # source -> when it began to fail
        self.capture_nodes: tuple[str, ...] = ()  # nodes a capture runs on now
        # node -> the switch port its frames are captured at (the node has no tcpdump)
        self.capture_points: dict[str, str] = {}
        self._poll_seconds = dict(poll_seconds or {})
        self._stale_after_polls = stale_after_polls
        # indexes rebuilt on demand after hosts, nodes or pods change (`reindex`)
        self._names: dict[str, str] | None = None  # names_by_ip
        self._pod_nodes: dict[str, str] | None = None  # pod_node_addresses
        # told (kind, data) after each thing the state receives: the session recorder
        self.listeners: list[Callable[[str, object], None]] = []
        # Calico's mode and, in BGP mode, each node's BGP status as calicoctl shows it
        # (or why it could not be read): the bgp feed's
        self.calico_mode: str | None = None
        self.node_bgp: dict[str, tuple[CalicoPeer, ...] | str] = {}
        self.node_bgp_version = 0
        # the cluster's Services with their endpoints, and why they could not be read
        self.services: tuple[KubeService, ...] = ()
        self.services_error: str | None = None
        self.services_version = 0
        # each switch's interfaces (when read, the list or why it could not be read), read
        # at the fabric poll's rhythm; and (host, neighbour) -> the host's port facing it,
        # from the backend's cabling: the map draws an uplink whose port is down as such
        self.interfaces: dict[str, tuple[float, tuple[Interface, ...] | str]] = {}
        self.switch_ports: dict[tuple[str, str], str] = {}
        # each switch's last answer with a summary: how long a silent one has been silent
        self.switch_answered: dict[str, float] = {}
        # the latest result of each kind of action ("trace", "ping", "verify") with its time:
        # the map draws the last trace (live, the app's runner writes it; in replay, the driver)
        self.results: dict[str, tuple[float, object]] = {}
        # the cluster's Warning events as last read (issue 26: recorded, replayed, reported)
        self.warnings: tuple[KubeEvent, ...] = ()
        self.warnings_error: str | None = None

    # -- what feeds report -----

    def answered(self, source: str) -> None:
        self.last_answer[source] = self.clock()
        self.problems.pop(source, None)
        self.failing_since.pop(source, None)

    def failed(self, source: str, error: str) -> bool:
        """Record that `source` fails; True when this is news (not the same error again)."""
        news = self.problems.get(source) != error
        self.problems[source] = error
        self.failing_since.setdefault(source, self.clock())
        if news:
            self._tell("failed", [source, error])
        return news

    def set_hosts(self, hosts: list[Host]) -> None:
        self.answered("hosts")
        now = self.clock()
        cut = {h.name for h in hosts if management_cut(h) is not None}
        # since when each host's management SSH has not answered (kept across polls)
        self.ssh_cut_since = {name: self.ssh_cut_since.get(name, now) for name in cut}
        self.hosts = list(hosts)
        self.reindex()
        self._tell("hosts", self.hosts)

    def note(self, kind: str, data: object) -> None:
        """Something to record that no pane draws (a session's reset reason,
        `session.bgp_resets`): told to the listeners (the recorder) only."""
        self._tell(kind, data)

    def set_readings(self, readings: dict[str, SwitchReading]) -> None:
        self.answered("fabric")
        self.readings = dict(readings)
        for name, reading in readings.items():
            if reading.summary is not None:
                self.switch_answered[name] = reading.fetched_at
        self._tell("fabric", self.readings)

    def set_interfaces(
        self,
        readings: dict[str, tuple[float, tuple[Interface, ...] | str]],
        ports: dict[tuple[str, str], str] | None = None,
    ) -> None:
        """Each switch's interfaces as last read; told (and recorded) only when a port's
        state or a switch's error changed, not at every counter tick."""
        before = _port_states(self.interfaces)
        self.interfaces = dict(readings)
        if ports is not None:
            self.switch_ports = dict(ports)
        if _port_states(self.interfaces) != before or ports is not None:
            self._tell("interfaces", [self.interfaces, self.switch_ports])

    def set_node_bgp(
        self, mode: str | None, statuses: dict[str, tuple[CalicoPeer, ...] | str]
    ) -> None:
        self.answered("bgp")
        self.calico_mode = mode
        self.node_bgp = dict(statuses)
        self.node_bgp_version += 1
        self._tell("bgp", [mode, self.node_bgp])

    def set_services(self, services: Sequence[KubeService], error: str | None = None) -> None:
        """The Services as last read (`error`: why they could not be); told (and recorded)
        only when they changed."""
        self.answered("services")
        if (tuple(services), error) == (self.services, self.services_error):
            return
        self.services = tuple(services)
        self.services_error = error
        self.services_version += 1
        self._tell("services", [list(self.services), error])

    def note_result(self, kind: str, result: object) -> None:
        self.results[kind] = (self.clock(), result)

    def set_warnings(self, events: Sequence[KubeEvent], error: str | None = None) -> None:
        """The Warning events as last read (`error`: why they could not be); told (and
        recorded) only when they changed."""
        self.answered("events")
        if (tuple(events), error) == (self.warnings, self.warnings_error):
            return
        self.warnings = tuple(events)
        self.warnings_error = error
        self._tell("events", [list(self.warnings), error])

    def apply_node_event(self, event: WatchEvent[KubeNode]) -> None:
        self.answered("nodes")
        self._nodes.apply(event, _node_key)
        self.reindex()
        self._tell("node", event)

    def apply_pod_events(self, events: Iterable[WatchEvent[KubePod]]) -> None:
        self.answered("pods")
        moved = False  # a pod's name, address or node changed: the indexes are stale
        for event in events:
            old = self.pods.get(event.obj.key) if event.type == "MODIFIED" and event.obj else None
            moved = moved or old is None or _placed(old) != _placed(event.obj)
            self._pods.apply(event, _pod_key)
            self._tell("pod", event)
        if moved:
            self.reindex()

    def apply_overlay(self, summary: OverlaySummary, waited: float = 0.0) -> None:
        """A capture worker's summary (`waited`: seconds captures waited for it)."""
        transit = self.overlay.transit
        if self.overlay.apply(summary, waited):
            self.answered("capture")
            self._tell("overlay", summary.counters)
        if summary.transit != transit:
            self._tell("transit", summary.transit)

    def _tell(self, kind: str, data: object) -> None:
        for listener in self.listeners:
            listener(kind, data)

    # -- what screens read -----

    @property
    def nodes(self) -> dict[str, KubeNode]:
        return self._nodes.items

    @property
    def pods(self) -> dict[str, KubePod]:
        return self._pods.items

    def take_node_changes(self) -> KeyedChanges:
        return self._nodes.take()

    @property
    def pods_relisted(self) -> bool:
        """The whole pod list was replaced and no reader has taken it yet."""
        return self._pods.relisted

    def take_pod_changes(self) -> KeyedChanges:
        return self._pods.take()

    def kube_state(self) -> tuple[list[KubeNode], list[KubePod]]:
        return list(self.nodes.values()), list(self.pods.values())

    def racks_of_nodes(self) -> dict[str, int | None]:
        return {h.name: h.rack for h in self.hosts}

    def session_analysis(self, readings: dict[str, SwitchReading] | None = None) -> SessionAnalysis:
        """The sessions of `readings` (default: the live ones) against what the lab expects
        (the history screen passes the readings of another time)."""
        expected = self.lab.expected_sessions
        if self.calico_mode == "bgp":  # the nodes peer with their leaf too
            expected = tuple(dict.fromkeys((*expected, *bgp_expected_sessions(self.shape()))))
        chosen = self.readings if readings is None else readings
        return analyze_sessions(chosen, expected, dict(self.lab.peer_addresses))

    def shape(self) -> LabShape:
        return LabShape.of(self.hosts)

    def management_view(self, host: Host) -> HostView | None:
        """For a host whose management SSH does not answer: for how long, and what the
        fabric and the API say of it (`intent.liveness`); None for the others."""
        cut = management_cut(host)
        if cut is None:
            return None
        alive, says = host_liveness(
            host,
            self.readings,
            self.nodes.values(),
            self.lab.expected_sessions or self.shape().expected_sessions(),
            dict(self.lab.peer_addresses),
        )
        since = self.ssh_cut_since.get(host.name, self.clock())
        return HostView(cut, max(0.0, self.clock() - since), alive, says)

    def reindex(self) -> None:
        """Hosts, nodes or pods changed: the indexes built from them are rebuilt
        when next asked for."""
        self._names = None
        self._pod_nodes = None

    def pod_node_addresses(self) -> dict[str, str]:
        """Pod IP -> its node's address, for pods on a node with a known address:
        how the capture worker tells which node sent and which received a native
        frame (BGP mode), which carries pod addresses only. The same object until
        something changes, so callers can tell news by identity."""
        if self._pod_nodes is None:
            addresses = {n.name: n.internal_ip for n in self.nodes.values() if n.internal_ip}
            addresses.update({h.name: h.address for h in self.hosts if h.address})
            nodes = set(addresses.values())  # host-network pods carry their node's IP
            self._pod_nodes = {
                p.ip: addresses[p.node]
                for p in self.pods.values()
                if p.ip and p.node in addresses and p.ip not in nodes
            }
        return self._pod_nodes

    def names_by_ip(self) -> dict[str, str]:
        """Outer IPs are nodes, inner IPs are pods: what the overlay lines show.
        Rebuilt only after hosts, nodes or pods changed: the overlay asks ten
        times a second, and a cluster may have thousands of pods."""
        if self._names is None:
            # host-network pods (kube-proxy, calico-node) carry their node's IP: the
            # node's name wins for those, so pods go in first and nodes overwrite
            names = {p.ip: p.name for p in self.pods.values() if p.ip}
            names.update({h.address: h.name for h in self.hosts if h.address})
            names.update({n.internal_ip: n.name for n in self.nodes.values() if n.internal_ip})
            self._names = names
        return self._names

    def freshness(self, sources: tuple[str, ...]) -> Freshness:
        answers = [self.last_answer.get(name) for name in sources]
        known = [a for a in answers if a is not None]
        fetched = min(known) if len(known) == len(answers) else None
        problems = [self._problem(n) for n in sources if n in self.problems]
        limits = [self._stale_after(name) for name in sources]
        return Freshness(fetched, max(limits), "; ".join(problems) if problems else None)

    def _problem(self, source: str) -> str:
        """What fails and, once it had answered, for how long and what is shown instead
        (issue 29: a pane names the part that stopped answering, not only its age)."""
        text = f"{source}: {self.problems[source]}"
        said = self.last_answer.get(source)
        since = self.failing_since.get(source)
        if said is None or since is None:
            return text
        failing = max(0, round(self.clock() - since))
        shown = time.strftime("%H:%M:%S", time.localtime(said))
        return f"{text}; failing for {failing} s, showing what it said at {shown}"

    def _stale_after(self, source: str) -> float:
        if source in SPEAK_ON_CHANGE:
            return float("inf")
        interval = self._poll_seconds.get(source, 10.0)
        return interval * self._stale_after_polls


def _port_states(readings: dict[str, tuple[float, tuple[Interface, ...] | str]]) -> dict:
    return {
        name: found if isinstance(found, str) else tuple((i.name, i.state) for i in found)
        for name, (_, found) in readings.items()
    }


def _node_key(node: object) -> str:
    assert isinstance(node, KubeNode)
    return node.name


def _placed(pod: KubePod | None) -> tuple[str, str | None, str | None] | None:
    """What the indexes know of a pod: a status change alone leaves them as they are."""
    return None if pod is None else (pod.name, pod.ip, pod.node)


def _pod_key(pod: object) -> str:
    assert isinstance(pod, KubePod)
    return pod.key
