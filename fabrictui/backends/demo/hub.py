"""Fan-out of watch events: every watcher gets every event, in order."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from fabrictui.model import WatchEvent

WATCH_BUFFER = 10_000  # events held for a slow watcher before it must re-list


class Subscriber:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._events: deque[WatchEvent[Any]] = deque()
        self._wakeup = asyncio.Event()
        self.closed = False
        self.overflowed = False

    def put(self, event: WatchEvent[Any]) -> None:
        if self.closed:
            return
        if len(self._events) >= WATCH_BUFFER:
            # Like a watch that fell too far behind (410 Gone): re-list instead.
            self._events.clear()
            self.overflowed = True
        else:
            self._events.append(event)
        self._wakeup.set()

    async def get(self) -> WatchEvent[Any] | None:
        """The next event; None when closed; a RELIST marker (type RELIST, no items)
        after an overflow, for the caller to fill."""
        while True:
            if self.overflowed:
                self.overflowed = False
                return WatchEvent("RELIST")
            if self._events:
                return self._events.popleft()
            if self.closed:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()

    def close(self) -> None:
        self.closed = True
        self._wakeup.set()


class Hub:
    def __init__(self) -> None:
        self._subs: list[Subscriber] = []

    def subscribe(self, kind: str) -> Subscriber:
        sub = Subscriber(kind)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    def publish(self, kind: str, type_: str, obj: object) -> None:
        if not self._subs:
            return
        event: WatchEvent[Any] = WatchEvent(type_, obj)  # type: ignore[arg-type]
        for sub in self._subs:
            if sub.kind == kind:
                sub.put(event)

    def close(self) -> None:
        for sub in list(self._subs):
            sub.close()
        self._subs.clear()
