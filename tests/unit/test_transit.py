"""Both sightings of a frame matched: one-way time across the fabric and loss per node
pair (fabrictui.capture.transit), alone and inside the capture worker."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabrictui.capture.synth import build_vxlan_icmp_frame, pcap_global_header, pcap_record
from fabrictui.capture.transit import TransitTracker, sightings
from fabrictui.model import VxlanFrame
from fabrictui.session.capture_worker.process import Stream, Worker
from fabrictui.session.capture_worker.protocol import (
    END,
    END_CLEAN,
    PODS,
    START,
    SUMMARY,
    message,
    start_payload,
)
from tests.cli.test_capture_worker import read_reply

A, B, C = "10.0.101.101", "10.0.102.101", "10.0.101.102"
POD_A, POD_B = "10.68.86.129", "10.65.76.193"


def vx(t: float, seq: int, src: str = A, dst: str = B, ip_id: int = 0) -> VxlanFrame:
    pods = (POD_A, POD_B) if src == A else (POD_B, POD_A)
    return VxlanFrame(
        t, "", "", src, dst, 41553, 4789, 4096, 8, "", "", pods[0], pods[1], "ICMP", 8, 592,
        seq, 148, 98, True, "", "", None, None, ip_id,
    )  # fmt: skip


def flow(frame: VxlanFrame) -> tuple[str, str, str, str]:
    return (frame.outer_src, frame.outer_dst, frame.inner_src, frame.inner_dst)


def feed(tracker: TransitTracker, sent: list[VxlanFrame], got: list[VxlanFrame]) -> None:
    tracker.sent(sent, [flow(f) for f in sent])
    tracker.received(got, [flow(f) for f in got])


def test_one_way_time_is_the_receivers_stamp_minus_the_senders() -> None:
    tracker = TransitTracker()
    sent = [vx(10.0 + i, i) for i in range(5)]
    feed(tracker, sent, [f._replace(time=f.time + 0.0007) for f in sent])
    (pair,) = tracker.snapshot().pairs
    assert (pair.src, pair.dst, pair.arrived, pair.lost) == (A, B, 5, 0)
    assert pair.one_way_ms == pytest.approx(0.7)
    assert pair.corrected_ms is None  # one direction only: the clock offset is in it
    assert pair.flows[0].inner_src == POD_A and pair.flows[0].one_way_ms == pytest.approx(0.7)


def test_both_directions_cancel_the_clock_offset() -> None:
    """B's clock runs 0.3 ms ahead of A's; the fabric takes 0.5 ms each way."""
    tracker = TransitTracker()
    there = [vx(1.0 + i, i) for i in range(9)]
    back = [vx(1.5 + i, i, B, A) for i in range(9)]
    feed(tracker, there, [f._replace(time=f.time + 0.0005 + 0.0003) for f in there])
    feed(tracker, back, [f._replace(time=f.time + 0.0005 - 0.0003) for f in back])
    ab, ba = tracker.snapshot().pairs
    assert ab.one_way_ms == pytest.approx(0.8) and ba.one_way_ms == pytest.approx(0.2)
    assert ab.corrected_ms == pytest.approx(0.5) and ab.best_ms == pytest.approx(0.5)
    assert ab.offset_ms == pytest.approx(0.3) and ba.offset_ms == pytest.approx(-0.3)


def test_a_frame_never_seen_arriving_is_lost_once_it_waited_long_enough() -> None:
    tracker = TransitTracker(lost_after=2.0)
    sent = [vx(1.0 + i, i) for i in range(6)]
    tracker.expire(0.0)
    feed(tracker, sent, [f._replace(time=f.time + 0.001) for f in sent[:4]])
    tracker.expire(1.0)
    assert tracker.snapshot().lost == 0 and tracker.snapshot().waiting == 2
    tracker.expire(2.0)
    assert tracker.snapshot().lost == 0  # waits at least lost_after
    tracker.expire(3.0)
    snap = tracker.snapshot()
    assert (snap.lost, snap.arrived, snap.waiting) == (2, 4, 0)
    assert snap.pairs[0].flows[0].lost == 2


def test_an_arrival_whose_departure_was_never_seen_is_unmatched_not_lost() -> None:
    tracker = TransitTracker(lost_after=1.0)
    tracker.expire(0.0)
    feed(tracker, [], [vx(1.0, 1)])
    for now in (0.5, 1.0, 1.5):
        tracker.expire(now)
    (pair,) = tracker.snapshot().pairs
    assert (pair.lost, pair.unmatched, pair.arrived) == (0, 1, 0)


def test_waiting_is_bounded_and_says_what_it_did_not_track(monkeypatch) -> None:
    from fabrictui.capture import transit
    from fabrictui.render.common import Palette
    from fabrictui.render.transit import transit_lines

    monkeypatch.setattr(transit, "MAX_WAITING", 30)  # 10 per generation
    tracker = TransitTracker()
    frames = [vx(1.0, i, ip_id=i) for i in range(25)]
    tracker.sent(frames[:10], [flow(f) for f in frames[:10]])
    tracker.sent(frames[10:], [flow(f) for f in frames[10:]])  # the generation is full
    snap = tracker.snapshot()
    assert (snap.waiting, snap.untracked) == (10, 15)
    text = "\n".join(line.plain for line in transit_lines(snap, {}, Palette()))
    assert "15 sightings not matched: too many were waiting" in text


def test_flows_beyond_the_cap_count_under_their_pair() -> None:
    tracker = TransitTracker(max_flows=2)
    frames = [vx(1.0, i)._replace(inner_src=f"10.64.0.{i}") for i in range(5)]
    feed(tracker, frames, frames)
    (pair,) = tracker.snapshot().pairs
    assert pair.arrived == 5
    assert sum(f.arrived for f in pair.flows) == 5 and len(pair.flows) == 3  # 2 + catch-all


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.booleans(), min_size=1, max_size=40),  # which frames arrive
    st.floats(min_value=-1.0, max_value=1.0),  # receiver's clock offset
    st.integers(min_value=0, max_value=2**32 - 1),  # order, batching, expiry points
    st.lists(st.integers(min_value=0, max_value=79), max_size=3),  # sightings delivered twice
)
def test_matching_survives_any_order_batching_offset_and_duplicates(
    arrives: list[bool], offset: float, seed: int, twice: list[int]
) -> None:
    """However the two nodes' captures interleave and batch, whatever the clock offset,
    with generations turning over meanwhile and some sightings delivered twice: every
    frame that arrived is matched once, with its own one-way time, and every frame that
    did not is lost once."""
    rng = random.Random(seed)
    frames = [vx(100.0 + i * 0.01, i, ip_id=i) for i in range(len(arrives))]
    transit = 0.0004
    events = [("sent", f) for f in frames]
    for f, arrived in zip(frames, arrives, strict=True):
        if arrived:
            events.append(("got", f._replace(time=f.time + transit + offset)))
    events += [events[i % len(events)] for i in twice]
    rng.shuffle(events)
    tracker = TransitTracker(lost_after=1.0)
    tracker.expire(0.0)
    clock, i = 0.0, 0
    while i < len(events):  # runs of one kind, cut into batches of random sizes
        kind, j = events[i][0], i
        size = rng.randint(1, 5)
        while j < len(events) and j - i < size and events[j][0] == kind:
            j += 1
        batch, i = [f for _k, f in events[i:j]], j
        (tracker.sent if kind == "sent" else tracker.received)(batch, [flow(f) for f in batch])
        clock = min(0.9, clock + rng.random() * 0.1)  # generations turn, nothing waits 1 s
        tracker.expire(clock)
    for now in (10.0, 20.0, 30.0):
        tracker.expire(now)
    (pair,) = tracker.snapshot().pairs
    assert pair.arrived == sum(arrives)
    assert pair.lost == len(arrives) - sum(arrives)
    if pair.arrived:
        assert pair.one_way_ms == pytest.approx((transit + offset) * 1000, abs=1e-6)


def test_sightings_count_a_frame_where_it_was_sent_and_match_the_other() -> None:
    there, back = vx(1.0, 1), vx(1.1, 1, B, A)
    stranger = vx(1.2, 2, C, B)  # from a node no capture runs on
    kept, sent, received = sightings([there, back, stranger], A, frozenset({A, B}), {})
    assert kept == [0, 2] and list(sent[0]) == [there] and list(received[0]) == [back]
    # the common batch: everything sent from here, to captured nodes
    kept, sent, received = sightings([there, there], A, frozenset({A, B}), {})
    assert kept is None and len(sent[0]) == 2 and not received[0]


def test_native_frames_find_their_nodes_through_the_pods() -> None:
    native = vx(1.0, 1)._replace(is_vxlan=False, vni=None, outer_src=POD_A, outer_dst=POD_B)
    pods = {POD_A: A, POD_B: B}
    kept, sent, received = sightings([native], A, frozenset({A, B}), pods)
    assert kept is None and list(sent[1]) == [(A, B, POD_A, POD_B)]
    kept, sent, received = sightings([native], B, frozenset({A, B}), pods)
    assert kept == [] and list(received[1]) == [(A, B, POD_A, POD_B)]
    # pods not known yet: counted where seen, nothing matched
    kept, sent, received = sightings([native], B, frozenset({A, B}), {})
    assert kept is None and not sent[0] and not received[0]


def wire(t: float, seq: int, src: str, dst: str) -> bytes:
    pods = (POD_A, POD_B) if src == A else (POD_B, POD_A)
    frame = build_vxlan_icmp_frame(
        outer_src_mac="08:00:27:53:73:c7", outer_dst_mac="08:00:27:91:d4:66",
        outer_src=src, outer_dst=dst, udp_src=41553, vni=4096,
        inner_src_mac="66:92:0a:fb:a9:be", inner_dst_mac="66:81:2e:61:22:8a",
        inner_src=pods[0], inner_dst=pods[1], icmp_type=8 if src == A else 0,
        icmp_id=592, icmp_seq=seq, ip_id=seq,
    )  # fmt: skip
    return pcap_record(t, frame)


def test_the_worker_reports_one_way_time_and_loss_per_node_pair() -> None:
    """Node a's capture and node b's each see requests and replies; two requests
    never reach b. The worker counts every frame once and matches the rest."""
    read, write = os.pipe()
    try:
        worker = Worker(buffer_frames=100, display_batch=10, out=write)
        worker.transit.lost_after = 0.0  # give up after three more summaries
        worker.streams[1] = Stream("node-a", A)
        worker.streams[2] = Stream("node-b", B)
        on_a = [wire(1.0 + i, i, A, B) for i in range(10)]
        on_a += [wire(1.5 + i + 0.0011, i, B, A) for i in range(8)]
        on_b = [wire(1.0 + i + 0.0009, i, A, B) for i in range(8)]  # 8 and 9 lost
        on_b += [wire(1.5 + i, i, B, A) for i in range(8)]
        for stream, records in ((2, on_b), (1, on_a)):  # the receiver's first, for once
            worker.decode(stream, pcap_global_header())
            worker.decode(stream, b"".join(records))
        for _ in range(4):
            worker.receive(message(SUMMARY))
            _kind, summary, _broken, _noted = read_reply(read)
    finally:
        os.close(read)
        os.close(write)
    assert summary.counters.total == 18
    ab, ba = summary.transit.pairs
    assert (ab.src, ab.dst, ab.arrived, ab.lost) == (A, B, 8, 2)
    assert (ba.arrived, ba.lost) == (8, 0)
    assert ab.one_way_ms == pytest.approx(0.9, abs=0.01)
    assert ab.corrected_ms == pytest.approx(1.0, abs=0.01)  # (0.9 + 1.1) / 2


def test_the_worker_takes_the_pods_nodes_in_order_with_the_frames() -> None:
    worker = Worker(buffer_frames=10, display_batch=10, out=1)
    worker.receive(message(PODS, 0, b'{"10.68.86.129": "10.0.101.101"}'))
    worker.process(*worker.queue.popleft())
    assert worker.pod_nodes == {POD_A: A}


def test_the_table_and_the_summary_name_nodes_pods_and_losses() -> None:
    from fabrictui.render.common import Palette
    from fabrictui.render.transit import NO_PAIRS, transit_lines, transit_summary

    names = {A: "k8s-node-l1-1", B: "k8s-node-l2-1", POD_A: "nginx-deployment-55457b9d87-z9pl9",
             POD_B: "nginx-deployment-55457b9d87-nnzz5"}  # fmt: skip
    empty = TransitTracker().snapshot()
    assert NO_PAIRS in transit_lines(empty, names, Palette())[1].plain
    assert transit_summary(empty, names) == ""
    tracker = TransitTracker(lost_after=1.0)
    tracker.expire(0.0)
    there = [vx(1.0 + i, i, ip_id=i) for i in range(4)]
    back = [vx(1.5 + i, i, B, A, ip_id=i) for i in range(3)]
    feed(tracker, there, [f._replace(time=f.time + 0.0009) for f in there[:3]])  # one lost
    feed(tracker, back, [f._replace(time=f.time + 0.0003) for f in back])
    for now in (1.0, 2.0, 3.0):
        tracker.expire(now)
    snap = tracker.snapshot()
    lines = [line.plain for line in transit_lines(snap, names, Palette())]
    ab = next(line for line in lines if line.startswith("k8s-node-l1-1 → k8s-node-l2-1"))
    assert "0.600 ms ⇄" in ab and ab.split()[-5:] == ["3", "1", "clock", "+0.30", "ms"]
    assert any(line.startswith("  nginx-…-z9pl9 → nginx-…-nnzz5") for line in lines)
    assert transit_summary(snap, names) == "one-way 0.600 ms, LOST 1: k8s-node-l1-1→k8s-node-l2-1"


def test_a_stream_decodes_the_labs_own_vxlan_port() -> None:
    """A lab on Linux's old port 8472: its frames are VXLAN to the worker, not UDP."""
    worker = Worker(buffer_frames=10, display_batch=10, out=1)
    worker.process(START, 1, start_payload("node-a", A, 8472))
    frame = build_vxlan_icmp_frame(
        outer_src_mac="08:00:27:53:73:c7", outer_dst_mac="08:00:27:91:d4:66",
        outer_src=A, outer_dst=B, udp_src=41553, udp_dst=8472, vni=4096,
        inner_src_mac="66:92:0a:fb:a9:be", inner_dst_mac="66:81:2e:61:22:8a",
        inner_src=POD_A, inner_dst=POD_B, icmp_type=8, icmp_id=592, icmp_seq=1,
    )  # fmt: skip
    worker.decode(1, pcap_global_header() + pcap_record(1.0, frame))
    assert worker.overlay.snapshot(1.0).vxlan == 1


