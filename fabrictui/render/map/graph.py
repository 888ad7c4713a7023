"""The fabric map's graph: switches and nodes with their states, the links between them with
theirs, the traffic per rack pair and the last trace, built from plain readings.

Pure: what the live state holds (readings, nodes, hosts, the transit table) goes in as
values, so the TUI, `fabrictui map`, the report and the benchmark build the same graph
(`session/mapping.py` takes them from a `LabState`). The layout (`layout.py`) places it and
`draw.py` colours it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fabrictui.capture.transit import TransitSnapshot
from fabrictui.intent.bgp_sessions import PeerVerdict, SessionAnalysis
from fabrictui.intent.labshape import LabShape
from fabrictui.model import Host, KubeNode, Role, SwitchReading, VmState
from fabrictui.parsers.calico import CalicoPeer
from fabrictui.parsers.interfaces import Interface
from fabrictui.render.common import age

# A state is one of these words; draw.py gives each its colour from the theme's palette.
GOOD = "good"
WARN = "warn"  # up but not doing its job: a session in (Policy), frames lost on a path
BAD = "bad"
UNSEEN = "unseen"  # not observed: neither good nor broken (a switch that did not answer)

# operstates of a port that carries nothing: the kernel's words (an admin-down port reads
# "down", its veth or cable peer "lowerlayerdown" where the driver stacks on another)
PORT_DOWN = frozenset({"down", "lowerlayerdown", "notpresent"})
NOT_READ = "interfaces not read"
LOSSY_PERCENT = 1.0  # a rack pair losing this share of its frames stands out
_RANK = {GOOD: 0, UNSEEN: 1, WARN: 2, BAD: 3}


def worst(*states: str) -> str:
    return max(states, key=_RANK.__getitem__, default=GOOD)


@dataclass(frozen=True, slots=True)
class MapNode:
    name: str
    kind: str  # spine, leaf, node
    rack: int | None
    state: str  # GOOD / WARN / BAD / UNSEEN
    label: str  # what the state is, in a word or two: "Established 2/2", "NotReady"
    detail: str = ""  # more, where the map has room: "no answer for 12s: timed out"
    role: str = ""  # master / worker for nodes

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "role": self.role or self.kind,
            "rack": self.rack,
            "state": self.state,
            "label": self.label,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class MapLink:
    upper: str  # the spine of an uplink, the leaf of a node link
    lower: str  # the leaf, the node
    kind: str  # uplink, node
    state: str
    label: str  # "Established", "Active", "(Policy)", "Ready, BGP Established", "not read"
    via: str = ""  # the session's neighbor as the switch that read it names it: swp51, an IP
    # each end's port and its state as the switch's interfaces say ("leaf1 swp51 up"), or
    # why they were not read; empty when the lab's cabling is not known
    ports: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.upper,
            "b": self.lower,
            "kind": self.kind,
            "state": self.state,
            "label": self.label,
            "via": self.via,
            "ports": list(self.ports),
        }


@dataclass(frozen=True, slots=True)
class RackTraffic:
    """Frames from one rack's nodes to another's (or within a rack), from the transit
    table: the nodes' captures both saw them, or saw them leave and never arrive."""

    src_rack: int | None
    dst_rack: int | None
    arrived: int
    lost: int
    one_way_ms: float | None  # the slowest node pair's one-way time in it
    rate: float | None = None  # frames/s since the previous map (None: not measured)

    @property
    def key(self) -> tuple[int | None, int | None]:
        return (self.src_rack, self.dst_rack)

    @property
    def loss_percent(self) -> float:
        sent = self.arrived + self.lost
        return 100.0 * self.lost / sent if sent else 0.0

    @property
    def state(self) -> str:
        return WARN if self.lost and self.loss_percent >= LOSSY_PERCENT else GOOD

    def to_json(self) -> dict[str, Any]:
        return {
            "from_rack": self.src_rack,
            "to_rack": self.dst_rack,
            "arrived": self.arrived,
            "lost": self.lost,
            "loss_percent": round(self.loss_percent, 2),
            "one_way_ms": None if self.one_way_ms is None else round(self.one_way_ms, 3),
            "frames_per_s": None if self.rate is None else round(self.rate, 1),
            "state": self.state,
        }


