"""Kind "session": one BGP session's story, read when asked (issue 26).

A session is named `DEVICE/PEER`. On a switch (`leaf1/172.16.0.0`, `leaf1/swp51`,
`leaf1/spine-sw1`) the peer is as the switch names it: an address, an interface, or a host
name its summary shows (or the lab knows); the switch's `show bgp neighbors PEER` is read.
On a node (`k8s-node-l1-1/10.0.101.1`, `.../Node_10_0_101_1`, `.../leaf1`) the peer is one
of its BIRD protocols (calico-node's, BGP mode), by address, protocol name or the leaf's
name; `birdcl show protocols all NAME` is read.

Links follow the evidence: a peer that is a node opens the node, a peer switch its own end
of the session (`spine-sw1/172.16.0.1`), and each end its device.
"""

from __future__ import annotations

import ipaddress
import time

from fabrictui.actions.drill.words import clock, span
from fabrictui.backends.base import BackendError, LabBackend, NotFound
from fabrictui.model import Host
from fabrictui.parsers.bgp.bird_session import BirdSession
from fabrictui.parsers.bgp.neighbor import BgpNeighbor
from fabrictui.parsers.bgp.neighbor.logged import LoggedChange
from fabrictui.render.detail import Detail, DetailLink, DetailSection

USAGE = "a session is DEVICE/PEER: leaf1/172.16.0.0, leaf1/swp51, k8s-node-l1-1/10.0.101.1"


def split_name(name: str) -> tuple[str, str]:
    device, sep, peer = name.partition("/")
    if not sep or not device or not peer or "/" in peer:
        raise BackendError(f"{name[:80]!r}: {USAGE}")
    return device, peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _owner(backend: LabBackend, hosts: list[Host], address: str) -> Host | None:
    """The machine of the lab that holds `address` (a switch's link address or a node's)."""
    by_name = {h.name: h for h in hosts}
    for known, host in backend.info().peer_addresses:
        if known == address and host in by_name:
            return by_name[host]
    return next((h for h in hosts if h.address == address), None)


def peer_link(hosts: list[Host], node: str, peer: str | None, why: str) -> DetailLink | None:
    """The one rule for the session a node's words name (a readiness probe's "BGP not
    established with 10.0.101.1"), as its switch sees it: the node's leaf (the same rack: the
    lab's shape, so it holds for the demo and the real labs alike, where the expected
    sessions list only leaf-spine pairs) and the node's address there; a peer that is another
    node is the node's own mesh session. `peer` None: the node's session on its leaf (BIRD
    named no peer: it did not answer). None when the lab does not say enough (no such node,
    no address, no leaf in its rack)."""
    me = next((h for h in hosts if h.name == node and h.role.is_k8s), None)
    if me is None:
        return None
    if peer is not None and any(h.address == peer and h.role.is_k8s for h in hosts):
        return DetailLink("session", f"{node}/{peer}", why=why)
    leaf = next((h for h in hosts if h.role.value == "leaf" and h.rack == me.rack), None)
    if leaf is None or me.rack is None or not me.address:
        return None
    return DetailLink("session", f"{leaf.name}/{me.address}", why=why)


async def _switch_peer(backend: LabBackend, switch: str, peer: str, hosts: list[Host]) -> str:
    """The peer as the switch names it, from a host name where one was given."""
    if _is_address(peer):
        return peer
    reading = await backend.bgp_summary(switch)
    if reading.summary is not None:
        for p in reading.summary.peers:
            short = (p.hostname or "").split(".")[0]
            if peer in (p.neighbor, p.hostname, short):
                return p.neighbor
    host = next((h for h in hosts if h.name == peer), None)
    if host is not None:
        listed = {p.neighbor for p in reading.summary.peers} if reading.summary else set()
        for address, owner in backend.info().peer_addresses:
            if owner == peer and address in listed:
                return address
        if host.role.is_k8s and host.address:
            return host.address  # a node peering with its leaf (BGP mode)
    return peer  # an interface (swp51), or whatever the switch will answer for


