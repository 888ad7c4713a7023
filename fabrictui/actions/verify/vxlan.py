"""The six checks of LAB.md ("What a healthy lab shows"), on any backend.

1. each leaf has exactly two Established sessions, one to each spine, no others;
2. every node is Ready;
3. calico-node Running on every node, calico-kube-controllers Running;
4. nginx-deployment at 4 replicas on 4 distinct nodes;
5. a rack-2 pod pings a rack-1 pod (replies, ttl, rtt);
6. the ping crosses the sending node's eth0 as VXLAN (outer node IPs, UDP
   4789, flags 0x08, VNI 4096, 148 bytes; inner pod IPs, ICMP echo, 98 bytes),
   decoded from a capture taken while pinging.

Each result carries evidence lines and, when it fails, a one-line cause. A lab that
gives nothing to look at for a check (a cluster known only from its kubeconfig has no
switches, no SSH to its nodes) makes it "not observed", saying why: not a failure.
"""

from __future__ import annotations

from fabrictui.actions.ping.capture import ping_capturing
from fabrictui.actions.progress import Progress, Report
from fabrictui.actions.trace.run import TraceResult, run_trace
from fabrictui.actions.verify.checks import (
    CALICO_RUNNING,
    NODES_READY,
    REPLICAS,
    api_unread,
    choose_ping_pair,
    not_observed,
    workload_running,
)
from fabrictui.actions.verify.diagnose import (
    LabSnapshot,
    diagnose_ping,
    expected_sessions,
    leaf_sessions,
    take_snapshot,
)
from fabrictui.actions.verify.observed import (
    capture_not_observed,
    judge_unread,
    powered_off,
    program_missing,
    unprobed,
    verdict,
    why_unread,
)
from fabrictui.backends.base import BackendError, DemoWorkload, LabBackend
from fabrictui.model import CheckResult, KubePod, Role, VxlanFrame

CHECKS = (
    "leaf BGP sessions",
    NODES_READY,
    CALICO_RUNNING,
    REPLICAS,
    "cross-rack ping",
    "VXLAN on the wire",
)
OUTER_LENGTH = 148
INNER_LENGTH = 98
VXLAN_FLAGS = 0x08


def check_sessions(snap: LabSnapshot, crossing: bool = False) -> CheckResult:
    """Each leaf's sessions as it reports them; a switch that cannot be read is judged by
    its peers' view of the same sessions (`observed.judge_unread`); `crossing`: the
    cross-rack ping got its replies (so the fabric forwards)."""
    expected = expected_sessions(snap.info, snap.hosts)
    evidence: list[str] = []
    problems: list[str] = []
    if not expected and snap.info.not_observed:
        return not_observed(CHECKS[0], snap.info)
    if not expected:
        return CheckResult(CHECKS[0], False, (), "no leaves or spines in this lab")
    spines = [h.name for h in snap.hosts if h.role is Role.SPINE]
    unread_leaves = [leaf for leaf in sorted(expected) if why_unread(snap, leaf)]
    for leaf, leaf_spines in sorted(expected.items()):
        if leaf in unread_leaves:
            continue  # judged by what its spines see, below
        view = leaf_sessions(leaf, snap.readings.get(leaf), leaf_spines, snap.info)
        evidence += view.evidence
        problems += view.problems
    problems += powered_off(snap, spines)
    unread = judge_unread(snap, [*unread_leaves, *spines], crossing)
    return verdict(CHECKS[0], evidence, problems, unread)


def describe_frame(f: VxlanFrame) -> str:
    kind = {8: "echo request", 0: "echo reply"}.get(
        -1 if f.icmp_type is None else f.icmp_type, f"type {f.icmp_type}"
    )
    return (
        f"{f.outer_src}.{f.udp_src} > {f.outer_dst}.{f.udp_dst}: VXLAN, flags 0x{f.flags or 0:02x},"
        f" vni {f.vni}, length {f.length} | {f.inner_src} > {f.inner_dst}: {f.proto} {kind},"
        f" id {f.icmp_id}, seq {f.icmp_seq}, length {f.inner_length}"
    )


