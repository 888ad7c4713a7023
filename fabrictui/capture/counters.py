"""Exact counts and a frame rate over a live stream, and a bounded frame buffer.

Both are pure and cheap per frame, so the capture layer can count every frame
exactly while the UI draws at its own pace from a bounded `FrameRing`.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from fabrictui.model import VxlanFrame

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FlowSnapshot:
    """Counters at one moment, safe to hand to another thread or a UI message."""

    total: int
    vxlan: int
    other: int
    bytes: int
    rate: float  # frames/s over the window
    per_vni: dict[int, int] = field(default_factory=dict)
    per_pair: dict[tuple[str, str], int] = field(default_factory=dict)
    per_proto: dict[str, int] = field(default_factory=dict)


class FlowCounters:
    """Exact totals plus frames/s over a sliding window.

    Time comes from the frames (`VxlanFrame.time`) unless a `clock` is given, in
    which case each `add_many()` batch is stamped with `clock()`: use frame time
    for files (deterministic), a clock for live streams whose frame times may
    come from another machine's clock.

    The rate is the number of frames in the last `window` seconds divided by the
    window, or by the time since the first frame while that is shorter.
    """

    def __init__(self, window: float = 5.0, clock: Callable[[], float] | None = None) -> None:
        if window <= 0:
            raise ValueError("window must be positive")
        self.window = window
        self.clock = clock
        self.total = 0
        self.vxlan = 0
        self.other = 0
        self.bytes = 0
        self.per_vni: Counter[int] = Counter()
        self.per_pair: Counter[tuple[str, str]] = Counter()
        self.per_proto: Counter[str] = Counter()
        self._resolution = window / 50
        self._buckets: dict[int, int] = {}  # time // resolution -> frames
        self._first: float | None = None
        self._last: float | None = None

    def add(self, frame: VxlanFrame) -> None:
        self.add_many((frame,))

    def add_many(self, frames: Iterable[VxlanFrame]) -> None:
        stamp = self.clock() if self.clock is not None else None
        per_vni = self.per_vni
        per_pair = self.per_pair
        per_proto = self.per_proto
        count = vxlan = nbytes = 0
        resolution = self._resolution
        run_start = run_end = 0.0
        run = 0  # frames in the current time bucket, counted in one call
        when = 0.0
        for frame in frames:
            count += 1
            nbytes += frame.length
            if frame.is_vxlan:
                vxlan += 1
                per_vni[frame.vni] += 1  # type: ignore[index]
                per_pair[(frame.outer_src, frame.outer_dst)] += 1
                per_proto[frame.proto] += 1
            if stamp is None:
                when = frame.time
                if run and run_start <= when < run_end:
                    run += 1
                else:
                    if run:
                        self._count_at(run_start, run)
                    elif self._first is None:
                        self._first = when
                    run_start = (when // resolution) * resolution
                    run_end = run_start + resolution
                    run = 1
        if run:
            self._count_at(run_start, run, latest=when)
        if stamp is not None and count:
            self._count_at(stamp, count)
        self.total += count
        self.vxlan += vxlan
        self.other += count - vxlan
        self.bytes += nbytes

    def _count_at(self, when: float, count: int, latest: float | None = None) -> None:
        if self._first is None:
            self._first = when
        latest = when if latest is None else latest
        if self._last is None or latest > self._last:
            self._last = latest
        key = int(when // self._resolution)
        self._buckets[key] = self._buckets.get(key, 0) + count
        self._expire(self._last - self.window)

    def _expire(self, horizon: float) -> None:
        oldest = int(horizon // self._resolution)
        buckets = self._buckets
        for key in [k for k in buckets if k < oldest]:
            del buckets[key]

    def rate(self, now: float | None = None) -> float:
        """Frames/s over the window ending at `now` (default: clock() or last frame time)."""
        if now is None:
            now = self.clock() if self.clock is not None else self._last
        if now is None or self._first is None:
            return 0.0
        horizon = now - self.window
        self._expire(horizon)
        oldest = int(horizon // self._resolution)
        newest = int(now // self._resolution)
        count = sum(c for k, c in self._buckets.items() if oldest <= k <= newest)
        span = min(self.window, now - self._first)
        if span <= 0:
            return 0.0
        return count / span

    def snapshot(self, now: float | None = None) -> FlowSnapshot:
        return FlowSnapshot(
            total=self.total,
            vxlan=self.vxlan,
            other=self.other,
            bytes=self.bytes,
            rate=self.rate(now),
            per_vni=dict(self.per_vni),
            per_pair=dict(self.per_pair),
            per_proto=dict(self.per_proto),
        )

    def reset(self) -> None:
        self.__init__(self.window, self.clock)  # type: ignore[misc]


class FrameRing(Generic[T]):
    """The newest `capacity` items of a stream; counts what it let go.

    `dropped` counts items pushed out by newer ones; `skipped` counts items the
    producer chose not to store at all (`skip(n)`, e.g. while the view is
    paused or behind). `seen` = every item offered or skipped.
    """

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._items: deque[T] = deque(maxlen=capacity)
        self.stored = 0
        self.skipped = 0

    @property
    def dropped(self) -> int:
        return self.stored - len(self._items)

    @property
    def seen(self) -> int:
        return self.stored + self.skipped

    def append(self, item: T) -> None:
        self._items.append(item)
        self.stored += 1

    def extend(self, items: Iterable[T]) -> None:
        if not isinstance(items, list | tuple):
            items = list(items)
        self._items.extend(items)
        self.stored += len(items)

    def skip(self, count: int = 1) -> None:
        self.skipped += count

    def latest(self, n: int | None = None) -> list[T]:
        """The newest `n` items (all when None), oldest first."""
        if n is None or n >= len(self._items):
            return list(self._items)
        if n <= 0:
            return []
        return list(self._items)[-n:]

    def clear(self) -> None:
        """Empty the buffer; what it held now counts as dropped."""
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)
