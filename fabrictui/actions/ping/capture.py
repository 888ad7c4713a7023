"""A ping from a pod while the sending node's eth0 is captured: what verify's wire
checks look at, in both Calico modes (VXLAN frames, or native ICMP)."""

from __future__ import annotations

import asyncio
import contextlib

from fabrictui.backends.base import BackendError, LabBackend, ToolMissing
from fabrictui.capture import CaptureError
from fabrictui.capture.pcap import PcapStreamDecoder
from fabrictui.model import KubePod, PingResult, VxlanFrame

REPLY_GRACE = 2.0  # seconds the capture may take to show the last reply after the ping


async def ping_capturing(
    backend: LabBackend,
    node: str,
    src: KubePod,
    target_ip: str,
    count: int,
    timeout: float,
    bpf: str,
    vxlan_port: int,
) -> tuple[PingResult, list[VxlanFrame], str | None, str]:
    """Ping from `src` while capturing `bpf` on `node` eth0; returns the ping result, the
    frames seen (waiting up to REPLY_GRACE for the last reply's, encapsulated or native),
    why the capture saw nothing when it could not run (its wire check is then not observed:
    a node without tcpdump is not a quiet node), and where the frames were captured
    ("k8s-node-l2-1 eth0", or for a node without tcpdump "leaf2 swp1 facing k8s-node-l2-1")."""
    frames: list[VxlanFrame] = []
    errors: list[str] = []
    stream = None
    try:
        stream = await backend.open_capture(node, "eth0", bpf)
    except ToolMissing as err:
        errors.append(str(err))  # "k8s-node-l2-1: no tcpdump"
    except BackendError as err:
        errors.append(f"cannot capture on {node}: {err}")
    seen_reply = asyncio.Event()

    async def read() -> None:
        assert stream is not None
        decoder = PcapStreamDecoder(node=node, vxlan_ports=(vxlan_port,))
        try:
            async for chunk in stream.chunks():
                for frame in decoder.feed(chunk):
                    frames.append(frame)
                    if frame.inner_dst == src.ip and frame.icmp_type == 0:
                        seen_reply.set()
        except ToolMissing as err:
            errors.append(str(err))  # "k8s-node-l2-1: no tcpdump"
        except (CaptureError, BackendError) as err:
            errors.append(f"capture on {node} broke: {err}")

    reader = asyncio.create_task(read()) if stream is not None else None
    try:
        await asyncio.sleep(0)  # the reader attaches before the first echo
        try:
            result = await backend.ping(src, target_ip, count=count, timeout=timeout)
        except BackendError as err:
            result = PingResult.failed(src.key, target_ip, str(err))
        if reader is not None and result.ok:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(REPLY_GRACE):
                    await seen_reply.wait()
    finally:
        if stream is not None:
            await stream.close()
        if reader is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader, timeout=2.0)  # cancels it on timeout
    where = stream.point if stream is not None and stream.via == "switch" else f"{node} eth0"
    return result, frames, (errors[0] if errors else None), where
