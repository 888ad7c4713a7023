from fabrictui.capture.pcap import RawRecord
from fabrictui.model import VxlanFrame
from fabrictui.overlay import OverlayState


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
