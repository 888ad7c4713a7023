"""Why the probe went dark where it did: read the state that decides that hop and name it.

At the first point where the probe was expected and missing, the hop into it is decided by
one thing: the sending node's route into vxlan.calico, its neighbour and FDB entries for the
receiving node's VTEP (against the MAC and address Calico publishes on the Node), the links,
the leaf's and spine's routes and BGP sessions, the receiving node's route to the pod. The
reads go over the lab's own connections (`LabBackend.read_state`), their text through the
parsers in `trace_reads`, and every read becomes an evidence line.
"""

from __future__ import annotations

import contextlib
import ipaddress
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from fabrictui.actions.trace.model import (
    REQUEST,
    Correlation,
    ObservationPoint,
    PointKind,
)
from fabrictui.actions.trace.reads import (
    LinkState,
    RouteEntry,
    RouteLookup,
    longest_match,
    parse_brief_links,
    parse_fdb,
    parse_frr_route_json,
    parse_neigh,
    parse_route_get,
    parse_route_show,
)
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.backends.trace_ports import Ports, read_argv
from fabrictui.constants import CALICO_NAMESPACES, VXLAN_DEVICE
from fabrictui.intent.labshape import LabShape
from fabrictui.model import Host, KubeNode, KubePod, PingResult, VmState
from fabrictui.parsers import ParseError

T = TypeVar("T")


@dataclass
class PathContext:
    """What the cause finder knows about the pair and the lab, read once per trace."""

    backend: LabBackend
    shape: LabShape
    ports: Ports
    hosts: dict[str, Host]
    nodes: dict[str, KubeNode]
    pods: Sequence[KubePod]
    src: KubePod
    dst: KubePod | None
    src_ip: str
    dst_ip: str
    src_node: str
    dst_node: str | None
    evidence: list[str] = field(default_factory=list)
    _cache: dict[tuple[str, str, str], str | BackendError] = field(default_factory=dict)

    def say(self, line: str) -> None:
        if line not in self.evidence:
            self.evidence.append(line)

    async def read(self, host: str, what: str, arg: str = "") -> str | None:
        """The text of one read (cached), or None when it could not run (said in evidence)."""
        key = (host, what, arg)
        if key not in self._cache:
            try:
                self._cache[key] = await self.backend.read_state(host, what, arg)
            except BackendError as err:
                self._cache[key] = err
        got = self._cache[key]
        shaped = self.shape.host(host)
        argv = shlex.join(read_argv(what, arg, shaped is not None and shaped.is_switch))
        if isinstance(got, BackendError):
            self.say(f"{host}$ {argv}: cannot read: {got}")
            return None
        shown = "; ".join(ln.strip() for ln in got.strip().splitlines()[:6] if ln.strip())
        if what != "links":  # link tables are quoted by the line that matters
            self.say(f"{host}$ {argv} -> {shown or '(nothing)'}")
        return got

    async def links(self, host: str) -> dict[str, LinkState] | None:
        text = await self.read(host, "links")
        if text is None:
            return None
        with contextlib.suppress(ParseError):
            return parse_brief_links(text)
        self.say(f"{host}: ip -br link: output not understood")
        return None

    async def link(self, host: str, iface: str) -> LinkState | None:
        table = await self.links(host)
        state = None if table is None else table.get(iface)
        if table is not None:
            self.say(f"{host}: {state.describe() if state else iface + ' does not exist'}")
        return state

    async def route_get(self, host: str, address: str) -> RouteLookup | None:
        text = await self.read(host, "route", address)
        if text is None:
            return None
        try:
            return parse_route_get(text)
        except ParseError as err:
            self.say(f"{host}: {err}")
            return None

    async def route_match(self, host: str, address: str) -> RouteEntry | None:
        text = await self.read(host, "routes", address)
        if text is None:
            return None
        try:
            return longest_match(parse_route_show(text), address)
        except ParseError as err:
            self.say(f"{host}: {err}")
            return None

    def owner_of(self, address: str) -> tuple[str | None, str | None]:
        """(node, block) whose Calico block holds `address`."""
        addr = ipaddress.IPv4Address(address)
        for node in self.nodes.values():
            for block in node.calico_blocks:
                if addr in ipaddress.IPv4Network(block):
                    return node.name, block
        return None, None

    def calico_trouble(self, node: str | None) -> str | None:
        if node is None:
            return None
        for pod in self.pods:
            if pod.namespace in CALICO_NAMESPACES and pod.node == node and (
                pod.owner == "calico-node" or pod.name.startswith("calico-node-")
            ):  # fmt: skip
                if pod.running:
                    return None
                return (
                    f"calico-node not running on {node} ({pod.status}, {pod.ready_text}, "
                    f"{pod.restarts} restarts)"
                )
        return None

    def pod_at(self, address: str) -> KubePod | None:
        return next((p for p in self.pods if p.ip == address and p.node), None)


