"""What the pod and node describers share: their Events as a section, and the BGP peers a
readiness message names (issue 26; which session that is: session.peer_link)."""

from __future__ import annotations

import re

from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.parsers.kubedetail.events import KubeEvent, order_events
from fabrictui.render.detail import DetailSection

EVENTS_SHOWN = 20  # an object's newest events in its detail (all of them: `fabrictui events`)
# calico-node's readiness in BGP mode: "... BIRD is not ready: BGP not established with
# 10.0.101.1" (the rehearsal lab's probe lists every peer that is down: "with A,B")
BGP_PEERS = re.compile(
    r"BGP not established with ((?:\d{1,3}\.){3}\d{1,3}(?:,(?:\d{1,3}\.){3}\d{1,3})*)"
)
BIRD_NOT_READY = "BIRD is not ready"


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


def readiness_peers(message: str) -> list[str] | None:
    """The BGP peers calico-node's readiness words name; [] when BIRD itself is not ready and
    names none (its socket does not answer: a stopped BIRD); None when the words are not
    about BIRD."""
    if BIRD_NOT_READY not in message:
        return None
    match = BGP_PEERS.search(message)
    return match.group(1).split(",") if match else []