@dataclass(frozen=True, slots=True)
class TracePath:
    """The last trace as the map draws it: the hosts it crossed (in order), where it
    stopped and why; or a failed pair of the ping matrix (`hosts` its two nodes)."""

    title: str  # "space1/nginx-a → space1/nginx-b"
    hosts: tuple[str, ...]  # crossed, in order
    stopped_at: str | None  # the host where it was last expected and not seen
    where: str = ""  # "leaf2 swp51 (request)"
    cause: str | None = None
    delivered: bool = False
    kind: str = "trace"  # trace, ping

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "hosts": list(self.hosts),
            "stopped_at": self.stopped_at,
            "where": self.where,
            "cause": self.cause,
            "delivered": self.delivered,
        }


@dataclass(frozen=True, slots=True)
class FabricMap:
    spines: tuple[MapNode, ...]
    leaves: tuple[MapNode, ...]  # in rack order
    nodes: tuple[MapNode, ...]  # by rack, then name
    links: tuple[MapLink, ...]
    traffic: tuple[RackTraffic, ...] = ()
    paths: tuple[TracePath, ...] = ()  # the last trace first, then failed ping pairs
    mode: str | None = None  # Calico's: vxlan, bgp, None (not known)
    notes: tuple[str, ...] = ()  # what could not be read, in its own words
    at: float = 0.0
    measured: bool = False  # a capture counted the traffic (else `traffic` says nothing)
    _links_by: dict[tuple[str, str], MapLink] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        self._links_by.update({(x.upper, x.lower): x for x in self.links})

    def link(self, upper: str, lower: str) -> MapLink | None:
        return self._links_by.get((upper, lower))

    @property
    def all_nodes(self) -> tuple[MapNode, ...]:
        return (*self.spines, *self.leaves, *self.nodes)

    def racks(self) -> list[int | None]:
        """Racks in order: each leaf's, then racks with nodes but no leaf known."""
        racks: list[int | None] = [leaf.rack for leaf in self.leaves]
        for node in self.nodes:
            if node.rack not in racks:
                racks.append(node.rack)
        return racks

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "nodes": [n.to_json() for n in self.all_nodes],
            "links": [x.to_json() for x in self.links],
            # not measured is null, never an empty list that would read as no traffic
            "traffic": [t.to_json() for t in self.traffic] if self.measured else None,
            "paths": [p.to_json() for p in self.paths],
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class MapInputs:
    """What the map is drawn from: a `LabState`'s readings at one moment, as values."""

    hosts: tuple[Host, ...]
    readings: Mapping[str, SwitchReading]
    analysis: SessionAnalysis
    nodes: Mapping[str, KubeNode]
    now: float
    switch_answered: Mapping[str, float] = field(default_factory=dict)  # last good answer
    host_cut: Mapping[str, float] = field(default_factory=dict)  # host -> SSH silent for (s)
    mode: str | None = None
    node_bgp: Mapping[str, tuple[CalicoPeer, ...] | str] = field(default_factory=dict)
    transit: TransitSnapshot | None = None
    names: Mapping[str, str] = field(default_factory=dict)  # address -> host name
    paths: tuple[TracePath, ...] = ()
    notes: tuple[str, ...] = ()
    # switch -> (when read, its interfaces or why not); (host, neighbour) -> host's port
    interfaces: Mapping[str, tuple[float, tuple[Interface, ...] | str]] = field(
        default_factory=dict
    )
    ports: Mapping[tuple[str, str], str] = field(default_factory=dict)


def build_map(inputs: MapInputs, previous: FabricMap | None = None) -> FabricMap:
    """The graph at `inputs.now`; `previous` (the map drawn before) gives frames/s."""
    shape = LabShape.of(inputs.hosts)
    by_host = {h.name: h for h in inputs.hosts}
    verdicts = _verdicts(inputs.analysis)
    own: dict[str, list[PeerVerdict]] = {}
    for v in inputs.analysis.verdicts:
        own.setdefault(v.switch, []).append(v)
    missing = set(inputs.analysis.missing)
    spines = tuple(_switch(h, inputs, own) for h in shape.spines)
    leaves = tuple(
        _switch(h, inputs, own)
        for h in sorted(shape.leaves, key=lambda h: (h.rack is None, h.rack or 0, h.name))
    )
    workers = sorted(shape.nodes, key=lambda h: (h.rack is None, h.rack or 0, h.name))
    nodes = tuple(_node(by_host[h.name], inputs) for h in workers)
    links: list[MapLink] = []
    for leaf in leaves:
        for spine in spines:
            links.append(_uplink(leaf.name, spine.name, inputs, verdicts, missing))
    # LabShape.leaf_of, once per rack: asked per node it costs a scan of the hosts each
    leaf_of_rack: dict[int | None, str] = {}
    for h in shape.leaves:
        leaf_of_rack.setdefault(h.rack, h.name)
    for node in workers:
        leaf = node.leaf or (leaf_of_rack.get(node.rack) if node.rack is not None else None)
        if leaf is not None:
            links.append(_node_link(leaf, node.name, inputs, verdicts, missing))
    traffic = rack_traffic(inputs.transit, inputs.names, shape, previous, inputs.now)
    return FabricMap(
        spines,
        leaves,
        nodes,
        tuple(links),
        traffic,
        inputs.paths,
        inputs.mode,
        inputs.notes,
        inputs.now,
        inputs.transit is not None,
    )


