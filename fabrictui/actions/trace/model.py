"""The path trace's data: where a probe should be seen, where it was, and what that means.

Pure data, no I/O: observation points come from the lab's shape (`trace_points`), sightings
from captures (`trace.py`), the correlation (`trace_correlate`) turns both into hops, and the
cause finder (`trace_causes`) names what broke at the first missing hop.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from fabrictui.actions.trace.dnsname import DnsResolution
from fabrictui.actions.trace.svcsteps import ServiceTrace
from fabrictui.model import Verdict

REQUEST = "request"
REPLY = "reply"
ECHO_REQUEST = 8
ECHO_REPLY = 0


class PointKind(enum.StrEnum):
    """What an observation point is, which decides what is read there when it stays dark."""

    POD = "pod"  # the pod's host-side interface (Calico's caliXXXX veth)
    VXLAN = "vxlan"  # the node's VXLAN device (vxlan.calico)
    NODE_UPLINK = "node-uplink"  # the node's eth0
    LEAF_DOWNLINK = "leaf-downlink"  # the leaf port facing a node
    LEAF_UPLINK = "leaf-uplink"  # the leaf port facing a spine
    SPINE_PORT = "spine-port"  # a spine port facing a leaf
    ROUTED = "routed"  # the node delivering an address no pod holds: nothing to capture on

    @property
    def encapsulated(self) -> bool:
        return self not in (PointKind.POD, PointKind.VXLAN, PointKind.ROUTED)


@dataclass(frozen=True, slots=True)
class ObservationPoint:
    """One place the probe should cross, in one direction.

    `step` orders the points along the path (request first, then reply); points that share a
    step are ECMP alternatives, one per spine (`branch`), and the probe crosses one of them.
    `peer` is the host at the other end of the cable (for ports), which link state and
    routes are read against.
    """

    host: str
    interface: str
    kind: PointKind
    direction: str  # REQUEST or REPLY
    step: int
    branch: str | None = None
    peer: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.host, self.interface)

    @property
    def label(self) -> str:
        return f"{self.host} {self.interface}"


@dataclass(frozen=True, slots=True)
class Probe:
    """The pings of one trace: from `src_ip` to `dst_ip`, ICMP `icmp_id` (None: not known
    before the first sighting, e.g. when the kernel picks it), `count` echoes."""

    src_ip: str
    dst_ip: str
    icmp_id: int | None = None
    count: int | None = None  # echoes sent, numbered 1..count


@dataclass(frozen=True, slots=True)
class Sighting:
    """One echo seen at one point, as the capture there decoded it. `time` is the host's
    own clock: hosts may disagree by up to a second."""

    host: str
    interface: str
    time: float
    src: str  # inner (pod) addresses
    dst: str
    icmp_type: int
    icmp_id: int
    icmp_seq: int
    outer_src: str | None = None  # set where encapsulated
    outer_dst: str | None = None
    vni: int | None = None
    length: int = 0

    @property
    def direction(self) -> str:
        return REQUEST if self.icmp_type == ECHO_REQUEST else REPLY

    def inner_text(self) -> str:
        kind = "echo request" if self.icmp_type == ECHO_REQUEST else "echo reply"
        return f"{self.src} > {self.dst} {kind} id {self.icmp_id} seq {self.icmp_seq}"

    def outer_text(self) -> str:
        """The VXLAN wrapping, where there is one ("" on pod veths and vxlan.calico)."""
        if not self.outer_src:
            return ""
        return f"outer {self.outer_src} > {self.outer_dst} vni {self.vni}"

    def describe(self) -> str:
        outer = self.outer_text()
        return f"{self.inner_text()} | {outer}" if outer else self.inner_text()


class HopState(enum.StrEnum):
    SEEN = "seen"
    MISSING = "missing"  # expected here and not seen: the first of these is `lost_at`
    PASSED = "passed"  # not seen, but seen further on (the capture here missed it)
    UNOBSERVED = "unobserved"  # no capture could run here
    NOT_TAKEN = "not taken"  # the other ECMP branch
    NOT_REACHED = "not reached"  # after the loss


@dataclass(frozen=True, slots=True)
class Hop:
    point: ObservationPoint
    state: HopState
    sighting: Sighting | None = None  # the first sighting of the reference echo
    seqs: tuple[int, ...] = ()  # echoes seen here
    offset_ms: float | None = None  # since the first point, clocks corrected where possible
    clock_corrected: bool = False
    note: str = ""

    @property
    def seen(self) -> bool:
        return self.state is HopState.SEEN

    def what(self) -> str:
        """What was seen here, as one line (or why nothing was)."""
        if self.sighting is not None:
            return self.sighting.describe()
        return f"{self.state}" + (f": {self.note}" if self.note else "")

    def offset_text(self) -> str:
        """The offset, only where it compares: on the source node's clock, or a clock
        corrected from a host that saw both ways; else say the clock is not known."""
        if self.offset_ms is None:
            return ""
        if not self.clock_corrected:
            return "clock?"
        return f"+{self.offset_ms:.3f} ms"

    def to_json(self) -> dict[str, Any]:
        s = self.sighting
        out: dict[str, Any] = {
            "host": self.point.host,
            "interface": self.point.interface,
            "direction": self.point.direction,
            "kind": str(self.point.kind),
            "seen": self.seen,
            "state": str(self.state),
            "branch": self.point.branch,
            "seqs": list(self.seqs),
            "offset_ms": None if self.offset_ms is None else round(self.offset_ms, 3),
            "clock_corrected": self.clock_corrected,
        }
        if s is not None:
            out.update(
                inner_src=s.src,
                inner_dst=s.dst,
                icmp_id=s.icmp_id,
                icmp_seq=s.icmp_seq,
                outer_src=s.outer_src,
                outer_dst=s.outer_dst,
                vni=s.vni,
                length=s.length,  # the frame's length there (the probe's size shows in it)
            )
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True, slots=True)
class Correlation:
    hops: tuple[Hop, ...]
    icmp_id: int | None
    lost_at: ObservationPoint | None
    delivered: bool  # the request reached the destination pod's interface
    replied: bool  # the reply came back to the source pod's interface
    branch: str | None  # spine the request crossed
    reply_branch: str | None  # spine the reply crossed
    clock_offsets: dict[str, float] = field(default_factory=dict)  # host -> s ahead of source


@dataclass(frozen=True)
class TraceResult:
    source: str  # namespace/name
    target: str  # namespace/name or the IP asked for
    src_ip: str
    dst_ip: str
    src_node: str
    dst_node: str | None
    correlation: Correlation
    cause: str | None
    evidence: tuple[str, ...]
    ping_text: str = ""  # the ping's own summary line
    ping_ok: bool = False  # every echo answered
    phases: tuple[tuple[str, float], ...] = ()  # (phase, seconds)
    capture_spread_s: float | None = None  # first to last capture start
    notes: tuple[str, ...] = ()  # points that could not be captured, and why
    probed: bool = True  # echoes went out (a ping that never ran says nothing of the path)
    ping_via: str = "pod"  # how the probe ran: pod, node, ephemeral
    service: ServiceTrace | None = None  # the steps to a Service, when --to named one
    dns: DnsResolution | None = None  # the name resolved first, when --to was a DNS name

    @property
    def stopped_at(self) -> str | None:
        """Where a trace ended before any pod path: `DNS`, `the Service`, or None."""
        if self.dns is not None and self.dns.address is None:
            return "DNS"
        if self.service is not None and self.service.endpoint is None:
            return "the Service"
        return None

    @property
    def unobserved(self) -> tuple[str, ...]:
        """`host interface` of each point on the path no capture could watch."""
        return tuple(
            f"{h.point.host} {h.point.interface}"
            for h in self.hops
            if h.state is HopState.UNOBSERVED
        )

    @property
    def verdict(self) -> Verdict:
        """Pass: delivered and watched all the way; fail: the probe went out and was lost;
        not observed: delivered with points no capture could watch (it passed on what it
        saw and says what it could not see), or no probe went out at all. Through a
        Service: a broken step fails it; a trace that stopped at the Service is its steps'.
        To a DNS name: a lookup that failed or could not run is the trace's verdict."""
        if self.dns is not None and self.dns.verdict is not Verdict.PASS:
            return self.dns.verdict
        svc = self.service
        if svc is not None:
            if svc.verdict is Verdict.FAIL or svc.endpoint is None:
                return svc.verdict
            pods = self._pod_verdict()
            return (
                Verdict.NOT_OBSERVED
                if pods is Verdict.PASS and svc.verdict is not Verdict.PASS
                else pods
            )
        return self._pod_verdict()

    def _pod_verdict(self) -> Verdict:
        if self.delivered:
            return Verdict.NOT_OBSERVED if self.unobserved else Verdict.PASS
        if not self.probed and self.lost_at is None and not any(h.seen for h in self.hops):
            return Verdict.NOT_OBSERVED
        return Verdict.FAIL

    @property
    def delivered(self) -> bool:
        """Delivered, and the reply came back: what exit code 0 means. A Service trace that
        ended at the Service (an endpoint that is no pod) delivered when its steps passed."""
        if self.dns is not None and self.dns.address is None:
            return False
        if self.service is not None and self.service.endpoint is None:
            return self.service.verdict is Verdict.PASS
        went = self.correlation.delivered and self.correlation.replied
        return (went or self.ping_ok) and self.cause is None

    @property
    def hops(self) -> tuple[Hop, ...]:
        return self.correlation.hops

    @property
    def lost_at(self) -> ObservationPoint | None:
        return self.correlation.lost_at

    def to_json(self) -> dict[str, Any]:
        c = self.correlation
        lost = c.lost_at
        return {
            "source": self.source,
            "target": self.target,
            "src_ip": self.src_ip,
            "dst_ip": self.dst_ip,
            "src_node": self.src_node,
            "dst_node": self.dst_node,
            "icmp_id": c.icmp_id,
            "delivered": self.delivered,
            "state": self.verdict.value,
            "unobserved": list(self.unobserved),
            "request_delivered": c.delivered,
            "reply_returned": c.replied,
            "branch": c.branch,
            "reply_branch": c.reply_branch,
            "hops": [h.to_json() for h in c.hops],
            "lost_at": None
            if lost is None
            else {"host": lost.host, "interface": lost.interface, "direction": lost.direction},
            "cause": self.cause,
            "evidence": list(self.evidence),
            "ping": self.ping_text,
            "via": self.ping_via,
            "probed": self.probed,
            "clock_offsets_ms": {h: round(v * 1000, 3) for h, v in sorted(c.clock_offsets.items())},
            "phases_s": {name: round(secs, 3) for name, secs in self.phases},
            "capture_spread_s": None
            if self.capture_spread_s is None
            else round(self.capture_spread_s, 3),
            "notes": list(self.notes),
            "service": None if self.service is None else self.service.step_json(),
            "endpoint": None if self.service is None else self.service.endpoint,
            "dns": None if self.dns is None else self.dns.to_json(),
            "steps": self.step_json(),
        }

    def step_json(self) -> list[dict[str, Any]]:
        """Every step before the pod path, in order: `dns`, then the Service's."""
        first = [self.dns.step.to_json()] if self.dns is not None else []
        return first + (self.service.step_json() if self.service is not None else [])
