"""Sightings + observation points -> hops: where the probe was seen, and where it was lost.

The order along the path comes from the points, never from timestamps: hosts' clocks may
disagree by a second, far more than a probe takes to cross the lab. Sightings may arrive in any
order, twice (`-i any`, a bridge and its port), or not at all (a capture that missed one);
only the reference echo counts (the one that got furthest, the lowest seq among equals).

Clock offsets: a host that saw both the request and the reply gives its offset from the
source node as NTP does, ((b1 - a1) + (b2 - a2)) / 2, with a1/a2 the source's request/reply
times and b1/b2 the host's: exact when the path is symmetric, which a reply crossing the same
hosts is, to within microseconds. Hops on hosts seen one way only show their raw offset and
say so (`clock_corrected` False).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from itertools import groupby

from fabrictui.actions.trace.model import (
    ECHO_REPLY,
    ECHO_REQUEST,
    REQUEST,
    Correlation,
    Hop,
    HopState,
    ObservationPoint,
    Probe,
    Sighting,
)

Lookup = Callable[[ObservationPoint], Sighting | None]


def probe_id(probe: Probe, sightings: Iterable[Sighting]) -> int | None:
    """The probe's ICMP id: as given, else the id seen on requests of the pair whose echo
    numbers are exactly the probe's (1..count, or 0..count-1 from busybox: other pings
    between the same pods rarely are), then the one seen most, then the lowest."""
    if probe.icmp_id is not None:
        return probe.icmp_id
    ids: Counter[int] = Counter()
    seqs: dict[int, set[int]] = {}
    for s in sightings:
        if s.icmp_type == ECHO_REQUEST and s.src == probe.src_ip and s.dst == probe.dst_ip:
            ids[s.icmp_id] += 1
            seqs.setdefault(s.icmp_id, set()).add(s.icmp_seq)
    if not ids:
        return None
    # iputils numbers echoes 1..N, busybox 0..N-1
    wanted = (set(range(1, probe.count + 1)), set(range(probe.count))) if probe.count else ()
    return min(ids, key=lambda i: (seqs[i] not in wanted, -ids[i], i))


def _belongs(s: Sighting, probe: Probe, icmp_id: int) -> bool:
    if s.icmp_id != icmp_id:
        return False
    if s.icmp_type == ECHO_REQUEST:
        return (s.src, s.dst) == (probe.src_ip, probe.dst_ip)
    if s.icmp_type == ECHO_REPLY:
        return (s.src, s.dst) == (probe.dst_ip, probe.src_ip)
    return False


def p_step(group: Sequence[ObservationPoint]) -> int:
    return group[0].step


def _merged(group: Sequence[ObservationPoint]) -> ObservationPoint:
    """One point standing for ECMP alternatives none of which saw the probe: the host they
    share (a leaf's uplinks) or the hosts, and their interfaces."""
    hosts = list(dict.fromkeys(p.host for p in group))
    first = group[0]
    if len(hosts) == 1:
        iface = "/".join(p.interface for p in group)
        return ObservationPoint(first.host, iface, first.kind, first.direction, first.step)
    return ObservationPoint(
        "/".join(hosts),
        "/".join(dict.fromkeys(p.interface for p in group)),
        first.kind,
        first.direction,
        first.step,
    )


def correlate(
    points: Sequence[ObservationPoint],
    sightings: Iterable[Sighting],
    probe: Probe,
    unobserved: Iterable[tuple[str, str]] = (),
) -> Correlation:
    """Hops in path order, the first point where the reference echo was expected and not
    seen (`lost_at`), and the ECMP branch each way. `unobserved`: (host, interface) of points
    whose capture could not run; they are never `lost_at`."""
    listed = list(sightings)
    icmp_id = probe_id(probe, listed)
    dark = set(unobserved)
    ordered = sorted(points, key=lambda p: p.step)
    step_of = {(p.key, p.direction): p.step for p in ordered}
    # (point key, direction) -> seq -> earliest sighting there
    seen: dict[tuple[tuple[str, str], str], dict[int, Sighting]] = {}
    if icmp_id is not None:
        for s in listed:
            if not _belongs(s, probe, icmp_id):
                continue
            slot = ((s.host, s.interface), s.direction)
            if slot not in step_of:
                continue
            per_seq = seen.setdefault(slot, {})
            old = per_seq.get(s.icmp_seq)
            if old is None or s.time < old.time:
                per_seq[s.icmp_seq] = s
    reach: dict[int, int] = {}  # seq -> furthest step it was seen at
    for slot, per_seq in seen.items():
        for seq in per_seq:
            reach[seq] = max(reach.get(seq, -1), step_of[slot])
    ref = min(reach, key=lambda q: (-reach[q], q)) if reach else None

    def sighting(p: ObservationPoint) -> Sighting | None:
        return None if ref is None else seen.get((p.key, p.direction), {}).get(ref)

    branches: dict[str, str | None] = {}
    for p in ordered:
        if p.branch and sighting(p) is not None:
            branches.setdefault(p.direction, p.branch)
    furthest = reach.get(ref, -1) if ref is not None else -1

    states: dict[tuple[tuple[str, str], str], HopState] = {}
    lost_at: ObservationPoint | None = None
    for _step, grouped in groupby(ordered, key=lambda p: p.step):
        group = list(grouped)
        branch = branches.get(group[0].direction)
        expected = [p for p in group if p.branch is None or branch is None or p.branch == branch]
        for p in group:
            if p not in expected:
                states[(p.key, p.direction)] = HopState.NOT_TAKEN
        hits = [p for p in expected if sighting(p) is not None]
        dark_here = hits == [] and p_step(group) >= furthest and lost_at is None
        for p in expected:
            slot = (p.key, p.direction)
            if p in hits:
                states[slot] = HopState.SEEN
            elif hits:
                states[slot] = HopState.NOT_TAKEN  # an alternative of the one that saw it
            elif p.key in dark:
                states[slot] = HopState.UNOBSERVED  # may still be where it went dark
            elif p.step < furthest:
                states[slot] = HopState.PASSED
            elif lost_at is not None:
                states[slot] = HopState.NOT_REACHED
            else:
                states[slot] = HopState.MISSING
        if dark_here and expected:
            # nothing seen here or further on: the probe went dark here (a point whose
            # capture could not run included: its host not answering is often the cause)
            lost_at = expected[0] if len(expected) == 1 else _merged(expected)

    offsets = _clock_offsets(ordered, sighting)
    hops = _hops(ordered, states, sighting, seen, offsets)
    request_steps = [p.step for p in ordered if p.direction == REQUEST]
    last_request = max(request_steps) if request_steps else -1
    last_step = ordered[-1].step if ordered else -1
    delivered = furthest >= last_request >= 0
    has_reply = last_step > last_request
    replied = has_reply and furthest >= last_step
    return Correlation(
        hops=hops,
        icmp_id=icmp_id,
        lost_at=lost_at,
        delivered=delivered,
        replied=replied,
        branch=branches.get(REQUEST),
        reply_branch=next((b for d, b in branches.items() if d != REQUEST), None),
        clock_offsets=offsets,
    )


def _clock_offsets(ordered: Sequence[ObservationPoint], sighting: Lookup) -> dict[str, float]:
    """host -> seconds its clock is ahead of the source node's (hosts seen both ways)."""
    if not ordered:
        return {}
    source = ordered[0].host
    first_req: dict[str, float] = {}
    last_rep: dict[str, float] = {}
    for p in ordered:
        s = sighting(p)
        if s is None:
            continue
        if p.direction == REQUEST:
            first_req[p.host] = min(first_req.get(p.host, s.time), s.time)
        else:
            last_rep[p.host] = max(last_rep.get(p.host, s.time), s.time)
    if source not in first_req or source not in last_rep:
        return {}
    a1, a2 = first_req[source], last_rep[source]
    offsets = {source: 0.0}
    for host, b1 in first_req.items():
        b2 = last_rep.get(host)
        if host != source and b2 is not None:
            offsets[host] = ((b1 - a1) + (b2 - a2)) / 2.0
    return offsets


def _hops(
    ordered: Sequence[ObservationPoint],
    states: dict[tuple[tuple[str, str], str], HopState],
    sighting: Lookup,
    seen: dict[tuple[tuple[str, str], str], dict[int, Sighting]],
    offsets: dict[str, float],
) -> tuple[Hop, ...]:
    corrected: dict[int, float] = {}
    for i, p in enumerate(ordered):
        s = sighting(p)
        if s is not None:
            corrected[i] = s.time - offsets.get(p.host, 0.0)
    t0 = corrected.get(0, min(corrected.values(), default=0.0))
    hops = []
    for i, p in enumerate(ordered):
        s = sighting(p)
        seqs = tuple(sorted(seen.get((p.key, p.direction), {})))
        state = states[(p.key, p.direction)]
        offset = None if i not in corrected else (corrected[i] - t0) * 1000.0
        note = ""
        if state is HopState.PASSED:
            note = "not captured here, but seen further on"
        elif state is HopState.UNOBSERVED:
            note = "no capture here"
        same_clock = p.host in offsets or p.host == ordered[0].host
        hops.append(Hop(p, state, s, seqs, offset, same_clock, note))
    return tuple(hops)