def _verdicts(analysis: SessionAnalysis) -> dict[tuple[str, str], PeerVerdict]:
    """(switch, peer host) -> the switch's verdict on that session (expected ones first)."""
    found: dict[tuple[str, str], PeerVerdict] = {}
    for v in analysis.verdicts:
        if v.peer_host is not None and (v.expected or (v.switch, v.peer_host) not in found):
            found[(v.switch, v.peer_host)] = v
    return found


def _switch(host, inputs: MapInputs, own: Mapping[str, list[PeerVerdict]]) -> MapNode:
    kind = "spine" if host.role is Role.SPINE else "leaf"
    reading = inputs.readings.get(host.name)
    if reading is None:
        return MapNode(host.name, kind, host.rack, UNSEEN, "not read yet")
    if reading.summary is None:
        said = inputs.switch_answered.get(host.name)
        label = "no answer" if said is None else f"no answer {age(inputs.now - said)}"
        error = (reading.error or "no answer").removeprefix(f"{host.name}: ")
        return MapNode(host.name, kind, host.rack, UNSEEN, label, error)
    mine = [v for v in own.get(host.name, ()) if v.expected and not v.dynamic]
    up = sum(1 for v in mine if v.peer.established)
    expected = sum(1 for s, _ in inputs.analysis.missing if s == host.name) + len(mine)
    state = GOOD if up == expected else BAD
    if state == GOOD and any(v.peer.policy_blocked for v in mine):
        state = WARN  # up, but exchanging nothing
    label, detail = f"BGP {up}/{expected}", ""
    found = inputs.interfaces.get(host.name)
    if found is not None and isinstance(found[1], str):
        # the sessions' colour stays: a port list that could not be read is not a port down
        label, detail = f"{label}, {NOT_READ}", found[1]
    return MapNode(host.name, kind, host.rack, state, label, detail)


def _node(host: Host, inputs: MapInputs) -> MapNode:
    role = host.role.value
    silent = inputs.host_cut.get(host.name)
    kube = inputs.nodes.get(host.name)
    if host.state not in (VmState.RUNNING, VmState.UNREACHABLE):
        return MapNode(host.name, "node", host.rack, BAD, host.state.value, role=role)
    if kube is None:
        label, state = "not in the API", UNSEEN
    elif kube.ready:
        label, state = "Ready", GOOD
    else:
        label, state = "NotReady", BAD
    detail = ""
    if silent is not None:
        detail = f"no SSH answer {age(silent)}"
        state = worst(state, UNSEEN)
    return MapNode(host.name, "node", host.rack, state, label, detail, role)


def _uplink(leaf: str, spine: str, inputs: MapInputs, verdicts, missing) -> MapLink:
    """A port down at either end (the leaf's first) says the most: the session over it is
    down because of it. Else the leaf's view of its session with the spine, else the
    spine's."""
    ports, down = _port_view(inputs, ((leaf, spine), (spine, leaf)))
    if down is not None:
        switch, port, state = down
        return MapLink(spine, leaf, "uplink", BAD, f"{port} {state}", f"{switch} {port}", ports)
    for switch, peer in ((leaf, spine), (spine, leaf)):
        v = verdicts.get((switch, peer))
        if v is not None:
            via = f"{switch} {v.peer.neighbor}"
            return MapLink(spine, leaf, "uplink", *_session_state(v), via, ports)
        if (switch, peer) in missing:
            return MapLink(spine, leaf, "uplink", BAD, "no session", "", ports)
    return MapLink(spine, leaf, "uplink", UNSEEN, "not read", "", ports)


