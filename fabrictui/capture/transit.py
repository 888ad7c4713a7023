"""A frame's two sightings, matched: how long it took from the sending node's
capture to the receiving node's, and which frames left one node and never
reached the other, per node pair and per flow.

A frame between two captured nodes is seen twice: leaving the sender (stamped
by the sender's clock) and arriving at the receiver (by the receiver's). The
sightings are matched on what the fabric does not change (`MATCH_KEY`: outer
addresses and IP id, VXLAN source port, inner addresses, ports, ICMP id and
sequence, inner length). The two nodes' captures reach the capture worker
independently, so either sighting may come first; each waits for the other
between `lost_after` and 1.5 x `lost_after` seconds of the caller's clock
(`expire(now)`, not the frames' clocks). A sending sighting that waits in vain
is a lost frame; a receiving one that does (the sender's capture missed it:
tcpdump dropped it, or the capture started late) is counted `unmatched`,
never as loss.

One-way time is the receiver's time stamp minus the sender's, so it carries
the offset between the two nodes' clocks. Where frames go both ways between two
nodes the offset cancels, as in NTP: the estimate is the mean of the two
directions' medians, and half their difference is the offset.

Pure and bounded: at most `max_flows` flows are told apart (the rest count
under their node pair), each keeps its newest `SAMPLES` one-way times, and
waiting sightings are dropped after 1.5 x `lost_after`.
"""

from __future__ import annotations

import statistics
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import is_not, itemgetter

from fabrictui.model import VxlanFrame, is_native

LOST_AFTER = 2.0  # seconds a sighting waits for its other half
SAMPLES = 64  # newest one-way times kept per flow and per node pair
MAX_FLOWS = 512  # flows told apart; beyond, a flow counts under its node pair only
FLOWS_SHOWN = 5  # busiest flows per node pair in a snapshot
IDLE_ROTATIONS = 30  # a flow silent this long (~lost_after/2 each) makes room when flows run short
MAX_WAITING = 100_000  # sightings waiting on each side, at most (~15 MB)
# Larger frames are not what crossed the wire: a sender's tcpdump sees TCP segments before
# the NIC (or veth) cuts them (TSO/GSO), a receiver's sees them merged (GRO); the two
# sides never agree on them, so they are not matched (`oversize` counts them)
MAX_WIRE_FRAME = 1518  # Ethernet at MTU 1500, one VLAN tag

_F = VxlanFrame._fields
MATCH_KEY = itemgetter(
    *(
        _F.index(name)
        for name in (
            "outer_src", "outer_dst", "ip_id", "udp_src", "inner_src", "inner_dst",
            "icmp_id", "icmp_seq", "inner_sport", "inner_dport", "inner_length",
        )
    )
)  # fmt: skip
_TIME = itemgetter(_F.index("time"))
_LENGTH = itemgetter(_F.index("length"))
_FLOW_OF = itemgetter(1)  # of a waiting sighting's (time, flow)
_OUTER_SRC = itemgetter(_F.index("outer_src"))
_OUTER_DST = itemgetter(_F.index("outer_dst"))
_IS_VXLAN = itemgetter(_F.index("is_vxlan"))
_VXLAN_FLOW = itemgetter(
    *(_F.index(n) for n in ("outer_src", "outer_dst", "inner_src", "inner_dst"))
)

#: (sending node's address, receiving node's address, inner source, inner destination);
#: inner addresses are "" for the node pair's catch-all beyond `max_flows`
FlowKey = tuple[str, str, str, str]
#: frames and their flows, in the same order
Sightings = tuple[Sequence[VxlanFrame], Sequence[FlowKey]]


@dataclass(frozen=True, slots=True)
class FlowTransit:
    inner_src: str
    inner_dst: str
    arrived: int
    lost: int
    one_way_ms: float | None  # median of the newest, as measured (clock offset included)


@dataclass(frozen=True, slots=True)
class PairTransit:
    src: str  # the sending node's address
    dst: str  # the receiving node's address
    arrived: int  # frames seen leaving src and arriving at dst
    lost: int  # seen leaving src, never seen at dst
    unmatched: int  # seen arriving at dst, never seen leaving src (not loss)
    one_way_ms: float | None  # median of the newest, as measured
    corrected_ms: float | None  # with the other direction's: the clock offset cancelled
    offset_ms: float | None  # dst's clock minus src's, estimated from both directions
    flows: tuple[FlowTransit, ...] = ()  # the busiest, at most FLOWS_SHOWN

    @property
    def best_ms(self) -> float | None:
        """The one-way time to show: corrected when both directions allow it."""
        return self.corrected_ms if self.corrected_ms is not None else self.one_way_ms


