"""The overlay pane's state, without the UI: exact counters, a bounded buffer
of the newest frames (for display and `w`), and the frames waiting to be drawn.

Frames arrive in batches at whatever rate the wire gives. Counting is exact;
drawing happens at the UI's pace from `take_for_display`, which hands out at
most a screenful of the newest frames and says how many it skipped, so a flood
never queues up behind the screen.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fabrictui.capture.counters import FlowCounters, FlowSnapshot, FrameRing
from fabrictui.capture.pcap import RawRecord
from fabrictui.model import VxlanFrame


@dataclass(frozen=True, slots=True)
class DisplayBatch:
    frames: list[VxlanFrame]  # oldest first
    skipped: int  # frames that arrived since the last batch but are not drawn


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


def _frame_time(frame: VxlanFrame) -> float:
    return frame.time
