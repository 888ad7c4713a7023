"""For a trace with `--size`: where a packet of that size cannot pass. A ping larger than the
pod MTU leaves the pod in fragments no larger than it; each then needs the pod MTU on the pod
and VXLAN interfaces and the pod MTU plus VXLAN's 50 bytes on the underlay (nothing more in
BGP mode). The interface MTUs of the path's hosts (`ip -o link`, the state read "mtus") are
compared with that; the first too small is named (the full search is `fabrictui mtu`)."""

from __future__ import annotations

import asyncio

from fabrictui.actions.trace.model import ObservationPoint, PointKind
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.parsers import ParseError
from fabrictui.parsers.mtu import parse_link_mtus

HEADERS = 28  # ICMP 8 + IPv4 20
VXLAN_OVERHEAD = 50


async def size_notes(
    backend: LabBackend, points: tuple[ObservationPoint, ...], src_iface: str, size: int
) -> list[str]:
    """Lines naming the interfaces on the path too small for `size`-byte pings."""
    hosts = list(dict.fromkeys(p.host for p in points))

    async def read(host: str) -> dict[str, int]:
        try:
            return parse_link_mtus(await backend.read_state(host, "mtus"))
        except (BackendError, ParseError):
            return {}

    mtus = dict(zip(hosts, await asyncio.gather(*(read(h) for h in hosts)), strict=True))
    if not points:
        return []
    pod_mtu = mtus.get(points[0].host, {}).get(src_iface)
    if pod_mtu is None:
        return []
    extra = 0 if await backend.calico_mode() == "bgp" else VXLAN_OVERHEAD
    packet = min(size + HEADERS, pod_mtu)  # larger leaves the pod in fragments of the pod MTU
    notes: list[str] = []
    seen: set[tuple[str, str]] = set()
    for point in points:
        if point.kind is PointKind.ROUTED or point.key in seen:
            continue
        seen.add(point.key)
        mtu = mtus.get(point.host, {}).get(point.interface)
        need = packet + (extra if point.kind.encapsulated else 0)
        if mtu is not None and mtu < need:
            notes.append(
                f"{point.label}: mtu {mtu}, too small for {packet}-byte pod packets "
                f"(needs {need}); `fabrictui mtu` finds the largest that crosses"
            )
    return notes
