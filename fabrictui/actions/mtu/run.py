"""One path MTU measurement between two pods: the pods' MTU (read from the source pod's
host-side interface, else the mode's usual), the search (search.py), and, when a full-size
packet dies, where (where.py)."""

from __future__ import annotations

import dataclasses

from fabrictui.actions.mtu.result import ICMP_IP_HEADERS, MtuResult, SizeProbe, overhead
from fabrictui.actions.mtu.search import search
from fabrictui.actions.mtu.where import culprit, path_points, read_mtus
from fabrictui.actions.progress import Progress, Report
from fabrictui.actions.trace.run import find_pod
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.model import KubePod, Verdict

UNDERLAY_MTU = 1500  # what an underlay has when nothing says otherwise
PROBE_TIMEOUT = 5.0  # seconds for one DF probe (one echo, `-W 1`, plus the exec or SSH)


async def measure(
    backend: LabBackend, report: Report, src: KubePod, dst: KubePod, timeout: float = PROBE_TIMEOUT
) -> MtuResult:
    """The largest DF ping from `src` to `dst` up to the pod MTU, and where larger ones die."""
    if not src.ip or not dst.ip:
        raise BackendError(f"{src.key if not src.ip else dst.key} has no IP address")
    mode = await backend.calico_mode()
    # the pod MTU from the source node only: the rest of the path is read when a packet dies
    mtus, unread = await read_mtus(backend, [src.node] if src.node else [])
    read = mtus.get(src.node or "", {}).get(backend.pod_interface(src))
    pod_mtu = read if read is not None else UNDERLAY_MTU - overhead(mode)
    unprobed: list[str] = []

    async def probe(size: int) -> SizeProbe:
        report(Progress(f"DF ping {src.short_name} -> {dst.ip}: {size} bytes"))
        r = await backend.probe(src, dst.ip or "", 1, size, timeout, df=True)
        if r.not_probed or (r.error and not r.probed):
            unprobed.append(r.not_probed or r.error or "no probe")
        return SizeProbe(size, r.received > 0, r.probed, r.too_big_mtu, r.too_big_from)

    found = await search(
        probe, pod_mtu - ICMP_IP_HEADERS, lambda: unprobed[-1] if unprobed else "no probe"
    )
    result = MtuResult(
        source=src.key, target=dst.key, target_ip=dst.ip, mode=mode, pod_mtu=pod_mtu,
        pod_mtu_read=read is not None, largest_ok=found.largest_ok,
        smallest_dead=found.smallest_dead, probes=found.probes, not_probed=found.not_probed,
        reported_mtu=found.reported_mtu, reported_by=found.reported_by, notes=tuple(unread),
    )  # fmt: skip
    if result.verdict is Verdict.FAIL:
        report(Progress("reading the interface MTUs on the path"))
        points = await path_points(backend, src, dst)
        others = [h for h in dict.fromkeys(p.host for p in points) if h not in mtus]
        more, unread_more = await read_mtus(backend, others)
        mtus.update(more)
        found = culprit(points, mtus, pod_mtu, mode)
        notes = (*result.notes, *unread_more)
        result = dataclasses.replace(result, culprit=found, notes=notes)
    return result


async def run_mtu(
    backend: LabBackend, report: Report, source: str, target: str, timeout: float = PROBE_TIMEOUT
) -> MtuResult:
    """`fabrictui mtu --from SOURCE --to TARGET`: both are pods ([NS/]NAME)."""
    report(Progress("reading pods"))
    pods = await backend.list_pods()
    src, dst = find_pod(pods, source), find_pod(pods, target)
    return await measure(backend, report, src, dst, timeout)
