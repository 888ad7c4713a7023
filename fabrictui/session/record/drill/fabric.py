"""A BGP session's, a switch's and a VM's detail at a replay's moment (issue 26): the
session's row in its switch's recorded summary (or the node's Calico BGP status), its
recorded changes with the reason read when it went down, and the neighbour detail read then
(`bgpdetail`, where the recording has it); a switch's sessions; a VM's state."""

from __future__ import annotations

import time

from fabrictui.actions.drill.session import neighbor_detail, peer_link, split_name
from fabrictui.actions.drill.switch import sessions_section, switch_section
from fabrictui.actions.drill.words import span
from fabrictui.backends.base import NotFound
from fabrictui.model import BgpPeer, Host
from fabrictui.parsers.bgp.neighbor import BgpNeighbor
from fabrictui.render.detail import Detail, DetailLink, DetailSection
from fabrictui.session.record.bgp_changes import SessionChange, session_changes
from fabrictui.session.record.drill.moment import Moment, not_recorded
from fabrictui.session.record.format import RecordingError
from fabrictui.session.record.neighbors import KIND, neighbor_from_record

CHANGES_SHOWN = 10
GONE_WORDS = "not listed by the switch (FRR deletes a dynamic neighbour whose session ended)"


def _hhmmss(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def _host(moment: Moment, name: str) -> Host:
    host = next((h for h in moment.state.hosts if h.name == name), None)
    if host is None:
        raise moment.missing(name)
    return host


def _owner(moment: Moment, address: str) -> Host | None:
    hosts = {h.name: h for h in moment.state.hosts}
    for known, name in moment.state.lab.peer_addresses:
        if known == address and name in hosts:
            return hosts[name]
    return next((h for h in hosts.values() if h.address == address), None)


def _switch_peer(moment: Moment, switch: str, peer: str) -> tuple[str, BgpPeer | None]:
    """The neighbour as the switch names it, and its row in the recorded summary."""
    reading = moment.state.readings.get(switch)
    rows = reading.summary.peers if reading is not None and reading.summary is not None else ()
    for p in rows:
        if peer in (p.neighbor, p.hostname, p.short_hostname):
            return p.neighbor, p
    host = next((h for h in moment.state.hosts if h.name == peer), None)
    if host is not None:
        for address, owner in moment.state.lab.peer_addresses:
            if owner == peer:
                row = next((p for p in rows if p.neighbor == address), None)
                if row is not None:
                    return address, row
        if host.role.is_k8s and host.address:
            peer = host.address  # a node peering with its leaf (BGP mode)
    return peer, next((p for p in rows if p.neighbor == peer), None)


def _recorded_neighbor(moment: Moment, switch: str, peer: str) -> tuple[float, BgpNeighbor] | None:
    """The latest neighbour detail recorded for the session up to the moment."""
    found = None
    for event in moment.recording.events:
        if event.t > moment.at:
            break
        if event.kind != KIND:
            continue
        try:
            data = event.data
            if isinstance(data, list) and len(data) == 3 and data[:2] == [switch, peer]:
                found = (event.t, neighbor_from_record(data[2]))
        except (RecordingError, ValueError, TypeError):
            continue  # a damaged one: the summary and the changes still say what they can
    return found


def _change_line(c: SessionChange) -> str:
    reason = f"  ({c.reason})" if c.reason else ""
    return f"{_hhmmss(c.t)}  {c.before} -> {c.after}{reason}"


def _summary_section(
    moment: Moment, neighbor: str, row: BgpPeer | None, changes: list[SessionChange]
) -> DetailSection:
    up = row is not None and row.established
    rows = [("State", row.state if row is not None else GONE_WORDS)]
    if changes:
        last = changes[-1]
        rows.append(
            ("Change seen", f"{_hhmmss(last.t)}, {span(moment.at - last.t)} before this moment")
        )
    if row is not None:
        rows.append(("Up/Down (as printed)", row.uptime))
        rows.append(("Peer", neighbor + (f" ({row.hostname})" if row.hostname else "")))
        rows.append(("Remote AS", str(row.remote_as) if row.remote_as is not None else "-"))
        if row.prefixes_received is not None:
            rows.append(("Prefixes received", str(row.prefixes_received)))
        if row.msg_rcvd is not None or row.msg_sent is not None:
            rows.append(("Messages", f"sent {row.msg_sent}, received {row.msg_rcvd}"))
    else:
        rows.append(("Peer", neighbor))
    return DetailSection("Session", tuple(rows), severity="normal" if up else "bad")


def _switch_session(moment: Moment, switch: str, peer: str) -> Detail:
    neighbor, row = _switch_peer(moment, switch, peer)
    recording = moment.recording
    changes = [
        c
        for c in session_changes(recording, recording.started, moment.at)
        if (c.switch, c.neighbor) == (switch, neighbor)
    ]
    read = _recorded_neighbor(moment, switch, neighbor)
    if row is None and not changes and read is None:
        raise moment.missing(f"session {switch}/{peer}")
    sections = [_summary_section(moment, neighbor, row, changes)]
    lines = tuple(_change_line(c) for c in changes[-CHANGES_SHOWN:])
    bad = any(c.went_down for c in changes)
    sections.append(DetailSection("Changes (recorded)", lines=lines or ("none while recording",),
                                  severity="warn" if bad else "normal"))  # fmt: skip
    if read is not None:
        t, n = read
        when = f"read at {_hhmmss(t)}, as it went down"
        sections += [
            DetailSection(f"{s.title} ({when})", s.rows, s.lines, s.severity)
            for s in neighbor_detail(switch, n, t, ()).sections
        ]
    else:
        sections.append(
            not_recorded(
                "the neighbour detail (timers, counters, NOTIFICATION): a recording reads it",
                "only when a session goes down while it records",
            )
        )
    links = [DetailLink("switch", switch, why="the switch this session is on")]
    owner = _owner(moment, neighbor)
    if owner is not None and owner.role.is_k8s:
        links.append(DetailLink("node", owner.name, why=f"peer {neighbor} is this node"))
    elif owner is not None and owner.role.is_switch and read is not None and read[1].local_address:
        why = "the same session, as the peer sees it"
        links.append(DetailLink("session", f"{owner.name}/{read[1].local_address}", why=why))
    return Detail("session", f"{switch}/{neighbor}", None, tuple(sections), tuple(links),
                  moment.source)  # fmt: skip


def _node_session(moment: Moment, node: Host, peer: str) -> Detail:
    """A node's BIRD session, as Calico's status recorded it (BGP mode)."""
    status = moment.state.node_bgp.get(node.name)
    if status is None:
        raise moment.missing(f"{node.name}'s BGP status")
    links = [DetailLink("node", node.name, why="the node this BIRD runs on")]
    leaf_end = peer_link(
        moment.state.hosts, node.name, None, "the same session, as the switch sees it"
    )
    if leaf_end is not None:
        links.append(leaf_end)
    if isinstance(status, str):  # BIRD did not answer then (a stopped BIRD): its words
        rows = (("State", "not read"), ("BIRD's answer", status))
        sections = (
            DetailSection("Session", rows, severity="bad"),
            not_recorded("BIRD's protocol detail (timers, route counts, last error)"),
        )
        return Detail("session", f"{node.name}/{peer}", None, sections, tuple(links),
                      moment.source)  # fmt: skip
    dotted = peer.removeprefix("Node_").removeprefix("Mesh_").removeprefix("Global_")
    dotted = dotted.replace("_", ".")
    chosen = next((p for p in status if p.address in (peer, dotted)), None)
    leaf = next((h for h in moment.state.hosts if h.name == peer and h.role.is_switch), None)
    if chosen is None and leaf is not None:
        outside = [p for p in status if p.peer_type != "node-to-node mesh"]
        chosen = outside[0] if len(outside) == 1 else None
    if chosen is None:
        names = ", ".join(p.address for p in status) or "none"
        raise NotFound(f"{node.name}: no BGP peer {peer} recorded then (its peers: {names})")
    rows = (
        ("State", f"{chosen.state} {chosen.info}".strip()),
        ("Since", chosen.since or "-"),
        ("Peer", f"{chosen.address} ({chosen.peer_type})"),
    )
    sections = (
        DetailSection("Session", rows, severity="normal" if chosen.established else "bad"),
        not_recorded("BIRD's protocol detail (timers, route counts, last error)"),
    )
    owner = _owner(moment, chosen.address)
    if owner is not None and owner.role.is_k8s:
        links = [
            links[0],
            DetailLink("node", owner.name, why=f"peer {chosen.address} is this node"),
        ]
    elif leaf_end is not None:
        links.append(
            DetailLink("switch", leaf_end.name.split("/")[0], why=f"peer {chosen.address}")
        )
    return Detail("session", f"{node.name}/{chosen.address}", None, sections, tuple(links),
                  moment.source)  # fmt: skip


def session_at(moment: Moment, name: str, namespace: str | None) -> Detail:
    device, peer = split_name(name)
    host = _host(moment, device)
    if host.role.is_k8s:
        return _node_session(moment, host, peer)
    if not host.role.is_switch:
        raise NotFound(f"{device} is neither a switch nor a node: it has no BGP sessions")
    return _switch_session(moment, device, peer)


def switch_at(moment: Moment, name: str, namespace: str | None) -> Detail:
    host = _host(moment, name)
    if not host.role.is_switch:
        raise NotFound(f"{name}: no such switch in this lab")
    sections = [switch_section(host)]
    links: list[DetailLink] = []
    reading = moment.state.readings.get(name)
    if reading is None or reading.summary is None:
        why = reading.error if reading is not None and reading.error else "no summary recorded"
        sections.append(DetailSection("Sessions", lines=(f"not read then: {why}",), severity="bad"))
    else:
        section, links = sessions_section(name, reading.summary)
        sections.append(section)
    sections.append(not_recorded("its interfaces (state, speed, MTU, error counters)"))
    links.append(DetailLink("vm", name, why="what vagrant said of it"))
    return Detail("switch", name, None, tuple(sections), tuple(links), moment.source)


def vm_at(moment: Moment, name: str, namespace: str | None = None) -> Detail:
    host = _host(moment, name)
    rows = [("State", host.state.value), ("Provider", host.provider or "-"),
            ("Role", host.role.value)]  # fmt: skip
    if host.rack is not None:
        rows.append(("Rack", str(host.rack)))
    rows.append(("SSH", host.ssh_endpoint or "not known"))
    if host.address:
        rows.append(("Address", host.address))
    severity = "normal" if host.state.value == "running" else "bad"
    sections = [DetailSection("Machine", tuple(rows), severity=severity)]
    if host.ssh_error:
        sections.append(DetailSection("SSH", lines=(host.ssh_error,), severity="bad"))
    links = []
    if host.role.is_switch:
        links.append(DetailLink("switch", name, why="its interfaces and sessions"))
    elif host.role.is_k8s:
        links.append(DetailLink("node", name, why="the Kubernetes node"))
    return Detail("vm", name, None, tuple(sections), tuple(links), moment.source)
