"""Captures at every observation point at once, and the sightings they yield.

Every point gets a tcpdump narrowed to the probe's pair of pod addresses and ICMP (the ICMP id
is not known before the kernel picks it; the correlation narrows to it): inside VXLAN on node
uplinks and switch ports, plain ICMP on pod veths and vxlan.calico. All captures are opened
together (`asyncio.gather`), their start times recorded so the spread can be reported, read
by one task each, and closed together, also when the trace is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from fabrictui.actions.trace.model import ObservationPoint, PointKind, Probe, Sighting
from fabrictui.backends.base import BackendError, CaptureStream, LabBackend
from fabrictui.capture import CaptureError
from fabrictui.capture.pcap import PcapStreamDecoder
from fabrictui.model import VxlanFrame

# Offsets inside a VXLAN datagram, counted from the UDP header (BPF's udp[...]): UDP 8 +
# VXLAN 8 + inner Ethernet 14, then the inner IPv4 header's protocol (9) and addresses (12, 16).
_INNER_IP = 8 + 8 + 14
_LINK_ETHERTYPE = {1: 12, 113: 14}  # Ethernet, LINUX_SLL: where the ethertype is
_RAW_IP = (101, 228)  # raw IP, IPv4
_SLL2 = 276
_ICMP = struct.Struct("!BxxxHH")


def bpf_for(point: ObservationPoint, probe: Probe, vxlan_port: int) -> str:
    a = f"0x{int(ipaddress.IPv4Address(probe.src_ip)):08x}"
    b = f"0x{int(ipaddress.IPv4Address(probe.dst_ip)):08x}"
    if point.kind.encapsulated:
        src, dst = f"udp[{_INNER_IP + 12}:4]", f"udp[{_INNER_IP + 16}:4]"
        return (
            f"udp port {vxlan_port} and udp[{_INNER_IP + 9}:1] = 1 and "
            f"(({src} = {a} and {dst} = {b}) or ({src} = {b} and {dst} = {a}))"
        )
    return (
        f"icmp and ((src host {probe.src_ip} and dst host {probe.dst_ip}) or "
        f"(src host {probe.dst_ip} and dst host {probe.src_ip}))"
    )


def plain_icmp(data: bytes, linktype: int) -> tuple[str, str, int, int, int] | None:
    """(src, dst, type, id, seq) of an unencapsulated ICMP echo, else None."""
    if linktype in _LINK_ETHERTYPE:
        off = _LINK_ETHERTYPE[linktype]
        if len(data) < off + 2:
            return None
        ethertype = int.from_bytes(data[off : off + 2], "big")
        off += 2
        while ethertype in (0x8100, 0x88A8) and len(data) >= off + 4:
            ethertype = int.from_bytes(data[off + 2 : off + 4], "big")
            off += 4
    elif linktype == _SLL2:
        if len(data) < 20:
            return None
        ethertype, off = int.from_bytes(data[0:2], "big"), 20
    elif linktype in _RAW_IP:
        ethertype, off = 0x0800, 0
    else:
        return None
    if ethertype != 0x0800 or len(data) < off + 20 or data[off] >> 4 != 4:
        return None
    ihl = (data[off] & 0x0F) * 4
    if data[off + 9] != 1 or len(data) < off + ihl + 8:
        return None
    src = str(ipaddress.IPv4Address(data[off + 12 : off + 16]))
    dst = str(ipaddress.IPv4Address(data[off + 16 : off + 20]))
    icmp_type, icmp_id, icmp_seq = _ICMP.unpack_from(data, off + ihl)
    if icmp_type not in (0, 8):
        return None
    return src, dst, icmp_type, icmp_id, icmp_seq


def sighting_of(host: str, interface: str, frame: VxlanFrame, raw: bytes | None, linktype: int
                ) -> Sighting | None:  # fmt: skip
    if frame.is_vxlan:
        if frame.proto != "ICMP" or frame.icmp_id is None or frame.icmp_type not in (0, 8):
            return None
        return Sighting(
            host, interface, frame.time, frame.inner_src, frame.inner_dst, frame.icmp_type,
            frame.icmp_id, frame.icmp_seq or 0, frame.outer_src, frame.outer_dst, frame.vni,
            frame.length,
        )  # fmt: skip
    if raw is None:
        return None
    echo = plain_icmp(raw, linktype)
    if echo is None:
        return None
    src, dst, icmp_type, icmp_id, seq = echo
    return Sighting(host, interface, frame.time, src, dst, icmp_type, icmp_id, seq,
                    length=frame.length)  # fmt: skip


@dataclass
class PointCaptures:
    """The captures of one trace: open them all, read them, close them all."""

    backend: LabBackend
    probe: Probe
    vxlan_port: int
    sightings: list[Sighting] = field(default_factory=list)
    failed: dict[tuple[str, str], str] = field(default_factory=dict)
    started: dict[tuple[str, str], float] = field(default_factory=dict)
    _streams: list[CaptureStream] = field(default_factory=list)
    _readers: list[asyncio.Task[None]] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def open(self, points: Iterable[ObservationPoint], timeout: float = 10.0) -> None:
        unique: dict[tuple[str, str], ObservationPoint] = {}
        for p in points:
            unique.setdefault(p.key, p)

        async def one(key: tuple[str, str], point: ObservationPoint) -> None:
            if point.kind is PointKind.ROUTED:
                self.failed[key] = "no interface to capture on"
                return
            bpf = bpf_for(point, self.probe, self.vxlan_port)
            try:
                async with asyncio.timeout(timeout):
                    stream = await self.backend.open_trace_capture(key[0], key[1], bpf)
            except (BackendError, TimeoutError) as err:
                self.failed[key] = str(err) or "timed out"
                return
            self.started[key] = time.monotonic()
            self._streams.append(stream)
            self._readers.append(asyncio.create_task(self._read(key, stream)))

        await asyncio.gather(*(one(k, p) for k, p in unique.items()))

    @property
    def spread(self) -> float | None:
        if not self.started:
            return None
        return max(self.started.values()) - min(self.started.values())

    async def _read(self, key: tuple[str, str], stream: CaptureStream) -> None:
        decoder = PcapStreamDecoder(vxlan_ports=(self.vxlan_port,), keep_raw=True, node=key[0])
        try:
            async for chunk in stream.chunks():
                frames = decoder.feed(chunk)
                raws = decoder.raw_records
                for i, frame in enumerate(frames):
                    raw = raws[i].data if i < len(raws) else None
                    s = sighting_of(key[0], key[1], frame, raw, decoder.linktype or 1)
                    if s is not None:
                        self.sightings.append(s)
                        self._arrived.set()
        except (CaptureError, BackendError) as err:
            if key not in self.failed and not self.sightings_at(key):
                self.failed[key] = str(err)

    def sightings_at(self, key: tuple[str, str]) -> list[Sighting]:
        return [s for s in self.sightings if (s.host, s.interface) == key]

    def came_back(self, key: tuple[str, str], count: int) -> bool:
        """The reply to the last of `count` echoes reached `key` (the source pod's veth):
        the end. iputils numbers echoes from 1, busybox from 0."""
        here = self.sightings_at(key)
        last = count - 1 if any(s.icmp_seq == 0 for s in here) else count
        return any(
            s.icmp_type == 0 and s.icmp_seq == last and s.dst == self.probe.src_ip for s in here
        )

    async def settle(
        self, end: tuple[tuple[str, str], int] | None = None, quiet: float = 0.3,
        limit: float = 1.0,
    ) -> None:  # fmt: skip
        """Wait until no sighting arrived for `quiet` seconds (at most `limit`): the last
        frames of the probe are still on their way through the captures' pipes. `end`:
        (the source pod's point, the last seq): done as soon as that reply is seen there."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if end is not None and self.came_back(*end):
                return
            self._arrived.clear()
            try:
                async with asyncio.timeout(min(quiet, max(0.0, deadline - time.monotonic()))):
                    await self._arrived.wait()
            except TimeoutError:
                return

    async def close(self) -> None:
        """Stop every capture at its source (shielded: a cancelled trace still stops them)."""
        streams, self._streams = list(self._streams), []
        closing = asyncio.ensure_future(
            asyncio.gather(*(s.close() for s in streams), return_exceptions=True)
        )
        try:
            await asyncio.shield(closing)
        finally:
            # the readers finish what the closed streams still hold, then stop
            if self._readers:
                with contextlib.suppress(BaseException):
                    await asyncio.wait(self._readers, timeout=1.0)
            for task in self._readers:
                task.cancel()
            for task in self._readers:
                with contextlib.suppress(BaseException):
                    await task
            self._readers = []