def _session_rows(n: BgpNeighbor, read_at: float) -> tuple[tuple[str, str], ...]:
    rows = [("State", n.state)]
    if n.up_seconds is not None:
        rows.append(("Up for", f"{span(n.up_seconds)} (since {clock(read_at - n.up_seconds)})"))
    elif n.down_seconds is not None:
        rows.append(
            ("Down for", f"{span(n.down_seconds)} (since {clock(read_at - n.down_seconds)})")
        )
    elif not n.established:
        rows.append(("Down for", "never up since the switch started the session"))
    peer = n.peer + (f" ({n.hostname})" if n.hostname else "")
    rows.append(("Peer", peer))
    if n.description:
        rows.append(("Description", n.description))
    rows.append(("Remote AS", str(n.remote_as) if n.remote_as is not None else "not known yet"))
    rows.append(("Local AS", str(n.local_as) if n.local_as is not None else "-"))
    if n.remote_router_id:
        rows.append(("Remote router ID", n.remote_router_id))
    if n.local_address and n.peer_address:
        rows.append(("Connection", f"{n.local_address} -> {n.peer_address}"))
    return tuple(rows)


def _reset_section(n: BgpNeighbor, read_at: float) -> DetailSection | None:
    if n.last_reset is None and n.notification is None:
        return None
    rows: list[tuple[str, str]] = []
    if n.last_reset_seconds is not None:
        ago = n.last_reset_seconds
        rows.append(("When", f"{span(ago)} ago ({clock(read_at - ago)})"))
    if n.last_reset:
        rows.append(("Reason", n.last_reset))
    if n.notification is not None:
        note = n.notification
        words = note.words or "(no words printed)"
        if note.code is not None:
            words += f" (code {note.code}, subcode {note.subcode or 0})"
        who = "sent by this switch" if note.direction == "sent" else "received from the peer"
        rows.append(("NOTIFICATION", f"{who}: {words}"))
        if note.device_words and note.device_words.replace(" ", "") != note.words.replace(" ", ""):
            rows.append(("Switch's words", note.device_words))
    if n.connections_established is not None:
        rows.append(
            (
                "Connections",
                f"established {n.connections_established}, dropped {n.connections_dropped or 0}",
            )
        )
    severity = "bad" if not n.established else "normal"
    return DetailSection("Last reset", tuple(rows), severity=severity)


def reset_words(n: BgpNeighbor) -> str:
    """The last reset in one line, for a log or a report: the switch's reason, then the
    NOTIFICATION in RFC words ("BGP Notification received; NOTIFICATION received from the
    peer: Cease / Administrative Shutdown (code 6, subcode 2)")."""
    parts = [n.last_reset] if n.last_reset else []
    note = n.notification
    if note is not None:
        who = "sent by this switch" if note.direction == "sent" else "received from the peer"
        words = note.words or note.device_words or "(no words printed)"
        if note.code is not None:
            words += f" (code {note.code}, subcode {note.subcode or 0})"
        parts.append(f"NOTIFICATION {who}: {words}")
    return "; ".join(parts) or "no reset reason printed"


def logged_words(logged: LoggedChange) -> str:
    """A session's end as its switch's FRR logged it, in one line (a deleted dynamic
    neighbour's: "Neighbor deleted; NOTIFICATION received from the peer: Cease /
    Administrative Shutdown (code 6, subcode 2)")."""
    parts = [logged.reason or "no reason logged"]
    note = logged.notification
    if note is not None:
        who = "sent by this switch" if note.direction == "sent" else "received from the peer"
        parts.append(f"NOTIFICATION {who}: {note.words} (code {note.code}, subcode {note.subcode})")
    return "; ".join(parts) + " (the switch's log)"


def _timer(configured: float | None, in_use: float | None) -> str:
    def s(v: float | None) -> str:
        return "-" if v is None else f"{v:g}s"

    return f"{s(in_use)} negotiated, {s(configured)} configured"


