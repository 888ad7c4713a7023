from fabrictui.capture.counters import FlowSnapshot
from fabrictui.capture.pcap import RawRecord
from fabrictui.model import VxlanFrame
from fabrictui.session.overlay import DisplayBatch, OverlayState, OverlaySummary, OverlayView


def frame(i: int) -> VxlanFrame:
    return VxlanFrame(
        float(i), "a", "b", "10.0.102.101", "10.0.101.102", 41553, 4789, 4096, 8,
        "c", "d", "10.68.86.129", "10.65.76.193", "ICMP", 8, 592, i, 148, 98,
    )  # fmt: skip


def test_counts_every_frame_but_draws_at_most_a_batch():
    state = OverlayState(buffer_frames=100, display_batch=10)
    state.add([frame(i) for i in range(1000)])
    batch = state.take_for_display()
    assert state.counters.total == 1000
    assert [f.icmp_seq for f in batch.frames] == list(range(990, 1000))  # newest
    assert batch.skipped == 990 and state.skipped_total == 990
    assert len(state.buffer) == 100 and state.buffer.dropped == 900
    assert state.take_for_display().frames == []


def test_pause_keeps_counting_and_buffering_but_draws_nothing():
    state = OverlayState(buffer_frames=50, display_batch=10)
    assert state.toggle_pause() is True
    raw = [RawRecord(i, 0, 148, b"x") for i in range(5)]
    state.add([frame(i) for i in range(5)], raw, linktype=1)
    assert state.take_for_display().frames == []
    assert state.counters.total == 5 and len(state.raw) == 5 and state.skipped_total == 5
    state.toggle_pause()
    state.add([frame(9)])
    assert [f.icmp_seq for f in state.take_for_display().frames] == [9]


def summary(first: int, count: int, skipped: int = 0, total: int = 0) -> OverlaySummary:
    frames = [frame(i) for i in range(first, first + count)]
    counters = FlowSnapshot(total, total, 0, 0, 0.0)
    return OverlaySummary(counters, DisplayBatch(frames, skipped), buffered=total, backlog_bytes=0)


def test_view_draws_what_the_worker_handed_over_and_says_what_it_did_not():
    view = OverlayView(buffer_frames=50, display_batch=10)
    assert view.apply(summary(0, 10, skipped=990, total=1000)) is True
    assert view.apply(summary(10, 4, skipped=6, total=1020), waited=0.3) is True
    batch = view.take_for_display()
    # two summaries before one draw: still at most a screenful, the rest said
    assert [f.icmp_seq for f in batch.frames] == list(range(4, 14))
    assert batch.skipped == 990 + 6 + 4 and view.skipped_total == 1000
    assert view.counters.total == 1020 and view.buffered == 1020
    assert view.slowed and view.waited_total == 0.3
    assert view.apply(summary(14, 0, total=1020)) is False  # nothing new counted
    assert not view.slowed
    assert view.take_for_display() == DisplayBatch([], 0)


def test_view_pause_draws_nothing_and_counts_it_as_not_drawn():
    view = OverlayView(buffer_frames=50, display_batch=10)
    assert view.toggle_pause() is True
    view.apply(summary(0, 5, skipped=3, total=8))
    assert view.take_for_display().frames == [] and view.skipped_total == 8
    assert len(view.buffer) == 5  # what was handed over is still there to look at
    view.toggle_pause()
    view.apply(summary(5, 1, total=9))
    assert [f.icmp_seq for f in view.take_for_display().frames] == [5]
