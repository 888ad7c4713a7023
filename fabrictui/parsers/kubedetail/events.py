"""Events, from core/v1 or from events.k8s.io (v1beta1 or v1): one KubeEvent either way.

The two shapes name the same things differently: `involvedObject`/`message`/`source`/
`firstTimestamp`/`lastTimestamp`/`count` in core/v1, `regarding`/`note`/
`deprecatedSource` or `reportingController`/`eventTime` or `deprecated*Timestamp`/
`series.count` or `deprecatedCount` in events.k8s.io."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fabrictui.parsers import ParseError, json_list, json_map


@dataclass(frozen=True, slots=True)
class KubeEvent:
    namespace: str
    name: str
    type: str  # Normal | Warning
    reason: str
    message: str
    kind: str  # of the object it is about: Pod, Node, ...
    object_name: str
    object_namespace: str
    source: str  # "kubelet, k8s-node-l1-1", "default-scheduler"
    first: str  # RFC 3339, "" when not told
    last: str
    count: int = 1

    @property
    def about(self) -> str:
        """`pod/NAME`, as `kubectl get events` names the object."""
        return f"{self.kind.lower()}/{self.object_name}"

    @property
    def warning(self) -> bool:
        return self.type == "Warning"


def _text(obj: dict[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ParseError(f"{what}: {key} is {type(value).__name__}, not text")
    return value


def _count(value: Any, what: str) -> int:
    if value is None:
        return 1
    if type(value) is not int or value < 0:
        raise ParseError(f"{what}: count {value!r} is not a count")
    return value


def event_from_api(obj: Any) -> KubeEvent:
    event = json_map(obj, "event")
    meta = json_map(event.get("metadata"), "event metadata")
    name = _text(meta, "name", "event metadata")
    what = f"event {name or '?'}"
    grouped = "regarding" in event or "note" in event
    ref = json_map(event.get("regarding" if grouped else "involvedObject"), what)
    if grouped:
        legacy = json_map(event.get("deprecatedSource"), what)
        source = _text(event, "reportingController", what) or _text(legacy, "component", what)
        host = _text(legacy, "host", what)
        series = json_map(event.get("series"), what)
        count = _count(series.get("count", event.get("deprecatedCount")), what)
        first = _text(event, "deprecatedFirstTimestamp", what) or _text(event, "eventTime", what)
        last = (
            _text(series, "lastObservedTime", what)
            or _text(event, "deprecatedLastTimestamp", what)
            or first
        )
        message = _text(event, "note", what).rstrip()
    else:
        src = json_map(event.get("source"), what)
        source = _text(src, "component", what) or _text(event, "reportingComponent", what)
        host = _text(src, "host", what)
        count = _count(event.get("count"), what)
        first = _text(event, "firstTimestamp", what) or _text(event, "eventTime", what)
        last = _text(event, "lastTimestamp", what) or first
        message = _text(event, "message", what).rstrip()
    return KubeEvent(
        namespace=_text(meta, "namespace", what),
        name=name,
        type=_text(event, "type", what) or "Normal",
        reason=_text(event, "reason", what),
        message=message,
        kind=_text(ref, "kind", what),
        object_name=_text(ref, "name", what),
        object_namespace=_text(ref, "namespace", what),
        source=f"{source}, {host}" if host else source,
        first=first,
        last=last,
        count=count,
    )


def events_from_api(obj: Any) -> list[KubeEvent]:
    """An EventList of either group, as the API answers a list."""
    return [
        event_from_api(item) for item in json_list(json_map(obj, "events").get("items"), "items")
    ]


def order_events(events: list[KubeEvent]) -> list[KubeEvent]:
    """Warning first, then newest first (RFC 3339 times in UTC sort as text)."""
    newest = sorted(events, key=lambda e: (e.last, e.name), reverse=True)
    return sorted(newest, key=lambda e: not e.warning)