def _port_view(
    inputs: MapInputs, ends: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, ...], tuple[str, str, str] | None]:
    """Each end's port in words ("leaf1 swp51 up", "spine-sw1 swp1 not read"), and the
    first end whose port is down as (switch, port, operstate)."""
    words: list[str] = []
    down = None
    for switch, peer in ends:
        port = inputs.ports.get((switch, peer))
        found = inputs.interfaces.get(switch)
        if port is None or found is None:
            continue
        if isinstance(found[1], str):
            words.append(f"{switch} {port} not read")
            continue
        interface = next((i for i in found[1] if i.name == port), None)
        if interface is None:
            words.append(f"{switch} {port} not listed")
            continue
        words.append(f"{switch} {port} {interface.state}")
        if interface.state in PORT_DOWN and down is None:
            down = (switch, port, interface.state)
    return tuple(words), down


def _session_state(v: PeerVerdict) -> tuple[str, str]:
    if v.peer.established and v.peer.policy_blocked:
        return WARN, "(Policy)"
    if v.peer.established:
        return GOOD, "Established"
    return BAD, v.peer.state


def _node_link(leaf: str, node: str, inputs: MapInputs, verdicts, missing) -> MapLink:
    """Readiness, and in BGP mode the node's session with its leaf (the leaf's view; a
    session the leaf should have and does not list is down; else what the node's BIRD
    says)."""
    kube = inputs.nodes.get(node)
    if kube is None:
        state, label = UNSEEN, "not in the API"
    else:
        state, label = (GOOD, "Ready") if kube.ready else (BAD, "NotReady")
    if inputs.mode != "bgp":
        return MapLink(leaf, node, "node", state, label)
    v = verdicts.get((leaf, node))
    via = f"{leaf} {v.peer.neighbor}" if v is not None else ""
    if v is not None:
        session_state, words = _session_state(v)
    elif (leaf, node) in missing:
        session_state, words = BAD, "no session"
    else:
        session_state, words = _bird_view(inputs.node_bgp.get(node))
    return MapLink(leaf, node, "node", worst(state, session_state), f"{label}, BGP {words}", via)


def _bird_view(status: tuple[CalicoPeer, ...] | str | None) -> tuple[str, str]:
    if status is None or isinstance(status, str):
        return UNSEEN, "not read"
    if not status:
        return BAD, "no peer"
    if all(p.established for p in status):
        return GOOD, "Established"
    bad = next(p for p in status if not p.established)
    return BAD, bad.info or bad.state


def rack_traffic(
    transit: TransitSnapshot | None,
    names: Mapping[str, str],
    shape: LabShape,
    previous: FabricMap | None = None,
    now: float = 0.0,
) -> tuple[RackTraffic, ...]:
    """Node pairs of the transit table summed per rack pair; frames/s from the change
    since `previous` (at its own `at`)."""
    if transit is None:
        return ()
    sums: dict[tuple[int | None, int | None], list] = {}
    racks = {h.name: h.rack for h in shape.hosts}
    for pair in transit.pairs:
        src = racks.get(names.get(pair.src, ""))
        dst = racks.get(names.get(pair.dst, ""))
        entry = sums.setdefault((src, dst), [0, 0, None])
        entry[0] += pair.arrived
        entry[1] += pair.lost
        if pair.best_ms is not None:
            entry[2] = pair.best_ms if entry[2] is None else max(entry[2], pair.best_ms)
    before = {t.key: t for t in previous.traffic} if previous else {}
    elapsed = now - previous.at if previous else 0.0
    out = []
    for key in sorted(sums, key=_rack_key):
        arrived, lost, one_way = sums[key]
        rate = None
        old = before.get(key)
        if old is not None and elapsed > 0:
            rate = max(0.0, (arrived + lost - old.arrived - old.lost) / elapsed)
        elif previous is not None and previous.measured and elapsed > 0:
            rate = (arrived + lost) / elapsed  # a pair the previous count had not seen yet
        out.append(RackTraffic(key[0], key[1], arrived, lost, one_way, rate))
    return tuple(out)


def _rack_key(key: tuple[int | None, int | None]) -> tuple:
    return tuple((r is None, r or 0) for r in key)


def path_hosts(hops: Iterable[tuple[str, bool]]) -> tuple[str, ...]:
    """Hosts in order, once each, from (host, seen) hops: the ones seen."""
    return tuple(dict.fromkeys(host for host, seen in hops if seen))