def test_a_capture_that_ends_leaves_its_waiting_sightings_unmatched_not_lost() -> None:
    """Node b's capture ends: what node a sent to it can no longer be seen arriving."""
    worker = Worker(buffer_frames=10, display_batch=10, out=1)
    worker.transit.lost_after = 0.0
    for stream, (node, address) in enumerate((("node-a", A), ("node-b", B)), start=1):
        worker.process(START, stream, start_payload(node, address))
    worker.decode(1, pcap_global_header() + b"".join(wire(1.0 + i, i, A, B) for i in range(4)))
    worker.process(END, 2, END_CLEAN)
    for now in range(5):
        worker.transit.expire(float(now))
    snap = worker.transit.snapshot()
    assert (snap.lost, snap.untracked, snap.waiting) == (0, 4, 0)


def test_frames_larger_than_the_wire_are_not_matched() -> None:
    """A sender's tcpdump sees a TCP segment before GSO cuts it: never seen arriving as such."""
    tracker = TransitTracker(lost_after=1.0)
    tracker.expire(0.0)
    big = vx(1.0, 1)._replace(length=9000)
    feed(tracker, [big, vx(1.1, 2)], [])
    for now in (1.0, 2.0, 3.0):
        tracker.expire(now)
    snap = tracker.snapshot()
    assert (snap.lost, snap.oversize) == (1, 1)


def test_idle_flows_make_room_for_new_ones() -> None:
    """Pods come and go: once flows run short, the silent ones are forgotten (their counts
    stay in their node pair) and new pods' flows are told apart again."""
    from fabrictui.capture.transit import IDLE_ROTATIONS

    tracker = TransitTracker(lost_after=1.0, max_flows=4)
    tracker.expire(0.0)
    old = [vx(1.0, i)._replace(inner_src=f"10.64.0.{i}", ip_id=i) for i in range(4)]
    feed(tracker, old, old)
    for rotation in range(1, IDLE_ROTATIONS + 2):
        tracker.expire(rotation * 0.5)
    new = vx(2.0, 9)._replace(inner_src="10.64.9.9")
    feed(tracker, [new], [new])
    (pair,) = tracker.snapshot().pairs
    assert pair.arrived == 5
    assert [f.inner_src for f in pair.flows] == ["10.64.9.9"]