async def explain(ctx: PathContext, corr: Correlation, ping: PingResult | None) -> str | None:
    """One line naming what broke (None when the probe went and came back), with evidence
    lines added to `ctx.evidence`."""
    lost = corr.lost_at
    if lost is None:
        if corr.delivered and corr.replied:
            await _fabric_notes(ctx, corr)
            return None
        if ping is not None and ping.ok:
            return None
        return "the probe went dark after the last point watched (no capture further on)"
    request = lost.direction == REQUEST
    target = ctx.dst_ip if request else ctx.src_ip
    sender = ctx.src_node if request else ctx.dst_node
    receiver = ctx.dst_node if request else ctx.src_node
    sender_pod = ctx.src if request else ctx.dst
    if sender is None:
        return None
    wrong = _wrong_vtep(ctx, corr, lost.direction, sender, receiver)
    if wrong:
        return await _encap_cause(ctx, sender, receiver, target) or wrong
    kind = lost.kind
    s_leaf = ctx.shape.leaf_of(sender)
    r_leaf = ctx.shape.leaf_of(receiver) if receiver else None
    if kind is PointKind.POD and lost.host == sender and lost.step == _first_step(corr, lost):
        return await _sender_pod_cause(ctx, sender_pod, sender, lost, request, ping)
    if kind in (PointKind.POD, PointKind.ROUTED):
        return await _delivery_cause(ctx, lost.host, target, lost.interface)
    if kind is PointKind.VXLAN and lost.host == sender:
        return await _node_route_cause(ctx, sender, target)
    if kind is PointKind.NODE_UPLINK and lost.host == sender:
        return await _encap_cause(ctx, sender, receiver, target) or await _link_cause(
            ctx, lost, f"{sender} put the probe into {VXLAN_DEVICE} and it never left"
        )
    if kind is PointKind.LEAF_DOWNLINK and lost.host == s_leaf and lost.peer == sender:
        return await _link_cause(
            ctx, lost, f"{sender} sent it out its uplink and {lost.label} did not see it"
        )
    if kind is PointKind.LEAF_UPLINK and lost.host == s_leaf and receiver is not None:
        return await _leaf_route_cause(ctx, s_leaf, receiver, lost)
    if kind is PointKind.SPINE_PORT and lost.peer == s_leaf and lost.branch:
        return await _spine_in_cause(ctx, lost.branch, s_leaf, lost)
    if kind is PointKind.SPINE_PORT and lost.branch and receiver is not None:
        return await _spine_out_cause(ctx, lost.branch, receiver, lost)
    if kind is PointKind.LEAF_UPLINK:
        return await _link_cause(ctx, lost, f"{lost.branch} sent it towards {lost.host}")
    if kind is PointKind.LEAF_DOWNLINK and receiver is not None and lost.host == r_leaf:
        route = await _switch_route(ctx, lost.host, _node_ip(ctx, receiver))
        if route is not None and not route:
            return f"{lost.host} has no route to {receiver} ({_node_ip(ctx, receiver)})"
        return await _link_cause(ctx, lost, f"{lost.host} did not send it out to {receiver}")
    if kind is PointKind.NODE_UPLINK:
        return await _link_cause(ctx, lost, f"{r_leaf} sent it out to {lost.host}")
    if kind is PointKind.VXLAN:
        state = await ctx.link(lost.host, VXLAN_DEVICE)
        if state is None:
            return f"{lost.host} has no {VXLAN_DEVICE}: calico-node has not set it up"
        if not state.up:
            return f"{VXLAN_DEVICE} is {state.state} on {lost.host}"
        return (
            f"{lost.host} got the VXLAN frame on its uplink but {VXLAN_DEVICE} did not take it "
            "(VNI, UDP port or inner MAC not its own?)"
        )
    return f"the probe was lost before {lost.label}"


