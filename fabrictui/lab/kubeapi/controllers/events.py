"""Core v1 Events as the scheduler, kubelet and controllers record them, so that
`kubectl describe` and `kubectl get events` tell the story of a pod or node.

A real API server keeps one Event object and serves it in two shapes: core/v1 and
events.k8s.io (v1beta1 in 1.15, v1 from 1.19). The lab stores the second shape beside the
first (`mirror`), converted as the API server converts an Event a core/v1 recorder wrote:
`regarding` is the involved object, `note` the message, the source and the times go to the
`deprecated*` fields, and `eventTime` is null (only the new recorder sets it)."""

from __future__ import annotations

import contextlib
import time
from collections import deque
from typing import Any

from fabrictui.lab.kubeapi.errors import ApiError
from fabrictui.lab.kubeapi.store import Store, now_rfc3339

Obj = dict[str, Any]
EVENTS = "events"
EVENTS_GROUP_KEY = "events.events.k8s.io"
KEEP = 2000  # oldest events are deleted beyond this many (a real cluster expires them)


class Recorder:
    def __init__(self, store: Store, keep: int = KEEP, mirror: bool = False) -> None:
        self.store = store
        self.keep = keep
        self.mirror = mirror
        self._recorded: deque[tuple[str, str]] = deque()
        self._last_ns = 0
        self._latest: dict[tuple[str, str, str], tuple[str, str]] = {}  # aggregated events

    def _bump(self, same: tuple[str, str, str]) -> bool:
        where = self._latest.get(same)
        if where is None:
            return False
        keys = (EVENTS, EVENTS_GROUP_KEY) if self.mirror else (EVENTS,)
        now = now_rfc3339()
        for key in keys:
            current = self.store.get(key, *where)
            if current is None:
                self._latest.pop(same, None)
                return False
            current = {**current}
            if key == EVENTS:
                current["count"] = int(current.get("count") or 1) + 1
                current["lastTimestamp"] = now
            else:
                current["deprecatedCount"] = int(current.get("deprecatedCount") or 1) + 1
                current["deprecatedLastTimestamp"] = now
            with contextlib.suppress(ApiError):
                self.store.update(key, current)
        return True

    def _clock(self) -> int:
        self._last_ns = max(time.time_ns(), self._last_ns + 1)
        return self._last_ns

    def record(
        self,
        obj: Obj,
        reason: str,
        message: str,
        component: str,
        event_type: str = "Normal",
        host: str | None = None,
        aggregate: bool = False,
    ) -> None:
        """`aggregate`: the same event again for the same object counts on the one already
        recorded (count, lastTimestamp), as the kubelet's event correlator does for probes."""
        meta = obj.get("metadata", {})
        same = (meta.get("uid", ""), reason, message)
        if aggregate and self._bump(same):
            return
        namespace = meta.get("namespace") or "default"
        now = now_rfc3339()
        source: Obj = {"component": component}
        if host:
            source["host"] = host
        involved = {
            "apiVersion": obj.get("apiVersion", "v1"),
            "kind": obj.get("kind", ""),
            "name": meta.get("name", ""),
            "uid": meta.get("uid", ""),
        }
        if meta.get("namespace"):
            involved["namespace"] = meta["namespace"]
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                # as Kubernetes names them: the object and a nanosecond clock in hex,
                # so that one object's events list in the order they happened
                "name": f"{meta.get('name', '')}.{self._clock():x}",
                "namespace": namespace,
            },
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": event_type,
        }
        with contextlib.suppress(ApiError):
            created = self.store.create(EVENTS, event)
            self._recorded.append((namespace, created["metadata"]["name"]))
            if aggregate:
                self._latest[same] = (namespace, created["metadata"]["name"])
            if self.mirror:
                self.store.create(EVENTS_GROUP_KEY, as_events_group(event))
        while len(self._recorded) > self.keep:
            old_ns, old_name = self._recorded.popleft()
            for key in (EVENTS, EVENTS_GROUP_KEY) if self.mirror else (EVENTS,):
                with contextlib.suppress(ApiError):
                    self.store.delete(key, old_ns, old_name)


def as_events_group(event: Obj) -> Obj:
    """A core/v1 Event in the events.k8s.io shape (the apiVersion is set when served)."""
    return {
        "kind": "Event",
        "metadata": dict(event["metadata"]),
        "eventTime": None,
        "reason": event.get("reason", ""),
        "regarding": dict(event.get("involvedObject") or {}),
        "note": event.get("message", ""),
        "type": event.get("type", "Normal"),
        "deprecatedSource": dict(event.get("source") or {}),
        "deprecatedFirstTimestamp": event.get("firstTimestamp"),
        "deprecatedLastTimestamp": event.get("lastTimestamp"),
        "deprecatedCount": event.get("count", 1),
    }