def neighbor_detail(
    switch: str, n: BgpNeighbor, read_at: float, links: tuple[DetailLink, ...]
) -> Detail:
    sections = [
        DetailSection(
            "Session",
            _session_rows(n, read_at),
            severity="normal" if n.established else "bad",
        )
    ]
    reset = _reset_section(n, read_at)
    if reset is not None:
        sections.append(reset)
    sections.append(
        DetailSection(
            "Timers",
            (
                ("Hold", _timer(n.hold_configured, n.hold)),
                ("Keepalive", _timer(n.keepalive_configured, n.keepalive)),
            ),
        )
    )
    if n.messages:
        rows = tuple((kind, f"sent {sent}, received {rcvd}") for kind, sent, rcvd in n.messages)
        sections.append(DetailSection("Messages", rows))

    def count(v: int | None) -> str:
        return "not printed" if v is None else str(v)

    prefixes = tuple(
        (
            f.family,
            f"received {count(f.received)}, accepted {count(f.accepted)}, "
            f"advertised {count(f.advertised)}",
        )
        for f in n.families
    )
    if prefixes:
        sections.append(DetailSection("Prefixes", prefixes))
    if n.bfd is not None:
        b = n.bfd
        rows = [("Status", b.status)]
        if b.detect_multiplier is not None:
            rows.append(("Detect multiplier", str(b.detect_multiplier)))
        if b.rx_ms is not None and b.tx_ms is not None:
            rows.append(("Intervals", f"rx {b.rx_ms} ms, tx {b.tx_ms} ms"))
        if b.last_update:
            rows.append(("Last update", b.last_update))
        sections.append(
            DetailSection("BFD", tuple(rows), severity="normal" if b.status == "Up" else "bad")
        )
    return Detail(
        kind="session",
        name=f"{switch}/{n.peer}",
        sections=tuple(sections),
        links=links,
        source=f"{switch}: show bgp neighbors {n.peer}",
    )


def bird_detail(node: str, s: BirdSession, links: tuple[DetailLink, ...]) -> Detail:
    p = s.protocol
    up = p.state == "up" and (s.bgp_state or p.info).startswith("Established")
    rows = [
        ("State", f"{s.bgp_state or '-'} (protocol {p.state})"),
        ("Since", p.since),
        ("Peer", f"{s.neighbor_address or p.peer_address or '-'}"),
        ("Remote AS", str(s.neighbor_as) if s.neighbor_as is not None else "-"),
    ]
    if s.neighbor_id:
        rows.append(("Remote router ID", s.neighbor_id))
    sections = [DetailSection("Session", tuple(rows), severity="normal" if up else "bad")]
    if s.last_error:
        err = [("Last error", s.last_error)]
        if s.notification is not None:
            direction, words = s.notification
            who = "sent by BIRD" if direction == "sent" else "received from the peer"
            err.append(("NOTIFICATION", f"{who}: {words}"))
        sections.append(DetailSection("Last reset", tuple(err), severity="bad"))
    if s.hold is not None or s.keepalive is not None:
        timers = []
        if s.hold is not None:
            timers.append(("Hold", f"{s.hold[1]}s negotiated, {s.hold[0]}s left"))
        if s.keepalive is not None:
            timers.append(("Keepalive", f"{s.keepalive[1]}s, next in {s.keepalive[0]}s"))
        sections.append(DetailSection("Timers", tuple(timers)))
    if s.import_updates is not None:
        received, rejected, filtered, _ignored, accepted = s.import_updates
        prefixes = (
            ("Received", str(received)),
            ("Accepted", str(accepted)),
            ("Rejected or filtered", str((rejected or 0) + (filtered or 0))),
            ("Advertised", str(s.exported if s.exported is not None else "-")),
        )
        sections.append(DetailSection("Prefixes", prefixes))
    return Detail(
        kind="session",
        name=f"{node}/{p.name}",
        sections=tuple(sections),
        links=links,
        source=f"{node}: birdcl show protocols all {p.name}",
    )


