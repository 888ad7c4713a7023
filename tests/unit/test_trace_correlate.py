"""The trace's observation points and correlation: pure, property-tested.

Sightings arrive reordered, duplicated, with some missing, and with each host's clock off by
up to a second: the order along the path, the ECMP branch, where the probe was lost and the
corrected time offsets must not depend on any of that."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from fabrictui.actions.trace.correlate import correlate
from fabrictui.actions.trace.model import (
    REPLY,
    REQUEST,
    HopState,
    ObservationPoint,
    PointKind,
    Probe,
    Sighting,
)
from fabrictui.actions.trace.points import observation_points
from fabrictui.backends.trace_ports import calico_veth, conventional_ports
from fabrictui.intent.labshape import pattern_shape

SHAPE = pattern_shape()
PORTS = conventional_ports(SHAPE)
SRC_IP, DST_IP = "10.68.86.129", "10.65.76.193"
SRC_IF = calico_veth("space1", "nginx-a")
DST_IF = calico_veth("space1", "nginx-b")
CROSS = observation_points(SHAPE, PORTS, "k8s-node-l2-1", SRC_IF, "k8s-node-l1-2", DST_IF)
PROBE = Probe(SRC_IP, DST_IP)


def path_of(points: tuple[ObservationPoint, ...], branch: str) -> list[ObservationPoint]:
    return [p for p in points if p.branch in (None, branch)]


def test_cross_rack_points_follow_the_lab() -> None:
    request = [p for p in CROSS if p.direction == REQUEST]
    assert [(p.host, p.interface) for p in path_of(tuple(request), "spine-sw1")] == [
        ("k8s-node-l2-1", SRC_IF),
        ("k8s-node-l2-1", "vxlan.calico"),
        ("k8s-node-l2-1", "eth0"),
        ("leaf2", "swp1"),
        ("leaf2", "swp51"),
        ("spine-sw1", "swp2"),
        ("spine-sw1", "swp1"),
        ("leaf1", "swp51"),
        ("leaf1", "swp3"),  # master, k8s-node-l1-1, k8s-node-l1-2
        ("k8s-node-l1-2", "eth0"),
        ("k8s-node-l1-2", "vxlan.calico"),
        ("k8s-node-l1-2", DST_IF),
    ]
    # ECMP: every fabric step has one point per spine
    assert {p.branch for p in request if p.kind is PointKind.SPINE_PORT} == {
        "spine-sw1",
        "spine-sw2",
    }
    reply = [p for p in CROSS if p.direction == REPLY]
    assert reply[0].key == ("k8s-node-l1-2", DST_IF) and reply[-1].key == ("k8s-node-l2-1", SRC_IF)
    assert min(p.step for p in reply) > max(p.step for p in request)


def test_same_rack_and_same_node_points() -> None:
    same_rack = observation_points(SHAPE, PORTS, "k8s-node-l1-1", "caliA", "k8s-node-l1-2", "caliB")
    assert not any(p.branch for p in same_rack)
    assert [p.key for p in same_rack if p.direction == REQUEST][3:5] == [
        ("leaf1", "swp2"),
        ("leaf1", "swp3"),
    ]
    same_node = observation_points(SHAPE, PORTS, "k8s-node-l1-1", "caliA", "k8s-node-l1-1", "caliB")
    assert [p.key for p in same_node] == [
        ("k8s-node-l1-1", "caliA"),
        ("k8s-node-l1-1", "caliB"),
        ("k8s-node-l1-1", "caliB"),
        ("k8s-node-l1-1", "caliA"),
    ]


def sightings_for(
    path: list[ObservationPoint],
    seqs: range,
    offsets: dict[str, float],
    icmp_id: int = 4242,
    lost_from: int | None = None,
) -> list[Sighting]:
    """True times along the path, the reply mirroring the request (symmetric delays), each
    host's clock then off by its offset; nothing from index `lost_from` of the path on."""
    req = [p for p in path if p.direction == REQUEST]
    n = len(req)
    out = []
    for seq in seqs:
        t0 = 1000.0 + seq
        times = [t0 + 0.0001 * i + 0.00003 * i * i for i in range(n)]
        turn = times[-1] + 0.00005
        for i, p in enumerate(path):
            if lost_from is not None and i >= lost_from:
                break
            if p.direction == REQUEST:
                t, (src, dst), kind = times[i], (SRC_IP, DST_IP), 8
            else:
                mirror = 2 * n - 1 - i
                t, (src, dst), kind = turn + (times[-1] - times[mirror]), (DST_IP, SRC_IP), 0
            at = t + offsets.get(p.host, 0.0)
            out.append(Sighting(p.host, p.interface, at, src, dst, kind, icmp_id, seq))
    return out


HOSTS = sorted({p.host for p in CROSS})
offsets_st = st.fixed_dictionaries({h: st.floats(-1.0, 1.0) for h in HOSTS})


