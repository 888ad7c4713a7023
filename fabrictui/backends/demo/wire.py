"""What the demo lab puts on the wire: an echo between two pods as Calico encapsulates it
(real pcap bytes, built by `fabrictui.capture.synth`), and an in-memory capture of them.
Shared by the node captures (traffic.py) and the trace's captures at any port (tracing.py).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import AsyncIterator, Callable

from fabrictui.backends.base import CaptureStream
from fabrictui.backends.demo import topology as topo
from fabrictui.capture.synth import (
    build_vxlan_icmp_frame,
    calico_vtep_mac,
    pcap_global_header,
    pcap_record,
)

CAPTURE_BUFFER = 4096  # records held for a slow reader before dropping (as the kernel would)

# UDP source ports of the seed's capture (Linux hashes the inner flow into them).
SEED_PORTS = {("10.68.86.129", "10.65.76.193"): 41553, ("10.65.76.193", "10.68.86.129"): 32779}


def vxlan_source_port(inner_src: str, inner_dst: str) -> int:
    known = SEED_PORTS.get((inner_src, inner_dst))
    if known is not None:
        return known
    digest = hashlib.sha1(f"{inner_src}>{inner_dst}/icmp".encode()).digest()
    return 32768 + int.from_bytes(digest[:4], "big") % (61000 - 32768)


def vxlan_echo(
    src_node: str,
    dst_node: str,
    inner_src: str,
    inner_dst: str,
    icmp_type: int,
    icmp_id: int,
    seq: int,
    payload: int,
    outer_ttl: int,
) -> bytes:
    """An echo between two pods as Calico encapsulates it from `src_node` to
    `dst_node`: what the demo's captures and traces show on the wire."""
    s, d = topo.NODE_BY_NAME[src_node], topo.NODE_BY_NAME[dst_node]
    return build_vxlan_icmp_frame(
        outer_src_mac=s.mac,
        outer_dst_mac=d.mac,
        outer_src=s.ip,
        outer_dst=d.ip,
        udp_src=vxlan_source_port(inner_src, inner_dst),
        vni=topo.VNI,
        inner_src_mac=calico_vtep_mac(s.name),
        inner_dst_mac=calico_vtep_mac(d.name),
        inner_src=inner_src,
        inner_dst=inner_dst,
        icmp_type=icmp_type,
        icmp_id=icmp_id,
        icmp_seq=seq,
        ttl=outer_ttl,
        payload_len=payload,
        inner_ttl=63,  # one hop already: the sending node routed it into vxlan.calico
    )


class DemoCapture(CaptureStream):
    """An in-memory `tcpdump -U -w -` on one node."""

    def __init__(self, node: str, interface: str, on_close: Callable[[DemoCapture], None]) -> None:
        self.node = node
        self.interface = interface
        self._on_close = on_close
        self._buffer: deque[bytes] = deque()
        self._wakeup = asyncio.Event()
        self._closed = False
        self.dropped = 0
        self._buffer.append(pcap_global_header())
        self._wakeup.set()

    @property
    def closed(self) -> bool:
        return self._closed

    def push(self, ts: float, frame: bytes) -> None:
        if self._closed:
            return
        if len(self._buffer) >= CAPTURE_BUFFER:
            self.dropped += 1
            return
        self._buffer.append(pcap_record(ts, frame))
        self._wakeup.set()

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            if self._buffer:
                parts = list(self._buffer)
                self._buffer.clear()
                yield b"".join(parts)
                continue
            if self._closed:
                return
            self._wakeup.clear()
            await self._wakeup.wait()

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._wakeup.set()
            self._on_close(self)
