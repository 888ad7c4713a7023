"""Where a packet too big dies: the interface MTUs of the hosts on the path (`ip -o link`,
the state read "mtus"), against what full-size pod packets need there: the pod MTU on the
pods' and the VXLAN device's interfaces, the pod MTU plus VXLAN's 50 bytes on the underlay.
When every underlay port on the path is too small alike, the fault is the pods' MTU (set too
large for the underlay), not a port."""

from __future__ import annotations

import asyncio

from fabrictui.actions.mtu.result import Culprit, overhead
from fabrictui.actions.trace.model import ObservationPoint, PointKind
from fabrictui.actions.trace.points import observation_points
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.constants import VXLAN_DEVICE
from fabrictui.intent.labshape import LabShape
from fabrictui.model import KubePod
from fabrictui.parsers import ParseError
from fabrictui.parsers.mtu import parse_link_mtus

Mtus = dict[str, dict[str, int]]  # host -> interface -> MTU


async def path_points(
    backend: LabBackend, src: KubePod, dst: KubePod
) -> tuple[ObservationPoint, ...]:
    """The interfaces the probe crosses, both ways, every spine (empty when the lab cannot
    say its wiring)."""
    if not src.node or not dst.node:
        return ()
    try:
        ports = backend.trace_ports()
    except BackendError:
        return ()
    shape = LabShape.of(await backend.list_hosts())
    return observation_points(
        shape, ports, src.node, backend.pod_interface(src), dst.node, backend.pod_interface(dst)
    )


async def read_mtus(backend: LabBackend, hosts: list[str]) -> tuple[Mtus, list[str]]:
    """Each host's interface MTUs; what could not be read, one line each."""

    async def one(host: str) -> tuple[str, dict[str, int] | str]:
        try:
            return host, parse_link_mtus(await backend.read_state(host, "mtus"))
        except (BackendError, ParseError) as err:
            said = str(err)
            return host, said if said.startswith(f"{host}: ") else f"{host}: {said}"

    found: Mtus = {}
    missing: list[str] = []
    for host, got in await asyncio.gather(*(one(h) for h in hosts)):
        if isinstance(got, str):
            missing.append(got)
        else:
            found[host] = got
    return found, missing


def needs(point: ObservationPoint, pod_mtu: int, mode: str | None) -> int | None:
    if point.kind is PointKind.ROUTED:
        return None
    return pod_mtu + (overhead(mode) if point.kind.encapsulated else 0)


def culprit(
    points: tuple[ObservationPoint, ...], mtus: Mtus, pod_mtu: int, mode: str | None
) -> Culprit | None:
    """The first interface on the path (request first) too small for full-size pod packets,
    or the pods' own MTU when the whole underlay is too small for it alike."""
    small: list[Culprit] = []
    underlay: list[int] = []
    seen: set[tuple[str, str]] = set()
    for point in points:
        need = needs(point, pod_mtu, mode)
        mtu = mtus.get(point.host, {}).get(point.interface)
        if need is None or mtu is None or point.key in seen:
            continue
        seen.add(point.key)
        if point.kind.encapsulated:
            underlay.append(mtu)
        if mtu < need:
            small.append(Culprit(point.host, point.interface, mtu, need))
    encapsulated = [c for c in small if c.needs > pod_mtu or not overhead(mode)]
    if underlay and len(encapsulated) == len(underlay) and len(set(underlay)) == 1:
        first = points[0]
        device = VXLAN_DEVICE if overhead(mode) else first.interface
        return Culprit(first.host, device, underlay[0], pod_mtu + overhead(mode), True, pod_mtu)
    return small[0] if small else None
