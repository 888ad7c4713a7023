"""FlowCounters and FrameRing."""

from __future__ import annotations

import pytest

from fabrictui.capture.counters import FlowCounters, FrameRing
from fabrictui.model import VxlanFrame


def frame(
    t: float, src: str = "10.0.102.101", dst: str = "10.0.101.102", **kw: object
) -> VxlanFrame:
    fields: dict[str, object] = {
        "time": t,
        "outer_src_mac": "",
        "outer_dst_mac": "",
        "outer_src": src,
        "outer_dst": dst,
        "udp_src": 40000,
        "udp_dst": 4789,
        "vni": 4096,
        "flags": 8,
        "inner_src_mac": "",
        "inner_dst_mac": "",
        "inner_src": "10.68.86.129",
        "inner_dst": "10.65.76.193",
        "proto": "ICMP",
        "icmp_type": 8,
        "icmp_id": 1,
        "icmp_seq": 1,
        "length": 148,
        "inner_length": 98,
    }
    fields.update(kw)
    return VxlanFrame(**fields)  # type: ignore[arg-type]


def test_exact_totals_per_vni_pair_and_proto() -> None:
    c = FlowCounters()
    c.add_many([frame(1.0), frame(1.1, vni=7), frame(1.2, src="10.0.101.102", dst="10.0.102.101")])
    c.add(frame(1.3, is_vxlan=False, vni=None, proto="", length=60, note="ARP"))
    assert (c.total, c.vxlan, c.other, c.bytes) == (4, 3, 1, 148 * 3 + 60)
    assert c.per_vni == {4096: 2, 7: 1}
    assert c.per_pair == {("10.0.102.101", "10.0.101.102"): 2, ("10.0.101.102", "10.0.102.101"): 1}
    assert c.per_proto == {"ICMP": 3}
    snap = c.snapshot()
    assert snap.total == 4 and snap.per_vni == {4096: 2, 7: 1}
    c.add(frame(2.0))
    assert snap.total == 4 and snap.per_vni[4096] == 2  # the snapshot is a copy


def test_rate_from_frame_times_over_a_sliding_window() -> None:
    c = FlowCounters(window=5.0)
    # 100 frames/s for 20 s, fed in uneven batches
    frames = [frame(1000.0 + i / 100) for i in range(2000)]
    for start in range(0, 2000, 137):
        c.add_many(frames[start : start + 137])
    assert c.total == 2000
    assert c.rate() == pytest.approx(100.0, rel=0.03)
    # nothing for 10 s: the window empties
    assert c.rate(now=1030.0) == 0.0
    # then a burst of 50 frames/s
    c.add_many(frame(1030.0 + i / 50) for i in range(500))
    assert c.rate() == pytest.approx(50.0, rel=0.03)


def test_rate_during_the_first_window_uses_elapsed_time() -> None:
    c = FlowCounters(window=10.0)
    c.add_many(frame(50.0 + i / 20) for i in range(41))  # 20/s for 2 s
    assert c.rate() == pytest.approx(20.0, rel=0.05)


def test_rate_with_a_clock_stamps_batches() -> None:
    now = [100.0]
    c = FlowCounters(window=2.0, clock=lambda: now[0])
    for _ in range(40):
        c.add_many([frame(0.0)] * 10)  # frame times are ignored with a clock
        now[0] += 0.1
    assert c.rate() == pytest.approx(100.0, rel=0.06)
    now[0] += 5
    assert c.rate() == 0.0
    c.reset()
    assert c.total == 0 and c.rate() == 0.0


def test_out_of_order_frames_are_counted() -> None:
    c = FlowCounters(window=5.0)
    c.add_many([frame(10.0), frame(12.0), frame(11.0), frame(12.5)])
    assert c.rate(now=12.5) == pytest.approx(4 / 2.5)


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FlowCounters(window=0)
    with pytest.raises(ValueError):
        FrameRing(0)


def test_frame_ring_keeps_newest_and_counts_drops() -> None:
    ring: FrameRing[int] = FrameRing(5)
    ring.extend(range(3))
    assert ring.latest() == [0, 1, 2] and ring.dropped == 0
    ring.extend(i for i in range(3, 12))
    assert ring.latest() == [7, 8, 9, 10, 11]
    assert ring.latest(2) == [10, 11] and ring.latest(0) == []
    assert (ring.stored, ring.dropped, len(ring)) == (12, 7, 5)
    ring.append(12)
    ring.skip(30)
    assert list(ring) == [8, 9, 10, 11, 12]
    assert (ring.dropped, ring.skipped, ring.seen) == (8, 30, 43)
    ring.clear()
    assert len(ring) == 0 and ring.dropped == 13 and ring.seen == 43


def test_a_snapshot_carries_the_busiest_pairs_only() -> None:
    """Native pairs are pods: a summary ten times a second must not grow with the cluster."""
    from fabrictui.capture.counters import SNAPSHOT_PAIRS

    c = FlowCounters()
    frames = [frame(1.0 + i / 1000, src=f"10.0.0.{i % 200}") for i in range(1000)]
    c.add_many(frames)
    snap = c.snapshot(2.0)
    assert len(snap.per_pair) == SNAPSHOT_PAIRS and sum(snap.per_pair.values()) < snap.vxlan
    assert len(c.per_pair) == 200  # the counters themselves stay exact
