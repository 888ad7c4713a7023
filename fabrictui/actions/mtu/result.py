"""What a path MTU search found, and the one sentence that says what to set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fabrictui.model import Verdict

ICMP_IP_HEADERS = 28  # a ping's payload + ICMP 8 + IPv4 20 = the IP packet's size
VXLAN_OVERHEAD = 50  # outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8


def overhead(mode: str | None) -> int:
    """What the underlay must carry beyond a pod's packet: VXLAN's 50 bytes, or nothing in
    Calico's BGP mode (plain IP)."""
    return 0 if mode == "bgp" else VXLAN_OVERHEAD


@dataclass(frozen=True, slots=True)
class SizeProbe:
    """One DF probe of the search and its answer."""

    size: int  # ping payload bytes (-s)
    crossed: bool
    probed: bool = True  # an echo went out (else nothing was learnt)
    too_big_mtu: int | None = None  # the MTU a frag-needed / local error reported
    too_big_from: str | None = None  # "local" or the router's address

    @property
    def packet(self) -> int:
        return self.size + ICMP_IP_HEADERS

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size, "packet": self.packet, "crossed": self.crossed,
            "probed": self.probed, "too_big_mtu": self.too_big_mtu,
            "too_big_from": self.too_big_from,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Culprit:
    """Where a packet too big dies: an interface whose MTU is below what the path needs."""

    host: str
    interface: str
    mtu: int
    needs: int  # the MTU it would need for full-size pod packets
    pod_side: bool = False  # the pods' MTU is the one too large (`mtu`: the underlay's)
    pod_mtu: int = 0

    @property
    def label(self) -> str:
        if self.pod_side:
            return (
                f"the pods' MTU {self.pod_mtu} ({self.host} {self.interface}): too large for "
                f"the underlay's {self.mtu}"
            )
        return f"{self.host} {self.interface} (mtu {self.mtu}, needs {self.needs})"


@dataclass(frozen=True, slots=True)
class MtuResult:
    source: str
    target: str
    target_ip: str
    mode: str | None  # "vxlan" / "bgp" (None: Calico has no pool yet)
    pod_mtu: int  # the MTU the pods have (read, or the mode's usual)
    pod_mtu_read: bool  # read from the pod's interface, not assumed
    largest_ok: int | None = None  # payload bytes of the largest DF ping that crossed
    smallest_dead: int | None = None  # payload bytes of the smallest that did not
    probes: tuple[SizeProbe, ...] = ()
    culprit: Culprit | None = None
    reported_mtu: int | None = None  # what a frag-needed / local error said
    reported_by: str | None = None
    not_probed: str | None = None  # why no probe could run
    notes: tuple[str, ...] = field(default=())

    @property
    def full_size(self) -> int:
        """The ping payload of a packet as big as the pod MTU allows."""
        return self.pod_mtu - ICMP_IP_HEADERS

    @property
    def underlay_needs(self) -> int:
        return self.pod_mtu + overhead(self.mode)

    @property
    def verdict(self) -> Verdict:
        if self.not_probed is not None or self.largest_ok is None:
            return Verdict.NOT_OBSERVED
        return Verdict.PASS if self.largest_ok >= self.full_size else Verdict.FAIL

    def where(self) -> str:
        if self.culprit is not None:
            return self.culprit.label
        if self.reported_by not in (None, "local") and self.reported_mtu is not None:
            return f"the router {self.reported_by} (frag needed, mtu {self.reported_mtu})"
        return "not known (no interface on the path reads too small)"

    def advice(self) -> str:
        """What to set, in one sentence."""
        lay = overhead(self.mode)
        c = self.culprit
        if self.verdict is Verdict.PASS:
            return f"Nothing to set: {self.pod_mtu}-byte pod packets cross with DF set."
        if self.verdict is Verdict.NOT_OBSERVED:
            return "Nothing can be said: no probe of the pod MTU's size crossed or was refused."
        if c is not None and c.pod_side:
            fit = c.mtu - lay
            return (
                f"Lower Calico's MTU to {fit} (veth_mtu in calico-config, then recreate the pods)"
                f" so pod packets and VXLAN's {lay} bytes fit the underlay's {c.mtu}, or raise "
                f"the underlay to {self.underlay_needs}."
                if lay
                else f"Lower Calico's MTU to {c.mtu} (veth_mtu in calico-config, then recreate"
                f" the pods), or raise the underlay to {self.pod_mtu}."
            )
        if c is not None:
            return (
                f"Set {c.host} {c.interface} back to MTU {c.needs} or more "
                f"(`ip link set dev {c.interface} mtu {c.needs}`), or lower Calico's MTU to "
                f"{c.mtu - lay} so pod packets fit it."
            )
        crossed = (self.largest_ok or 0) + ICMP_IP_HEADERS
        return (
            f"Find the link between the two nodes with an MTU below {self.underlay_needs} "
            f"and raise it, or lower Calico's MTU to {crossed} (the largest that crossed)."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "target": self.target, "target_ip": self.target_ip,
            "mode": self.mode, "pod_mtu": self.pod_mtu, "pod_mtu_read": self.pod_mtu_read,
            "full_size": self.full_size, "underlay_needs": self.underlay_needs,
            "largest_ok": self.largest_ok, "smallest_dead": self.smallest_dead,
            "largest_packet": None if self.largest_ok is None
            else self.largest_ok + ICMP_IP_HEADERS,
            "state": self.verdict.value,
            "where": None if self.verdict is not Verdict.FAIL else self.where(),
            "culprit": None if self.culprit is None else {
                "host": self.culprit.host, "interface": self.culprit.interface,
                "mtu": self.culprit.mtu, "needs": self.culprit.needs,
                "pod_side": self.culprit.pod_side,
            },
            "reported_mtu": self.reported_mtu, "reported_by": self.reported_by,
            "advice": self.advice(), "not_probed": self.not_probed, "notes": list(self.notes),
            "probes": [p.to_json() for p in self.probes],
        }  # fmt: skip
