"""What the pod and node describers share: their Events as a section, and the BGP session a
readiness message names (issue 26)."""

from __future__ import annotations

import re

from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.parsers.kubedetail.events import KubeEvent, order_events
from fabrictui.render.detail import DetailLink, DetailSection

EVENTS_SHOWN = 20  # an object's newest events in its detail (all of them: `fabrictui events`)
# calico-node's readiness in BGP mode: "... BIRD is not ready: BGP not established with 10.0.101.1"
BGP_PEER = re.compile(r"BGP not established with ((?:\d{1,3}\.){3}\d{1,3})")


def event_line(event: KubeEvent) -> str:
    """One event as `kubectl describe` lists them: type, reason, (count), from, message."""
    count = f" (x{event.count})" if event.count > 1 else ""
    when = event.last or "-"
    return f"{when}  {event.type:<7}  {event.reason}{count}  [{event.source}]  {event.message}"


async def object_events(
    backend: LabBackend, namespace: str | None, kind: str, name: str, problems: list[str]
) -> list[KubeEvent]:
    try:
        return order_events(await backend.list_events(namespace, (kind, name)))
    except BackendError as err:
        problems.append(f"events: {err}")
        return []


def events_section(events: list[KubeEvent]) -> DetailSection:
    shown = events[:EVENTS_SHOWN]
    lines = tuple(event_line(e) for e in shown) or ("<none>",)
    if len(events) > len(shown):
        lines += (f"... {len(events) - len(shown)} more: fabrictui events --for KIND/NAME",)
    bad = any(e.warning for e in events)
    return DetailSection("Events", lines=lines, severity="warn" if bad else "normal")


def session_link(backend: LabBackend, node: str, message: str) -> DetailLink | None:
    """The BGP session a readiness message names, as its switch names it: the switch that
    owns the peer address (else the leaf the node peers with) and, on it, the node's
    address."""
    match = BGP_PEER.search(message)
    if match is None:
        return None
    peer = match.group(1)
    info = backend.info()
    owners = dict(info.peer_addresses)
    address = next((ip for ip, host in info.peer_addresses if host == node), None)
    switch = owners.get(peer)
    if switch is None or switch == node:
        switch = next((a for a, b in info.expected_sessions if b == node), None)
    if switch is None or address is None:
        return None
    return DetailLink("session", f"{switch}/{address}", why=f"readiness names BGP peer {peer}")


def leaf_session(backend: LabBackend, node: str) -> DetailLink | None:
    """BGP mode: the node's session on the leaf it peers with, as the leaf names it."""
    info = backend.info()
    switch = next((a for a, b in info.expected_sessions if b == node), None)
    address = next((ip for ip, host in info.peer_addresses if host == node), None)
    if switch is None or address is None:
        return None
    return DetailLink("session", f"{switch}/{address}", why="its BGP session on its leaf")