@dataclass(frozen=True, slots=True)
class TransitSnapshot:
    pairs: tuple[PairTransit, ...] = ()  # by sending, then receiving address
    waiting: int = 0  # sightings waiting for their other half now
    untracked: int = 0  # sightings not matched: too many waited, or the other capture ended
    oversize: int = 0  # sightings larger than a wire frame (segmentation offload): not matched

    @property
    def lost(self) -> int:
        return sum(p.lost for p in self.pairs)

    @property
    def arrived(self) -> int:
        return sum(p.arrived for p in self.pairs)


@dataclass(slots=True)
class _Stats:
    arrived: int = 0
    lost: int = 0
    unmatched: int = 0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=SAMPLES))
    touched: int = 0  # the tracker's rotation when it last counted something here

    def median_ms(self) -> float | None:
        return statistics.median(self.recent) * 1000.0 if self.recent else None


class _Waiting:
    """Sightings waiting for their other half: the hash of the key -> (time, flow),
    in generations so that expiring is one dict dropped, not a scan. Bounded: past
    `MAX_WAITING` a sighting is not kept (`untracked` counts them)."""

    def __init__(self) -> None:
        self.generations: deque[dict[int, tuple[float, FlowKey]]] = deque([{}])
        self.untracked = 0

    def __len__(self) -> int:
        return sum(map(len, self.generations))

    def add(self, keys: Sequence[int], times: Sequence[float], flows: Sequence[FlowKey]) -> None:
        current = self.generations[-1]
        if len(current) >= MAX_WAITING // 3:  # the other side's capture is gone or far behind
            self.untracked += len(keys)
            return
        older = [g for g in self.generations if g and g is not current]
        if older:  # a copy of a sighting still waiting from before: the first one stands
            again = set().union(*(filter(g.__contains__, keys) for g in older))
            if again:
                fresh = [i for i, key in enumerate(keys) if key not in again]
                keys, times, flows = _pick(fresh, keys, times, flows)
        current.update(zip(keys, zip(times, flows, strict=True), strict=True))

    def take(self, keys: Sequence[int]) -> list[tuple[float, FlowKey] | None]:
        """The other halves of `keys` (None where none waits), taken out."""
        generations = [g for g in reversed(self.generations) if g]
        if not generations:
            return [None] * len(keys)
        found = list(map(generations[0].pop, keys, repeat(None)))
        for older in generations[1:]:
            for i in [i for i, half in enumerate(found) if half is None]:
                found[i] = older.pop(keys[i], None)
        return found

    def drop(self, address: str, end: int) -> None:
        """Forget (as untracked) the sightings whose flow has `address` at `end` (0 sender,
        1 receiver). A scan, for a rare event: a node's capture ending."""
        for generation in self.generations:
            gone = [key for key, (_t, flow) in generation.items() if flow[end] == address]
            for key in gone:
                del generation[key]
            self.untracked += len(gone)

    def rotate(self, keep: int) -> dict[int, tuple[float, FlowKey]]:
        """Start a new generation; returns what fell out of the oldest kept."""
        self.generations.append({})
        expired: dict[int, tuple[float, FlowKey]] = {}
        while len(self.generations) > keep:
            expired.update(self.generations.popleft())
        return expired


