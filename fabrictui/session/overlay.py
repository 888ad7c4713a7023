"""The overlay pane's state, without the UI, in two halves on either side of
the capture worker's pipe (`fabrictui.session.capture_worker`):

- `OverlayState` lives in the worker process: exact counters, a bounded buffer
  of the newest frames and their raw records (for `w`), and the frames waiting
  to be drawn. Frames arrive in batches at whatever rate the wire gives;
  counting is exact; `take_for_display` hands out at most a screenful of the
  newest frames and says how many it skipped, so a flood never queues up
  behind the screen. The worker packs counters and that batch into one
  `OverlaySummary` per refresh.
- `OverlayView` lives in the app: it holds the last summary the worker sent
  (ten a second) and what the pane draws from it. It never sees a frame that
  is not about to be drawn, so its cost does not grow with the capture rate.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from fabrictui.capture.counters import FlowCounters, FlowSnapshot, FrameRing
from fabrictui.capture.pcap import RawRecord
from fabrictui.capture.transit import TransitSnapshot
from fabrictui.model import VxlanFrame

NO_TRANSIT = TransitSnapshot()


@dataclass(frozen=True, slots=True)
class DisplayBatch:
    frames: list[VxlanFrame]  # oldest first
    skipped: int  # frames that arrived since the last batch but are not drawn


@dataclass(frozen=True, slots=True)
class OverlaySummary:
    """What the capture worker hands the app at each refresh: a few kilobytes,
    whatever the capture rate."""

    counters: FlowSnapshot  # exact, everything decoded so far
    batch: DisplayBatch  # the newest frames since the last summary, to draw
    buffered: int  # raw frames held for `w`
    backlog_bytes: int  # received by the worker, not decoded yet (bounded)
    errors: tuple[str, ...] = ()  # capture streams found broken since the last summary
    transit: TransitSnapshot = NO_TRANSIT  # frames across the fabric, per node pair


EMPTY_COUNTERS = FlowSnapshot(0, 0, 0, 0, 0.0)


class OverlayState:
    def __init__(
        self,
        buffer_frames: int = 5000,
        display_batch: int = 200,
        clock: Callable[[], float] | None = None,
    ) -> None:
        # live frames carry the capturing node's clock; rate by our own clock when given
        self.counters = FlowCounters(window=5.0, clock=clock)
        self.buffer: FrameRing[VxlanFrame] = FrameRing(buffer_frames)
        self.raw: FrameRing[RawRecord] = FrameRing(buffer_frames)  # same frames, as captured
        self.linktype = 1
        self.display_batch = display_batch
        self._pending: deque[VxlanFrame] = deque(maxlen=display_batch)
        self._pending_total = 0
        self.paused = False
        self.skipped_total = 0  # frames never drawn (flood or pause), shown in the pane

    def add(
        self, frames: Iterable[VxlanFrame], raw: list[RawRecord] | None = None, linktype: int = 1
    ) -> None:
        batch = frames if isinstance(frames, list) else list(frames)
        self.counters.add_many(batch)
        self.buffer.extend(batch)
        if raw is not None and len(raw) == len(batch):
            self.raw.extend(raw)
            self.linktype = linktype
        if self.paused:
            self.skipped_total += len(batch)
            return
        self._pending.extend(batch)
        self._pending_total += len(batch)

    def take_for_display(self) -> DisplayBatch:
        # several nodes' captures arrive in their own batches: merge them by time
        frames = sorted(self._pending, key=_frame_time)
        skipped = self._pending_total - len(frames)
        self.skipped_total += skipped
        self._pending.clear()
        self._pending_total = 0
        return DisplayBatch(frames, skipped)

    def toggle_pause(self) -> bool:
        self.paused = not self.paused
        return self.paused

    def snapshot(self, now: float | None = None) -> FlowSnapshot:
        return self.counters.snapshot(now)


@dataclass
class OverlayView:
    """The app's side of the overlay: the worker's last summary, the frames
    still to draw, pause (a drawing matter: the worker counts regardless) and
    what the pane says about frames not drawn and a decoder that is behind."""

    buffer_frames: int = 5000
    display_batch: int = 200
    counters: FlowSnapshot = EMPTY_COUNTERS
    paused: bool = False
    skipped_total: int = 0  # frames counted but never drawn (flood, pause)
    buffered: int = 0  # frames the worker holds for `w`
    backlog_bytes: int = 0  # bytes the worker has received and not decoded yet
    waited_total: float = 0.0  # seconds captures waited for the worker (reading slowed)
    slowed: bool = False  # they waited since the last summary: the decoder is at capacity
    transit: TransitSnapshot = NO_TRANSIT  # one-way time and loss per node pair
    # the newest frames handed over, for a look at what was seen (not the raw buffer of `w`)
    buffer: deque[VxlanFrame] = field(init=False)
    _pending: deque[VxlanFrame] = field(init=False)
    _pending_skipped: int = 0

    def __post_init__(self) -> None:
        self.buffer = deque(maxlen=self.buffer_frames)
        self._pending = deque(maxlen=self.display_batch)

    def apply(self, summary: OverlaySummary, waited: float = 0.0) -> bool:
        """Take a summary in; True when it counted new frames."""
        news = summary.counters.total != self.counters.total
        self.counters = summary.counters
        self.transit = summary.transit
        self.buffered = summary.buffered
        self.backlog_bytes = summary.backlog_bytes
        self.slowed = waited > 0
        self.waited_total += waited
        frames = summary.batch.frames
        self.buffer.extend(frames)
        if self.paused:
            self.skipped_total += summary.batch.skipped + len(frames)
        else:
            dropped = max(0, len(self._pending) + len(frames) - self.display_batch)
            self._pending.extend(frames)
            self._pending_skipped += summary.batch.skipped + dropped
        return news

    def take_for_display(self) -> DisplayBatch:
        batch = DisplayBatch(list(self._pending), self._pending_skipped)
        self.skipped_total += self._pending_skipped
        self._pending.clear()
        self._pending_skipped = 0
        return batch

    def toggle_pause(self) -> bool:
        self.paused = not self.paused
        return self.paused

    def snapshot(self, now: float | None = None) -> FlowSnapshot:
        """The counters as the worker last reported them (`now` is unused: the
        worker computes the rate by its own clock at each summary)."""
        return self.counters


def _frame_time(frame: VxlanFrame) -> float:
    return frame.time
