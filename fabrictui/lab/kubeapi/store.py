"""Objects in memory with one resourceVersion counter and watch fan-out.

Every change gets the next resourceVersion and is appended to a bounded
history; a watch that starts from a resourceVersion older than the history
holds is answered with 410 Gone (`Expired`), as etcd compaction makes a real
API server do.

Each watch gets a bounded queue (`WATCH_QUEUE_LIMIT` events). A watcher that falls that
far behind is ended, as the Kubernetes API server ends a watcher that does not keep up
(its cacher closes "unresponsive" watchers): the events still queued are dropped, the
stream ends, and the client re-watches from the last resourceVersion it saw (replayed
from the history) or, when that is older than the history, gets 410 and re-lists.
Memory therefore stays bounded however slow a client reads. Objects are stored as plain
JSON dicts. A stored dict is never mutated: every
write stores a new one. `get`/`list` return copies callers may mutate; `view`
and events hand out the stored dicts themselves, for readers only.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import secrets
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fabrictui.lab.kubeapi.errors import ApiError, already_exists, conflict, not_found

Obj = dict[str, Any]
log = logging.getLogger(__name__)

# Events one watch may hold unread before it is ended (see the module docstring). A burst
# such as scaling to 64 pods makes a few hundred events; a client this far behind is stuck.
WATCH_QUEUE_LIMIT = 1000

# the alphabet Kubernetes uses for generated name suffixes (no vowels, no 0/1/3)
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def random_suffix(n: int = 5) -> str:
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(n))


def clone(value: Any) -> Any:
    """Deep copy of JSON data (dicts, lists, scalars): several times faster than deepcopy."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Event:
    rv: int
    key: str  # resource type storage key
    type: str  # ADDED, MODIFIED, DELETED
    obj: Obj


@dataclass(eq=False)
class Watcher:
    """One watch's queue of events; `None` in the queue ends the stream."""

    key: str
    namespace: str | None
    limit: int = WATCH_QUEUE_LIMIT
    queue: asyncio.Queue[Event | None] = field(init=False)
    overflowed: bool = False  # ended because the reader fell `limit` events behind

    def __post_init__(self) -> None:
        # one slot beyond the limit is kept for the end marker, so ending never blocks
        self.queue = asyncio.Queue(maxsize=self.limit + 1)

    def offer(self, event: Event) -> bool:
        """Queue `event`; False (and the watch ended) when `limit` events are unread."""
        if self.overflowed:
            return False
        if self.queue.qsize() < self.limit:
            self.queue.put_nowait(event)
            return True
        self.overflowed = True
        while not self.queue.empty():  # what is queued is dropped: the client re-watches
            self.queue.get_nowait()
        self.queue.put_nowait(None)
        return False

    def end(self) -> None:
        if not self.overflowed:  # an overflowed watch already holds its end marker
            self.queue.put_nowait(None)

    def matches(self, event: Event) -> bool:
        if event.key != self.key:
            return False
        if self.namespace is None:
            return True
        return event.obj.get("metadata", {}).get("namespace") == self.namespace