class TransitTracker:
    def __init__(self, lost_after: float = LOST_AFTER, max_flows: int = MAX_FLOWS) -> None:
        self.lost_after = lost_after
        self.max_flows = max_flows
        self._sent = _Waiting()  # sending sightings waiting for their arrival
        self._received = _Waiting()  # receiving sightings that came first
        # keys matched lately (two generations): a second copy of either half is ignored
        self._matched: deque[set[int]] = deque([set()])
        self._flow_names: dict[FlowKey, FlowKey] = {}  # one tuple per flow, however many frames
        self._flows: dict[FlowKey, _Stats] = {}
        self._pairs: dict[tuple[str, str], _Stats] = {}
        self._rotated_at: float | None = None
        self._rotations = 0
        self._oversize = 0

    # -- sightings ------------------------------------------------------------------

    def sent(self, frames: Sequence[VxlanFrame], flows: Sequence[FlowKey]) -> None:
        """Frames seen leaving their sending node; `flows[i]` is frame i's flow."""
        self._sight(frames, flows, self._sent, self._received, 1.0)

    def received(self, frames: Sequence[VxlanFrame], flows: Sequence[FlowKey]) -> None:
        """Frames seen arriving at their receiving node."""
        self._sight(frames, flows, self._received, self._sent, -1.0)

    def _sight(
        self,
        frames: Sequence[VxlanFrame],
        flows: Sequence[FlowKey],
        mine: _Waiting,
        theirs: _Waiting,
        sign: float,
    ) -> None:
        """Match each sighting with its other half in `theirs`, or wait in `mine`.
        `sign`: +1 when these are the departures (one-way = other half - this)."""
        if not frames:
            return
        if max(map(_LENGTH, frames)) > MAX_WIRE_FRAME:
            fit = [i for i, frame in enumerate(frames) if frame.length <= MAX_WIRE_FRAME]
            self._oversize += len(frames) - len(fit)
            frames, flows = _pick(fit, frames, flows)
            if not frames:
                return
        # keys by their hash: a waiting sighting costs an int, not an 11-field tuple
        keys = list(map(hash, map(MATCH_KEY, frames)))
        times = list(map(_TIME, frames))
        names = self._flow_names
        if len(names) > 4 * self.max_flows:
            names.clear()
        flows = list(map(names.setdefault, flows, flows))
        if len(set(keys)) != len(keys):  # one record twice in a batch: the first stands
            first = sorted({key: i for i, key in reversed(list(enumerate(keys)))}.values())
            keys, times, flows = _pick(first, keys, times, flows)
        if any(self._matched):  # a capture that delivers a record twice must not count it twice
            batch = set(keys)
            again = set().union(*(batch & done for done in self._matched))
            if again:
                fresh = [i for i, key in enumerate(keys) if key not in again]
                keys, times, flows = _pick(fresh, keys, times, flows)
        if not any(theirs.generations):  # the common order: nothing to match yet
            mine.add(keys, times, flows)
            return
        found = theirs.take(keys)
        waiting = [i for i, half in enumerate(found) if half is None]
        if waiting:
            mine.add(*_pick(waiting, keys, times, flows))
        if len(waiting) == len(found):
            return
        # counted in C-level passes; one-way times from the newest matches only (each flow
        # keeps SAMPLES of them anyway): a flood costs no per-frame Python here
        hit = list(map(is_not, found, repeat(None)))
        self._matched[-1].update(compress(keys, hit))
        halves = list(compress(found, hit))
        for flow, count in Counter(map(_FLOW_OF, halves)).items():
            self._stats(flow).arrived += count
            self._pair(flow).arrived += count
        newest = zip(halves[-SAMPLES:], list(compress(times, hit))[-SAMPLES:], strict=True)
        for (other_at, flow), at in newest:
            seconds = (other_at - at) * sign
            self._stats(flow).recent.append(seconds)
            self._pair(flow).recent.append(seconds)

    def _stats(self, flow: FlowKey) -> _Stats:
        stats = self._flows.get(flow)
        if stats is None:
            if len(self._flows) >= self.max_flows:
                flow = (flow[0], flow[1], "", "")
                stats = self._flows.get(flow)
            if stats is None:
                stats = self._flows[flow] = _Stats()
        stats.touched = self._rotations
        return stats

    def _pair(self, flow: FlowKey) -> _Stats:
        key = (flow[0], flow[1])
        pair = self._pairs.get(key)
        if pair is None:
            pair = self._pairs[key] = _Stats()
        return pair

    def capture_ended(self, address: str) -> None:
        """The capture of the node at `address` ended (or broke): what waits for its
        sightings can no longer be matched, and is neither lost nor arrived."""
        self._sent.drop(address, 1)
        self._received.drop(address, 0)

    # -- time -----------------------------------------------------------------------

    def expire(self, now: float) -> None:
        """Give up on sightings that waited long enough (call it every so often with
        the caller's clock): sending ones count as lost, receiving ones as unmatched."""
        if self._rotated_at is None:
            self._rotated_at = now
            return
        if now - self._rotated_at < self.lost_after / 2:
            return
        self._rotated_at = now
        self._rotations += 1
        if len(self._flows) > self.max_flows * 3 // 4:  # room for new pods' flows
            idle = self._rotations - IDLE_ROTATIONS
            for flow in [f for f, stats in self._flows.items() if stats.touched < idle]:
                del self._flows[flow]  # its counts stay in its node pair's
        # three generations, each half the wait: a sighting waits 1 to 1.5 x lost_after
        lost = Counter(map(itemgetter(1), self._sent.rotate(3).values()))
        unmatched = Counter(map(itemgetter(1), self._received.rotate(3).values()))
        self._matched.append(set())
        while len(self._matched) > 2:
            self._matched.popleft()
        for flow, count in lost.items():
            self._stats(flow).lost += count
            self._pair(flow).lost += count
        for flow, count in unmatched.items():
            self._stats(flow).unmatched += count
            self._pair(flow).unmatched += count

    # -- what is shown --------------------------------------------------------------

    def snapshot(self) -> TransitSnapshot:
        medians = {key: stats.median_ms() for key, stats in self._pairs.items()}
        by_pair: dict[tuple[str, str], list[tuple[FlowKey, _Stats]]] = {}
        for flow, stats in self._flows.items():
            by_pair.setdefault((flow[0], flow[1]), []).append((flow, stats))
        pairs = []
        for (src, dst), stats in sorted(self._pairs.items()):
            there, back = medians[(src, dst)], medians.get((dst, src))
            corrected = offset = None
            if there is not None and back is not None:
                corrected = (there + back) / 2
                offset = (there - back) / 2
            # medians only for the flows shown: a snapshot goes out ten times a second
            busiest = sorted(by_pair.get((src, dst), []), key=_busiest)[:FLOWS_SHOWN]
            flows = tuple(
                FlowTransit(flow[2], flow[3], fs.arrived, fs.lost, fs.median_ms())
                for flow, fs in busiest
            )
            pairs.append(
                PairTransit(
                    src,
                    dst,
                    stats.arrived,
                    stats.lost,
                    stats.unmatched,
                    there,
                    corrected,
                    offset,
                    flows,
                )
            )
        return TransitSnapshot(
            tuple(pairs),
            len(self._sent) + len(self._received),
            self._sent.untracked + self._received.untracked,
            self._oversize,
        )