def _first_step(corr: Correlation, lost: ObservationPoint) -> int:
    return min(h.point.step for h in corr.hops if h.point.direction == lost.direction)


def _node_ip(ctx: PathContext, node: str) -> str:
    known = ctx.nodes.get(node)
    if known is not None and known.internal_ip:
        return known.internal_ip
    host = ctx.shape.host(node)
    return (host.address if host else None) or node


def _wrong_vtep(
    ctx: PathContext, corr: Correlation, direction: str, sender: str, receiver: str | None
) -> str | None:
    """Frames that left the sender encapsulated to an address that is not the receiver's."""
    if receiver is None:
        return None
    want = _node_ip(ctx, receiver)
    for hop in corr.hops:
        s = hop.sighting
        p = hop.point
        if s is None or p.direction != direction or p.host != sender or not s.outer_dst:
            continue
        if s.outer_dst != want:
            ctx.say(f"{p.label}: {s.describe()}")
            return f"{sender} encapsulates for {receiver} to {s.outer_dst}, not {want}"
    return None


async def _sender_pod_cause(
    ctx: PathContext,
    pod: KubePod | None,
    node: str,
    lost: ObservationPoint,
    request: bool,
    ping: PingResult | None,
) -> str:
    if pod is None:
        return f"nothing left {lost.label}"
    if not request:
        ctx.say(f"{pod.key}: {pod.status} {pod.ready_text} on {node}")
        return (
            f"{pod.key} got the echo request on {lost.interface} and sent no reply (the pod "
            "ignores pings, or a policy drops its replies)"
        )
    state = await ctx.link(node, lost.interface)
    if state is None:
        return f"{pod.key} has no interface {lost.interface} on {node}"
    if not state.up:
        return f"{pod.key}'s interface {lost.interface} is {state.state} on {node}"
    if ping is not None and ping.error:
        return f"the probe did not run in {pod.key}: {ping.error}"
    return f"{pod.key} sent no echo request out of {lost.interface}"


async def _node_route_cause(ctx: PathContext, node: str, target: str) -> str:
    lookup = await ctx.route_get(node, target)
    best = await ctx.route_match(node, target)
    owner, block = ctx.owner_of(target)
    whose = f" ({owner}'s block {block})" if owner else ""
    if best is not None and best.kind == "blackhole":
        pod = ctx.pod_at(target)
        name = f" ({pod.key})" if pod else ""
        return f"{node} black-holes {target}{name}: route `{best.line}`"
    if lookup is not None and lookup.ok and lookup.dev == VXLAN_DEVICE:
        state = await ctx.link(node, VXLAN_DEVICE)
        if state is not None and not state.up:
            return f"{VXLAN_DEVICE} is {state.state} on {node}"
        return f"{node} routes {target} into {VXLAN_DEVICE} but did not send it there"
    reason = ctx.calico_trouble(node) or (ctx.calico_trouble(owner) if owner else None)
    how = lookup.describe() if lookup is not None else "no answer"
    line = f"{node} has no route to {target}{whose} via {VXLAN_DEVICE} ({how})"
    return f"{line}: {reason}" if reason else line