def check_frames(
    frames: list[VxlanFrame],
    src: KubePod,
    dst: KubePod,
    src_ip: str,
    dst_ip: str,
    vni: int,
    port: int,
    node: str,
    where: str = "",
) -> CheckResult:
    """`where`: the capture point when not the node's eth0 (a leaf port facing it)."""
    name = CHECKS[5]
    at = where or f"{node} eth0"
    requests = [
        f
        for f in frames
        if f.is_vxlan and f.inner_src == src.ip and f.inner_dst == dst.ip and f.icmp_type == 8
    ]
    replies = [
        f
        for f in frames
        if f.is_vxlan and f.inner_src == dst.ip and f.inner_dst == src.ip and f.icmp_type == 0
    ]
    evidence = [
        f"{len(frames)} frames captured on {at}: {len(requests)} echo requests, "
        f"{len(replies)} echo replies between {src.ip} and {dst.ip}"
    ]
    if not requests:
        return CheckResult(
            name,
            False,
            tuple(evidence),
            f"no VXLAN echo request {src.ip} > {dst.ip} seen on {at}",
        )
    problems: list[str] = []
    for label, frame, outer in (
        ("request", requests[0], (src_ip, dst_ip)),
        ("reply", replies[0] if replies else None, (dst_ip, src_ip)),
    ):
        if frame is None:
            problems.append(f"no VXLAN echo reply {dst.ip} > {src.ip} seen on {at}")
            continue
        evidence.append(f"{label}: {describe_frame(frame)}")
        expect = {
            "outer IPs": ((frame.outer_src, frame.outer_dst), outer),
            "UDP destination port": (frame.udp_dst, port),
            "VXLAN flags": (frame.flags, VXLAN_FLAGS),
            "VNI": (frame.vni, vni),
            "outer length": (frame.length, OUTER_LENGTH),
            "inner length": (frame.inner_length, INNER_LENGTH),
            "inner protocol": (frame.proto, "ICMP"),
        }
        for what, (got, want) in expect.items():
            if got != want:
                problems.append(f"{label} {what} is {_show(got)}, expected {_show(want)}")
    if problems:
        return CheckResult(name, False, tuple(evidence), "; ".join(problems))
    return CheckResult(name, True, tuple(evidence))


async def _trace_pair(
    backend: LabBackend, report: Report, src: KubePod, dst: KubePod, timeout: float
) -> TraceResult | None:
    """A path trace of the failed pair (None where the lab cannot trace)."""
    report(Progress(f"tracing {src.name} -> {dst.name}: where do the echoes stop?"))
    try:
        return await run_trace(backend, _quiet, src.key, dst.key, count=2, timeout=timeout)
    except (BackendError, TimeoutError):
        return None


def _quiet(progress: Progress) -> None:
    """The trace's own steps are not verify's progress."""


def _trace_evidence(traced: TraceResult | None) -> tuple[str, ...]:
    if traced is None:
        return ()
    lost = traced.lost_at
    where = f"lost at {lost.label} ({lost.direction})" if lost else "no point went dark"
    lines = [f"trace: {where}" + (f": {traced.cause}" if traced.cause else "")]
    return (*lines, *(f"trace: {line}" for line in traced.evidence))


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return " > ".join(map(str, value))
    if isinstance(value, int) and value == VXLAN_FLAGS:
        return f"0x{value:02x}"
    return str(value)


