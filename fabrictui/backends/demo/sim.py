"""Simulated time and a discrete-event queue.

Simulated time follows the injected clock, sped up: `now = anchor + (clock() -
anchor) * speed`, where `anchor` is the clock's reading at construction. So at
speed 1 simulated time is the wall clock, and tests run minutes of lab life in
milliseconds with a high speed.

Everything that happens "later" (a pod turning Running, a BGP hold timer
expiring) is an event at an exact simulated time. Events run in time order
whenever someone looks (`advance`), always at their own timestamps, so the
outcome does not depend on when or how often the lab is looked at: the same
calls at the same clock readings give the same results.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable

Action = Callable[[float], None]


class Simulation:
    def __init__(self, clock: Callable[[], float] | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._clock = clock or time.time
        self.speed = float(speed)
        self.anchor = float(self._clock())
        self._cursor = self.anchor  # time of the event being run / last advanced to
        self._queue: list[tuple[float, int, Action]] = []
        self._seq = itertools.count()
        self._cancelled: set[int] = set()
        self.on_schedule: Callable[[], None] | None = None

    # -- time -----------------------------------------------------------------

    def clock_now(self) -> float:
        return self.anchor + (float(self._clock()) - self.anchor) * self.speed

    def now(self) -> float:
        """Current simulated time (never goes backwards)."""
        return max(self._cursor, self.clock_now())

    def set_cursor(self, t: float) -> None:
        """Used to replay history (the `ready` scenario) at past timestamps."""
        self._cursor = t

    @property
    def cursor(self) -> float:
        return self._cursor

    def real_delay(self, sim_seconds: float) -> float:
        return max(0.0, sim_seconds) / self.speed

    # -- events ---------------------------------------------------------------

    def at(self, t: float, action: Action) -> int:
        seq = next(self._seq)
        heapq.heappush(self._queue, (t, seq, action))
        if self.on_schedule is not None:
            self.on_schedule()
        return seq

    def after(self, delay: float, action: Action) -> int:
        return self.at(self._cursor + delay, action)

    def cancel(self, handle: int) -> None:
        self._cancelled.add(handle)

    def next_time(self) -> float | None:
        while self._queue and self._queue[0][1] in self._cancelled:
            self._cancelled.discard(heapq.heappop(self._queue)[1])
        return self._queue[0][0] if self._queue else None

    def advance(self, until: float | None = None) -> int:
        """Run every event due at or before `until` (default: now). Returns how many ran."""
        limit = self.now() if until is None else until
        ran = 0
        while True:
            nxt = self.next_time()
            if nxt is None or nxt > limit:
                break
            t, _seq, action = heapq.heappop(self._queue)
            self._cursor = max(self._cursor, t)
            action(t)
            ran += 1
        self._cursor = max(self._cursor, limit)
        return ran
