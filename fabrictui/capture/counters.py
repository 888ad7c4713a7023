"""Exact counts and a frame rate over a live stream, and a bounded frame buffer.

Both are pure and cheap per frame, so the capture layer can count every frame
exactly while the UI draws at its own pace from a bounded `FrameRing`.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import repeat
from operator import floordiv, itemgetter
from typing import Any, Generic, NamedTuple, TypeVar

from fabrictui.model import VxlanFrame, is_native

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
    # plain IP pod traffic (Calico's BGP mode, `model.is_native`); `other` is neither
    native: int = 0


class _Flow(NamedTuple):
    """One flow key under its field names, so `is_native` reads it as it reads a frame."""

    is_vxlan: bool
    vni: int | None
    outer_src: str
    outer_dst: str
    proto: str


#: Pairs in a snapshot: the busiest. Native pairs are pods, so a cluster's churn would
#: otherwise grow every summary (ten a second) and every recorded counter event.
SNAPSHOT_PAIRS = 32


def busiest(counts: dict[Any, int], limit: int) -> dict[Any, int]:
    if len(counts) <= limit:
        return counts
    return dict(sorted(counts.items(), key=lambda item: -item[1])[:limit])


_F = VxlanFrame._fields
# one key per flow (the fields of `_Flow`); C-level getters keep counting at millions of
# frames a second
_FLOW_KEY = itemgetter(*(_F.index(n) for n in _Flow._fields))
_TIME = itemgetter(_F.index("time"))
_LENGTH = itemgetter(_F.index("length"))


class FlowCounters:
    """Exact totals plus frames/s over a sliding window.

    Time comes from the frames (`VxlanFrame.time`) unless a `clock` is given, in
    which case each `add_many()` batch is stamped with `clock()`: use frame time
    for files (deterministic), a clock for live streams whose frame times may
    come from another machine's clock.

    The rate is the number of frames in the last `window` seconds divided by the
    window, or by the time since the first frame while that is shorter.
    `vxlan` counts VXLAN frames, `native` plain IP pod traffic (`model.is_native`: BGP
    mode), `other` the rest. `per_vni` counts VXLAN frames; `per_pair` and `per_proto`
    count VXLAN and native frames, a VXLAN frame under its outer (node) pair, a native
    one under its own IP (pod) pair.
    """

    def __init__(self, window: float = 5.0, clock: Callable[[], float] | None = None) -> None:
        if window <= 0:
            raise ValueError("window must be positive")
        self.window = window
        self.clock = clock
        self.total = 0
        self.bytes = 0
        self._flows: Counter[tuple[object, ...]] = Counter()
        self._resolution = window / 50
        self._buckets: dict[int, int] = {}  # time // resolution -> frames
        self._first: float | None = None
        self._last: float | None = None

    @property
    def vxlan(self) -> int:
        return sum(n for key, n in self._flows.items() if key[0])

    @property
    def native(self) -> int:
        return sum(n for key, n in self._flows.items() if is_native(_Flow._make(key)))

    @property
    def other(self) -> int:
        return self.total - self.vxlan - self.native

    def _per(
        self, pick: Callable[[tuple[object, ...]], object], native: bool = True
    ) -> dict[Any, int]:
        """Counts by `pick(key)` over VXLAN flows, and native ones when `native`."""
        out: Counter[Any] = Counter()
        for key, n in self._flows.items():
            if key[0] or (native and is_native(_Flow._make(key))):
                out[pick(key)] += n
        return dict(out)

    @property
    def per_vni(self) -> dict[int, int]:
        return self._per(itemgetter(1), native=False)

    @property
    def per_pair(self) -> dict[tuple[str, str], int]:
        return self._per(itemgetter(2, 3))

    @property
    def per_proto(self) -> dict[str, int]:
        return self._per(itemgetter(4))

    def add(self, frame: VxlanFrame) -> None:
        self.add_many((frame,))

    def add_many(self, frames: Iterable[VxlanFrame]) -> None:
        if not isinstance(frames, list | tuple):
            frames = list(frames)
        if not frames:
            return
        self.total += len(frames)
        self._flows.update(map(_FLOW_KEY, frames))
        self.bytes += sum(map(_LENGTH, frames))
        if self.clock is not None:
            self._count_at(self.clock(), len(frames))
            return
        times = list(map(_TIME, frames))
        if self._first is None:
            self._first = min(times)
        buckets = Counter(map(floordiv, times, repeat(self._resolution)))
        latest = max(times)
        if self._last is None or latest > self._last:
            self._last = latest
        for key, count in buckets.items():
            self._buckets[int(key)] = self._buckets.get(int(key), 0) + count
        self._expire(self._last - self.window)

    def _count_at(self, when: float, count: int) -> None:
        if self._first is None:
            self._first = when
        if self._last is None or when > self._last:
            self._last = when
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
            per_vni=self.per_vni,
            per_pair=busiest(self.per_pair, SNAPSHOT_PAIRS),
            per_proto=self.per_proto,
            native=self.native,
        )

    def reset(self) -> None:
        """Forget everything counted (window and clock stay)."""
        self.total = 0
        self.bytes = 0
        self._flows.clear()
        self._buckets.clear()
        self._first = self._last = None


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