async def _delivery_cause(ctx: PathContext, node: str, target: str, iface: str) -> str:
    best = await ctx.route_match(node, target)
    lookup = await ctx.route_get(node, target)
    pod = ctx.pod_at(target)
    name = f" ({pod.key})" if pod else ""
    if best is not None and best.kind == "blackhole":
        if best.prefix == f"{target}/32":
            return f"{node} black-holes {target}{name}: route `{best.line}`"
        return (
            f"{node} has no route to {target}{name}: only Calico's blackhole for its block "
            f"{best.prefix} (no pod with that address on {node})"
        )
    if lookup is not None and lookup.ok and lookup.dev != iface:
        return f"{node} routes {target} {lookup.describe()}, not to {iface}{name}"
    state = await ctx.link(node, iface)
    if state is None:
        return f"{iface}{name} does not exist on {node}"
    if not state.up:
        return f"{iface}{name} is {state.state} on {node}"
    if pod is not None and not pod.running:
        return f"{pod.key} is {pod.status} ({pod.ready_text})"
    return (
        f"{node} routes {target} to {iface}, which is up, but the probe was not seen there: "
        f"dropped on {node} on the way (a network policy or firewall rule?)"
    )


async def _encap_cause(
    ctx: PathContext, node: str, receiver: str | None, target: str
) -> str | None:
    """The sending node's neighbour and FDB entries for the receiver's VTEP, against the
    VTEP MAC and address Calico publishes on the receiver's Node."""
    if receiver is None:
        return None
    lookup = await ctx.route_get(node, target)
    if lookup is None or not lookup.ok or lookup.dev != VXLAN_DEVICE or not lookup.via:
        return None
    peer = ctx.nodes.get(receiver)
    want_mac = peer.vtep_mac.lower() if peer and peer.vtep_mac else None
    want_ip = _node_ip(ctx, receiver)
    text = await ctx.read(node, "neigh")
    neigh = _parsed(ctx, node, parse_neigh, text)
    if neigh is None:
        return None
    entry = neigh.get(lookup.via)
    if entry is None or entry.lladdr is None:
        return (
            f"{node} has no neighbour entry for {lookup.via} ({receiver}'s VTEP) on {VXLAN_DEVICE}"
        )
    if want_mac and entry.lladdr != want_mac:
        return (
            f"{node}'s neighbour entry for {lookup.via} on {VXLAN_DEVICE} is {entry.lladdr}, "
            f"but {receiver}'s VTEP MAC is {want_mac} (Calico's Node annotation)"
        )
    fdb = _parsed(ctx, node, parse_fdb, await ctx.read(node, "fdb"))
    if fdb is None:
        return None
    dsts = fdb.get(entry.lladdr)
    if not dsts:
        return f"{node} has no FDB entry for {entry.lladdr} ({receiver}'s VTEP) on {VXLAN_DEVICE}"
    if want_ip not in dsts:
        return (
            f"{node}'s FDB entry for {entry.lladdr} on {VXLAN_DEVICE} sends to "
            f"{', '.join(dsts)}, not {receiver}'s {want_ip}"
        )
    return None


def _parsed(ctx: PathContext, host: str, parser: Callable[[str], T], text: str | None) -> T | None:
    if text is None:
        return None
    try:
        return parser(text)
    except ParseError as err:
        ctx.say(f"{host}: {err}")
        return None


async def _link_cause(ctx: PathContext, lost: ObservationPoint, fallback: str) -> str:
    """The cable into `lost`: its own state, and the far end's."""
    here = await ctx.link(lost.host, lost.interface)
    if here is not None and not here.up:
        return f"{lost.label} is {here.state}" + (f" (towards {lost.peer})" if lost.peer else "")
    if here is None and (lost.host, lost.interface) in _known_ports(ctx):
        return f"{lost.label} does not exist"
    if lost.peer:
        far_iface = ctx.ports.get((lost.peer, lost.host))
        if far_iface:
            far = await ctx.link(lost.peer, far_iface)
            if far is not None and not far.up:
                return f"{lost.peer} {far_iface} is {far.state} (towards {lost.host})"
    return fallback


def _known_ports(ctx: PathContext) -> set[tuple[str, str]]:
    return {(host, iface) for (host, _peer), iface in ctx.ports.items()}


async def _switch_route(ctx: PathContext, switch: str, address: str) -> list[str] | None:
    """Active next hops of the switch's route to `address` ([] when none), None: unreadable."""
    text = await ctx.read(switch, "route", address)
    if text is None:
        return None
    try:
        routes = parse_frr_route_json(text)
    except ParseError as err:
        ctx.say(f"{switch}: {err}")
        return None
    hops = [iface or ip or "?" for r in routes if r.selected for ip, iface, ok in r.nexthops if ok]
    return hops