async def check_ping_and_wire(
    backend: LabBackend,
    snap: LabSnapshot,
    wl: DemoWorkload,
    report: Report,
    count: int,
    timeout: float,
) -> tuple[CheckResult, CheckResult]:
    pods = workload_running(snap, wl)
    pair = choose_ping_pair(snap, pods)
    if pair is None:
        if snap.errors:  # the pods could not be read: nothing to ping with, nothing seen wrong
            unread = api_unread(CHECKS[4], snap)
            assert unread is not None
            return unread, CheckResult.not_observed(CHECKS[5], "cannot run: no cross-rack ping")
        why = f"cannot run: needs Running {wl.deployment} pods on two racks (check 4)"
        return (
            CheckResult(CHECKS[4], False, (), why),
            CheckResult(CHECKS[5], False, (), "cannot run: no cross-rack ping (check 5)"),
        )
    src, dst = pair
    assert src.node is not None and dst.node is not None and dst.ip is not None
    node_ips = {n.name: n.internal_ip for n in snap.nodes}
    report(
        Progress(
            f"pinging {dst.ip} ({dst.name} on {dst.node}) from {src.name} on {src.node}, "
            f"capturing on {src.node} eth0"
        )
    )
    port = snap.info.vxlan_port
    result, frames, capture_error, where = await ping_capturing(
        backend, src.node, src, dst.ip, count, timeout, f"udp port {port}", port
    )
    who = (
        f"{src.name} ({src.node}, rack {snap.rack_of_node(src.node)}) → {dst.ip} ({dst.name}, "
        f"{dst.node}, rack {snap.rack_of_node(dst.node)})"
    )
    rtt = (
        f", rtt min/avg/max {result.rtt_min_ms:.3f}/{result.rtt_avg_ms:.3f}/"
        f"{result.rtt_max_ms:.3f} ms"
        if result.rtt_min_ms is not None
        and result.rtt_avg_ms is not None
        and result.rtt_max_ms is not None
        else ""
    )
    line = (
        f"{who}: {result.received}/{result.transmitted} replies"
        + (f", ttl {result.ttl}" if result.ttl is not None else "")
        + rtt
    )
    line += f" (via {result.via})"
    traced: TraceResult | None = None
    if result.not_probed is not None:
        names = (CHECKS[4], CHECKS[5])
        return program_missing(names, result.not_probed, line, snap, src.node, capture_error)
    if result.ok:
        ping_check = CheckResult(CHECKS[4], True, (line,))
    else:
        try:
            fresh = await take_snapshot(backend)
        except (BackendError, TimeoutError):
            fresh = snap
        diagnosis = diagnose_ping(fresh, src, dst.ip, result)
        traced = await _trace_pair(backend, report, src, dst, timeout)
        # The trace reads the hop where the probe went dark; the snapshot only knows what the
        # lab says of itself (sessions, pods, faults it injected): when that finds nothing
        # specific, the trace's cause is the answer.
        generic = diagnosis is None or diagnosis.startswith("no reply from")
        cause = diagnosis
        if traced is not None and traced.cause and generic:
            cause = traced.cause
        cause = cause or result.error or "no replies"
        ping_check = CheckResult(CHECKS[4], False, (line, *_trace_evidence(traced)), cause)
        if unprobed(result, cause):
            ping_check = CheckResult.not_observed(
                CHECKS[4], f"the ping could not run: {cause}", ping_check.evidence
            )
    if capture_error and snap.info.not_observed:
        wire = not_observed(CHECKS[5], snap.info, f"no capture on {src.node} eth0: ")
    elif capture_error:
        wire = capture_not_observed(CHECKS[5], snap, src.node, capture_error, line, result.ok)
    elif not ping_check.observed:
        wire = CheckResult.not_observed(CHECKS[5], "cannot run: the ping of check 5 could not run")
    elif not result.ok:
        seen = sum(1 for f in frames if f.inner_src == src.ip and f.inner_dst == dst.ip)
        why = "cannot run: the ping of check 5 got no replies"
        lost = traced.lost_at if traced is not None else None
        if traced is not None and lost is not None:
            last = [h.point for h in traced.hops if h.seen]
            after = f", last seen at {last[-1].label} ({last[-1].direction})" if last else ""
            why += f"; the frames stopped at {lost.label} ({lost.direction}){after}"
        wire = CheckResult(CHECKS[5], False, (f"{seen} echo requests seen on {where}",), why)
    else:
        wire = check_frames(
            frames,
            src,
            dst,
            node_ips.get(src.node, ""),
            node_ips.get(dst.node, ""),
            snap.info.vni,
            snap.info.vxlan_port,
            src.node,
            where,
        )
    return ping_check, wire