async def _node_session(backend: LabBackend, node: Host, peer: str, hosts: list[Host]) -> Detail:
    protocols = [p for p in await backend.node_bgp_status(node.name) if p.proto == "BGP"]
    chosen = next((p for p in protocols if peer in (p.name, p.peer_address)), None)
    peer_host = next((h for h in hosts if h.name == peer), None)
    if chosen is None and peer_host is not None and peer_host.role.is_switch:
        # the leaf by name: the node's one session that is not the node-to-node mesh
        outside = [p for p in protocols if not p.name.startswith("Mesh_")]
        chosen = outside[0] if len(outside) == 1 else None
    if chosen is None:
        names = ", ".join(p.name for p in protocols) or "none"
        raise NotFound(f"{node.name}: BIRD has no session with {peer} (its BGP protocols: {names})")
    session = await backend.node_bgp_session(node.name, chosen.name)
    links = [DetailLink("node", node.name, why="the node this BIRD runs on")]
    address = session.neighbor_address or chosen.peer_address
    owner = _owner(backend, hosts, address) if address else None
    if owner is not None and owner.role.is_k8s:
        links.append(DetailLink("node", owner.name, why=f"peer {address} is this node"))
    elif owner is not None or chosen.name.startswith(("Node_", "Global_")):
        leaf = owner.name if owner is not None else None
        if leaf is None and peer_host is not None and peer_host.role.is_switch:
            leaf = peer_host.name
        if leaf is not None and node.address:
            why = "the same session, as the switch sees it"
            links.append(DetailLink("session", f"{leaf}/{node.address}", why=why))
            links.append(DetailLink("switch", leaf, why=f"peer {address}"))
    return bird_detail(node.name, session, tuple(links))


def logged_detail(
    switch: str, peer: str, said: str, logged: LoggedChange, links: tuple[DetailLink, ...]
) -> Detail:
    """A session the switch no longer lists (FRR deletes a dynamic neighbour whose session
    ended), from its FRR log: when and why it went down."""
    rows = [("State", f"not listed: {said}")]
    if logged.seconds_ago is not None:
        rows.append(
            ("Down for", f"{span(logged.seconds_ago)} (since {logged.when}, the switch's clock)")
        )
    elif logged.when:
        rows.append(("Down since", f"{logged.when} (the switch's clock)"))
    rows.append(("Peer", peer + (f" ({logged.hostname})" if logged.hostname else "")))
    reset = [("Reason", logged.reason or "no reason logged")]
    note = logged.notification
    if note is not None:
        who = "sent by this switch" if note.direction == "sent" else "received from the peer"
        reset.append(
            ("NOTIFICATION", f"{who}: {note.words} (code {note.code}, subcode {note.subcode})")
        )
    sections = (
        DetailSection("Session", tuple(rows), severity="bad"),
        DetailSection("Last reset", tuple(reset), severity="bad"),
    )
    return Detail("session", f"{switch}/{peer}", None, sections, links,
                  f"{switch}: show bgp neighbors {peer}, and its FRR log")  # fmt: skip


async def _from_log(backend: LabBackend, switch: str, peer: str) -> LoggedChange | None:
    """The log's last change of the session when it says it went down, else None."""
    try:
        logged = await backend.bgp_neighbor_logged(switch, peer)
    except BackendError:
        return None  # no log to read: the switch's own "No such neighbor" stands
    return logged if logged is not None and logged.state == "Down" else None


async def describe_session(backend: LabBackend, name: str, namespace: str | None) -> Detail:
    device, peer = split_name(name)
    hosts = await backend.list_hosts()
    host = next((h for h in hosts if h.name == device), None)
    if host is None:
        raise NotFound(f"{device}: no such switch or node in this lab")
    if host.role.is_k8s:
        return await _node_session(backend, host, peer, hosts)
    if not host.role.is_switch:
        raise NotFound(f"{device} is neither a switch nor a node: it has no BGP sessions")
    address = await _switch_peer(backend, device, peer, hosts)
    links = [DetailLink("switch", device, why="the switch this session is on")]
    try:
        neighbor = await backend.bgp_neighbor(device, address)
    except NotFound as gone:
        logged = await _from_log(backend, device, address)
        if logged is None:
            raise
        owner = _owner(backend, hosts, address)
        if owner is not None and owner.role.is_k8s:
            links.append(DetailLink("node", owner.name, why=f"peer {address} is this node"))
        said = str(gone).removeprefix(f"{device}: ")
        return logged_detail(device, address, said, logged, tuple(links))
    read_at = time.time()
    owner = _owner(backend, hosts, neighbor.peer)
    if owner is not None and owner.role.is_k8s:
        links.append(DetailLink("node", owner.name, why=f"peer {neighbor.peer} is this node"))
    elif owner is not None and owner.role.is_switch and neighbor.local_address:
        why = "the same session, as the peer sees it"
        links.append(DetailLink("session", f"{owner.name}/{neighbor.local_address}", why=why))
    return neighbor_detail(device, neighbor, read_at, tuple(links))