@settings(max_examples=150, deadline=None)
@given(
    offsets=offsets_st,
    branch=st.sampled_from(["spine-sw1", "spine-sw2"]),
    shuffle_seed=st.integers(0, 10**6),
    dupes=st.integers(0, 20),
    noise=st.integers(0, 10),
)
def test_delivered_probe_any_order_and_clocks(
    offsets: dict[str, float], branch: str, shuffle_seed: int, dupes: int, noise: int
) -> None:
    path = path_of(CROSS, branch)
    seen = sightings_for(path, range(1, 4), offsets)
    rng = random.Random(shuffle_seed)
    seen += [rng.choice(seen) for _ in range(dupes)]
    # another ping between the same pods (another id) and unrelated traffic
    seen += sightings_for(path, range(1, 2), offsets, icmp_id=7)[:noise]
    rng.shuffle(seen)
    c = correlate(CROSS, seen, PROBE)
    assert c.icmp_id == 4242
    assert c.delivered and c.replied and c.lost_at is None
    assert c.branch == branch and c.reply_branch == branch
    assert [h.point for h in c.hops] == sorted(CROSS, key=lambda p: p.step)
    taken = [h for h in c.hops if h.point.branch in (None, branch)]
    assert all(h.state is HopState.SEEN for h in taken)
    assert all(h.state is HopState.NOT_TAKEN for h in c.hops if h not in taken)
    times = [h.offset_ms for h in taken]
    assert all(t is not None for t in times)
    assert all(b >= a - 1e-6 for a, b in itertools.pairwise(times))  # type: ignore[operator]
    assert times[0] == 0.0
    # the reference echo is seq 1: the whole round trip is well under 10 ms once corrected
    assert times[-1] is not None and times[-1] < 10.0
    for host, off in c.clock_offsets.items():
        assert abs(off - (offsets[host] - offsets[path[0].host])) < 1e-6


@settings(max_examples=150, deadline=None)
@given(
    offsets=offsets_st,
    branch=st.sampled_from(["spine-sw1", "spine-sw2"]),
    data=st.data(),
)
def test_lost_at_is_the_first_point_after_the_last_sighting(
    offsets: dict[str, float], branch: str, data: st.DataObject
) -> None:
    path = path_of(CROSS, branch)
    cut = data.draw(st.integers(1, len(path) - 1))
    seen = sightings_for(path, range(1, 4), offsets, lost_from=cut)
    # some points before the cut missed their capture (not the last one before it)
    misses = data.draw(st.sets(st.integers(1, max(1, cut - 2)), max_size=3)) if cut > 2 else set()
    missed_keys = {(path[i].key, path[i].direction) for i in misses}
    seen = [s for s in seen if ((s.host, s.interface), s.direction) not in missed_keys]
    random.Random(cut).shuffle(seen)
    c = correlate(CROSS, seen, PROBE)
    lost = c.lost_at
    assert lost is not None
    expected = path[cut]
    if expected.branch is not None and not any(
        p.branch and p.direction == expected.direction for p in path[:cut]
    ):
        # nothing on a branch was seen yet this way (the reply hashes on its own): the loss
        # is at the step, both uplinks named
        assert lost.step == expected.step and lost.host == expected.host
        assert expected.interface in lost.interface.split("/")
    else:
        assert (lost.key, lost.direction) == (expected.key, expected.direction)
    by_point = {(h.point.key, h.point.direction): h for h in c.hops}
    for i in misses:
        assert by_point[(path[i].key, path[i].direction)].state is HopState.PASSED
    for p in path[cut + 1 :]:
        assert by_point[(p.key, p.direction)].state in (HopState.NOT_REACHED, HopState.NOT_TAKEN)
    assert c.delivered == (cut > max(i for i, p in enumerate(path) if p.direction == REQUEST))
    assert not c.replied


def test_unobserved_point_is_lost_at_only_when_nothing_was_seen_after_it() -> None:
    path = path_of(CROSS, "spine-sw2")
    seen = sightings_for(path, range(1, 2), {}, lost_from=8)
    seen = [s for s in seen if (s.host, s.interface) != path[6].key]  # no capture there
    c = correlate(CROSS, seen, PROBE, unobserved=[path[6].key])
    assert c.lost_at is not None and c.lost_at.key == path[8].key
    assert c.hops[[h.point for h in c.hops].index(path[6])].state is HopState.UNOBSERVED
    # the spine could not be captured on and nothing was seen after it: dark there
    seen = sightings_for(path, range(1, 2), {}, lost_from=5)
    c = correlate(CROSS, seen, PROBE, unobserved=[path[5].key])
    assert c.lost_at is not None and c.lost_at.key == path[5].key


def test_nothing_seen_loses_at_the_first_point() -> None:
    c = correlate(CROSS, [], PROBE)
    assert c.icmp_id is None and c.lost_at == CROSS[0] and not c.delivered


def test_later_echo_that_got_further_is_the_reference() -> None:
    path = path_of(CROSS, "spine-sw1")
    first = sightings_for(path, range(1, 2), {}, lost_from=3)
    second = sightings_for(path, range(2, 3), {})
    c = correlate(CROSS, first + second, PROBE)
    assert c.replied and c.lost_at is None
    assert all(h.sighting is None or h.sighting.icmp_seq == 2 for h in c.hops)
    assert c.hops[0].seqs == (1, 2)


def test_another_ping_between_the_same_pods_is_not_the_probe() -> None:
    path = path_of(CROSS, "spine-sw1")
    ours = sightings_for(path, range(1, 4), {}, icmp_id=592)
    theirs = sightings_for(path, range(5, 12), {}, icmp_id=7003, lost_from=4)
    c = correlate(CROSS, theirs + ours, Probe(SRC_IP, DST_IP, count=3))
    assert c.icmp_id == 592 and c.replied


def test_busybox_numbers_echoes_from_zero() -> None:
    path = path_of(CROSS, "spine-sw2")
    ours = sightings_for(path, range(0, 3), {}, icmp_id=11)
    theirs = sightings_for(path, range(40, 44), {}, icmp_id=9)
    c = correlate(CROSS, theirs + ours, Probe(SRC_IP, DST_IP, count=3))
    assert c.icmp_id == 11