async def _sessions(ctx: PathContext, switch: str) -> str:
    reading = await ctx.backend.bgp_summary(switch)
    if reading.summary is None:
        line = reading.error or "no answer"
        ctx.say(f"{switch}: BGP: {line}")
        return line
    parts = []
    for peer in reading.summary.peers:
        who = peer.short_hostname or dict(ctx.shape.peer_addresses()).get(
            peer.neighbor, peer.neighbor
        )
        parts.append(f"{who} {peer.state}")
    line = ", ".join(parts) or "no sessions"
    ctx.say(f"{switch}: BGP sessions: {line}")
    return line


async def _leaf_route_cause(
    ctx: PathContext, leaf: str, receiver: str, lost: ObservationPoint
) -> str:
    uplinks = [(s.name, ctx.ports.get((leaf, s.name))) for s in ctx.shape.spines]
    table = await ctx.links(leaf)
    down = []
    for spine, port in uplinks:
        state = table.get(port) if table is not None and port else None
        if state is not None:
            ctx.say(f"{leaf}: {state.describe()} (to {spine})")
            if not state.up:
                down.append(f"{port} to {spine}")
    address = _node_ip(ctx, receiver)
    rack = ctx.shape.rack_of(receiver)
    if down and len(down) == len([p for _s, p in uplinks if p]):
        both = "both uplinks" if len(down) == 2 else "all uplinks"
        return f"{leaf}: {both} down ({', '.join(down)}): no path to rack {rack}"
    hops = await _switch_route(ctx, leaf, address)
    sessions = await _sessions(ctx, leaf)
    if hops is not None and not hops:
        return f"{leaf} has no route to {address} ({receiver}, rack {rack}): BGP {sessions}"
    return f"{leaf} routes {address} via {', '.join(hops or ['?'])} but sent nothing out"


async def _spine_in_cause(ctx: PathContext, spine: str, leaf: str, lost: ObservationPoint) -> str:
    uplink = ctx.ports.get((leaf, spine), "?")
    host = ctx.hosts.get(spine)
    if host is not None and host.state is not VmState.RUNNING:
        return (
            f"{spine} is {host.state} but {leaf} still sends via it ({uplink}): its BGP "
            "hold timer has not expired yet"
        )
    table = await ctx.links(spine)
    if table is None:
        return f"{spine} does not answer, and {leaf} still sends to it out of {uplink}"
    state = table.get(lost.interface)
    if state is not None:
        ctx.say(f"{spine}: {state.describe()}")
        if not state.up:
            return f"{spine} {lost.interface} is {state.state} (towards {leaf})"
    return f"{leaf} sent it out {uplink} and {spine} {lost.interface} did not see it"


async def _spine_out_cause(
    ctx: PathContext, spine: str, receiver: str, lost: ObservationPoint
) -> str:
    address = _node_ip(ctx, receiver)
    hops = await _switch_route(ctx, spine, address)
    if hops is not None and not hops:
        sessions = await _sessions(ctx, spine)
        return f"{spine} has no route to {address} ({receiver}): BGP {sessions}"
    return await _link_cause(ctx, lost, f"{spine} did not forward it out {lost.interface}")


async def _fabric_notes(ctx: PathContext, corr: Correlation) -> None:
    """Delivered: say which spine carried it, and any fabric trouble it went around."""
    if corr.branch:
        back = f", the reply through {corr.reply_branch}" if corr.reply_branch else ""
        ctx.say(f"the request crossed {corr.branch}{back}")
    if ctx.dst_node is None or ctx.shape.same_rack(ctx.src_node, ctx.dst_node):
        return
    for node in (ctx.src_node, ctx.dst_node):
        leaf = ctx.shape.leaf_of(node)
        if leaf is None:
            continue
        reading = await ctx.backend.bgp_summary(leaf)
        if reading.summary is None:
            continue
        down = [p for p in reading.summary.peers if not p.established]
        if down:
            await _sessions(ctx, leaf)
