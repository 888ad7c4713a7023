"""Verify's "path MTU" check: full-size packets for the pod MTU cross between racks with
"don't fragment" set, in both Calico modes (docs/mtu.md).

Every ordered pair of the workload's pods in different racks sends one DF ping as large as
the pod MTU allows (ECMP sends pairs through different spines, so one pair alone could miss
a port). The first pair that can be probed is measured in full (the pod MTU read from its
interface), so a node without SSH leaves only its own pairs unseen; when a
pair's full-size ping dies, that pair is searched for the largest size that crosses and the
interface too small for it. A pair no probe could run from is not observed, never failed."""

from __future__ import annotations

import asyncio
import itertools

from fabrictui.actions.change.scale import belongs
from fabrictui.actions.mtu.result import MtuResult, overhead
from fabrictui.actions.mtu.run import PROBE_TIMEOUT, measure
from fabrictui.actions.progress import Progress, Report
from fabrictui.actions.verify.diagnose import LabSnapshot
from fabrictui.backends.base import DemoWorkload, LabBackend
from fabrictui.model import CheckResult, KubePod, Verdict

NAME = "path MTU"


def cross_rack_pairs(snap: LabSnapshot, workload: DemoWorkload) -> list[tuple[KubePod, KubePod]]:
    pods = sorted(
        (
            p
            for p in snap.pods
            if belongs(p, workload.namespace, workload.deployment) and p.running and p.ip
        ),
        key=lambda p: p.key,
    )
    return [
        (a, b)
        for a, b in itertools.permutations(pods, 2)
        if snap.rack_of_node(a.node) is not None
        and snap.rack_of_node(b.node) is not None
        and snap.rack_of_node(a.node) != snap.rack_of_node(b.node)
    ]


def _failed(result: MtuResult, pairs: int, dead: int) -> CheckResult:
    packet = (result.largest_ok or 0) + 28
    cause = (
        f"{dead}/{pairs} cross-rack pairs lose {result.pod_mtu}-byte DF packets "
        f"({_pair(result)}: largest that crossed {packet} bytes); where: {result.where()}. "
        f"{result.advice()}"
    )
    return CheckResult(NAME, False, _evidence(result), cause)


def _pair(result: MtuResult) -> str:
    return f"{result.source.rsplit('/', 1)[-1]} -> {result.target_ip}"


def _evidence(result: MtuResult) -> tuple[str, ...]:
    read = "read from the pod's interface" if result.pod_mtu_read else "not read: assumed"
    lines = [
        f"pod MTU {result.pod_mtu} ({read}); the underlay must carry {result.underlay_needs}"
        + (f" (VXLAN adds {overhead(result.mode)})" if overhead(result.mode) else ""),
        f"{_pair(result)}: DF pings " + ", ".join(
            f"{p.size}{'+' if p.crossed else ('?' if not p.probed else 'x')}"
            for p in result.probes
        ) + " (+ crossed, x died)",
    ]  # fmt: skip
    if result.reported_mtu is not None:
        lines.append(f"too big, said {result.reported_by}: mtu {result.reported_mtu}")
    return tuple(lines + list(result.notes))


async def check_path_mtu(
    backend: LabBackend, snap: LabSnapshot, workload: DemoWorkload, report: Report
) -> CheckResult:
    pairs = cross_rack_pairs(snap, workload)
    if not pairs:
        return CheckResult.not_observed(
            NAME, f"no two Running pods of {workload.namespace}/{workload.deployment} in "
            "different racks: nothing to send across the fabric",
        )  # fmt: skip
    # measured in full: the first pair that can be probed (a node without SSH, or a pod
    # without ping, leaves its pairs unprobed, not the whole check)
    first = None
    for src_node in dict.fromkeys(a.node for a, _ in pairs):
        pair = next((a, b) for a, b in pairs if a.node == src_node)
        report(Progress(f"path MTU: {pair[0].short_name} -> {pair[1].short_name}"))
        first = await measure(backend, report, *pair)
        if first.not_probed is None:
            break
    assert first is not None
    if first.verdict is Verdict.NOT_OBSERVED:
        why = first.not_probed or (
            "no echo crossed at any size: not a question of size (the ping checks say why)"
        )
        return CheckResult.not_observed(NAME, f"{_pair(first)}: {why}", _evidence(first))
    full = first.full_size

    async def one(src: KubePod, dst: KubePod) -> tuple[KubePod, KubePod, bool, bool]:
        r = await backend.probe(src, dst.ip or "", 1, full, PROBE_TIMEOUT, df=True)
        return src, dst, r.probed, r.received > 0

    measured = (first.source, first.target)
    others = [(a, b) for a, b in pairs if (a.key, b.key) != measured]
    rest = await asyncio.gather(*(one(a, b) for a, b in others))
    dead = [(a, b) for a, b, probed, crossed in rest if probed and not crossed]
    unprobed = [f"{a.short_name} -> {b.short_name}" for a, b, probed, _ in rest if not probed]
    total = len(pairs)
    if first.verdict is Verdict.FAIL:
        return _failed(first, total, 1 + len(dead))
    if dead:
        result = await measure(backend, report, *dead[0])
        if result.verdict is Verdict.FAIL:
            return _failed(result, total, len(dead))
    probed = total - len(unprobed) - len(dead)
    evidence = (
        *_evidence(first),
        f"{probed}/{total} cross-rack pairs: {full}-byte DF pings "
        f"({first.pod_mtu}-byte packets) crossed",
    )
    if unprobed:
        cause = f"not probed: {', '.join(unprobed)}"
        return CheckResult(NAME, True, evidence, None, unseen=(cause,))
    return CheckResult(NAME, True, evidence)