def _pick(indices: list[int], *columns: Sequence) -> list[list]:
    """The rows at `indices` of columns that go together (keys, times, flows, ...)."""
    return [[column[i] for i in indices] for column in columns]


def _busiest(item: tuple[FlowKey, _Stats]) -> int:
    return -(item[1].arrived + item[1].lost)


def sightings(
    frames: Sequence[VxlanFrame],
    address: str,
    captured: set[str] | frozenset[str],
    pod_nodes: dict[str, str],
) -> tuple[list[int] | None, Sightings, Sightings]:
    """Sort one node's batch (`address`: its own) into what it counts and what it
    matches. Each frame is counted once, on the node it left; where that node
    is not captured (or is not known), on the node that saw it.

    Returns (the indices of the frames to count, None for all; the sending
    sightings to match and their flows; the receiving ones). A VXLAN frame's
    ends are its outer addresses; a native one's (BGP mode: plain IP between
    pods) are its pods' nodes, from `pod_nodes` (pod IP -> node address)."""
    n = len(frames)
    # the common batch, in C-level passes: every frame VXLAN and sent from here
    if list(map(_OUTER_SRC, frames)).count(address) == n and all(map(_IS_VXLAN, frames)):
        to_captured = list(map(captured.__contains__, map(_OUTER_DST, frames)))
        matched = to_captured.count(True)
        if matched == 0:  # to nodes no capture runs on: nothing to match
            return None, ((), ()), ((), ())
        sent = frames if matched == n else list(compress(frames, to_captured))
        return None, (sent, list(map(_VXLAN_FLOW, sent))), ((), ())
    # the other common batch: every frame VXLAN, sent by a captured node to this one
    if (
        list(map(_OUTER_DST, frames)).count(address) == n
        and all(map(_IS_VXLAN, frames))
        and sum(map(captured.__contains__, map(_OUTER_SRC, frames))) == n
    ):
        return [], ((), ()), (frames, list(map(_VXLAN_FLOW, frames)))
    kept: list[int] = []
    sent: list[VxlanFrame] = []
    received: list[VxlanFrame] = []
    sent_flows: list[FlowKey] = []
    received_flows: list[FlowKey] = []
    for i, frame in enumerate(frames):
        if frame.is_vxlan:
            src, dst = frame.outer_src, frame.outer_dst
        elif is_native(frame):  # plain IP between pods (BGP mode)
            src, dst = pod_nodes.get(frame.inner_src, ""), pod_nodes.get(frame.inner_dst, "")
        else:
            kept.append(i)
            continue
        if src == address:
            kept.append(i)
            if dst in captured and dst != address:
                sent.append(frame)
                sent_flows.append((src, dst, frame.inner_src, frame.inner_dst))
        elif src in captured:  # counted where it was sent
            if dst == address:
                received.append(frame)
                received_flows.append((src, dst, frame.inner_src, frame.inner_dst))
        else:
            kept.append(i)  # the only sighting there will be
    return (None if len(kept) == n else kept), (sent, sent_flows), (received, received_flows)