class Store:
    def __init__(self, history: int = 10000, watch_queue: int = WATCH_QUEUE_LIMIT) -> None:
        self.watch_queue_limit = watch_queue  # for watches started from now on
        self.watches_overflowed = 0  # watches ended because their reader fell behind
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {}
        self._history: deque[Event] = deque(maxlen=history)
        self._rv = 0
        self._watchers: set[Watcher] = set()
        self._listeners: list[Callable[[Event], None]] = []

    # -- reading -------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    def get(self, key: str, namespace: str, name: str) -> Obj | None:
        obj = self._objects.get(key, {}).get((namespace, name))
        return clone(obj) if obj is not None else None

    def require(self, key: str, namespace: str, name: str) -> Obj:
        obj = self.get(key, namespace, name)
        if obj is None:
            resource, _, group = key.partition(".")
            raise not_found(resource, name, group)
        return obj

    def list(self, key: str, namespace: str | None = None) -> list[Obj]:
        return [clone(obj) for obj in self.view(key, namespace)]

    def view(self, key: str, namespace: str | None = None) -> list[Obj]:
        """The stored objects themselves, sorted by namespace and name: do not mutate."""
        return [
            obj
            for (ns, _), obj in sorted(self._objects.get(key, {}).items())
            if namespace is None or ns == namespace
        ]

    def kinds(self) -> list[str]:
        """Storage keys of every type that has (or had) objects."""
        return list(self._objects)

    def find_uid(self, uid: str) -> tuple[str, Obj] | None:
        for key, objs in self._objects.items():
            for obj in objs.values():
                if obj["metadata"].get("uid") == uid:
                    return key, clone(obj)
        return None

    # -- writing -------------------------------------------------------------

    def _bump(self) -> int:
        self._rv += 1
        return self._rv

    def create(self, key: str, obj: Obj) -> Obj:
        obj = clone(obj)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + random_suffix()
        name = meta.get("name")
        if not name:
            raise ApiError(422, "name or generateName is required", reason="Invalid")
        namespace = meta.get("namespace", "")
        bucket = self._objects.setdefault(key, {})
        if (namespace, name) in bucket:
            resource, _, group = key.partition(".")
            raise already_exists(resource, name, group)
        meta["uid"] = str(uuid.uuid4())
        meta.setdefault("creationTimestamp", now_rfc3339())
        if "spec" in obj:
            meta["generation"] = 1
        meta.pop("deletionTimestamp", None)
        meta["resourceVersion"] = str(self._bump())
        bucket[(namespace, name)] = obj
        self._publish(Event(self._rv, key, "ADDED", obj))
        return clone(obj)

    def update(self, key: str, obj: Obj, *, check_rv: bool = False) -> Obj:
        """Replace an object; returns it unchanged (same resourceVersion) when nothing differs."""
        obj = clone(obj)
        meta = obj.setdefault("metadata", {})
        namespace = meta.get("namespace", "")
        name = meta.get("name", "")
        bucket = self._objects.get(key, {})
        old = bucket.get((namespace, name))
        resource, _, group = key.partition(".")
        if old is None:
            raise not_found(resource, name, group)
        old_meta = old["metadata"]
        if check_rv and meta.get("resourceVersion") not in (None, "", old_meta["resourceVersion"]):
            raise conflict(resource, name, group)
        # fields the server owns
        meta["uid"] = old_meta["uid"]
        meta["creationTimestamp"] = old_meta["creationTimestamp"]
        if "generation" in old_meta:
            meta["generation"] = old_meta["generation"]
        if old_meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = old_meta["deletionTimestamp"]
        meta["resourceVersion"] = old_meta["resourceVersion"]
        if obj.get("spec") != old.get("spec") and "spec" in obj:
            meta["generation"] = int(old_meta.get("generation", 0)) + 1
        if obj == old:
            return clone(old)
        meta["resourceVersion"] = str(self._bump())
        bucket[(namespace, name)] = obj
        self._publish(Event(self._rv, key, "MODIFIED", obj))
        return clone(obj)

    def delete(self, key: str, namespace: str, name: str) -> Obj:
        bucket = self._objects.get(key, {})
        stored = bucket.pop((namespace, name), None)
        if stored is None:
            resource, _, group = key.partition(".")
            raise not_found(resource, name, group)
        obj = {**stored, "metadata": {**stored["metadata"], "resourceVersion": str(self._bump())}}
        self._publish(Event(self._rv, key, "DELETED", obj))
        return clone(obj)

    def drop_type(self, key: str) -> None:
        """Delete every object of a type (its CRD went away)."""
        for namespace, name in list(self._objects.get(key, {})):
            self.delete(key, namespace, name)
        self._objects.pop(key, None)

    # -- watching ------------------------------------------------------------

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """In-process subscriber called synchronously for every event (controllers)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Event], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _publish(self, event: Event) -> None:
        self._history.append(event)
        for watcher in list(self._watchers):
            if watcher.matches(event) and not watcher.offer(event):
                self._watchers.discard(watcher)
                self.watches_overflowed += 1
                log.warning(
                    "watch on %s ended: %d events unread (client re-watches)",
                    watcher.key,
                    watcher.limit,
                )
        for listener in self._listeners:
            listener(event)

    def watch(
        self, key: str, namespace: str | None, since: int | None
    ) -> tuple[Watcher, list[Event]]:
        """Start watching; returns the watcher and the events to replay first.

        `since=None` replays the current objects as ADDED events (a watch
        without resourceVersion); otherwise every later change is replayed,
        or 410 Expired is raised when the history no longer reaches back.
        """
        watcher = Watcher(key, namespace, self.watch_queue_limit)
        replay: list[Event] = []
        if since is None:
            for obj in self.view(key, namespace):
                replay.append(Event(int(obj["metadata"]["resourceVersion"]), key, "ADDED", obj))
        else:
            oldest = self._history[0].rv if self._history else self._rv + 1
            if since < oldest - 1 and since < self._rv:
                raise ApiError(
                    410,
                    f"too old resource version: {since} ({oldest - 1})",
                    reason="Expired",
                )
            replay = [e for e in self._history if e.rv > since and watcher.matches(e)]
        self._watchers.add(watcher)
        return watcher, replay

    @property
    def watch_count(self) -> int:
        return len(self._watchers)

    def stop_watch(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def close_watches(self) -> None:
        for watcher in list(self._watchers):
            watcher.end()
        self._watchers.clear()
