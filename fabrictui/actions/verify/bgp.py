"""The checks of a healthy lab in BGP mode (LAB.md "Scenario 2", docs/bgp-scenario.md).

1. leaf BGP sessions: each leaf Established with every spine and with every node of its
   rack (dynamic neighbours from the listen range), none held by `(Policy)`, no others;
2. nodes Ready; 3. Calico running; 4. nginx replicas: as in VXLAN mode;
5. node BGP sessions: each node's BIRD has its session with its leaf Established, and
   no node-to-node mesh session (the mesh is off);
6. pod blocks on the fabric: every node's /26 blocks on its own leaf via the node, on the
   other leaves over every spine (ECMP) and on every spine via the node's leaf;
7. cross-rack ping: a rack-2 pod pings a rack-1 pod;
8. native on the wire: on the sending node's eth0 the echoes are plain ICMP between the
   pod IPs, and no VXLAN frame (UDP 4789) crosses it.
"""

from __future__ import annotations

import asyncio

from fabrictui.actions.ping.capture import ping_capturing
from fabrictui.actions.progress import Progress, Report
from fabrictui.actions.verify.checks import (
    CALICO_RUNNING,
    NODES_READY,
    REPLICAS,
    api_unread,
    check_calico,
    check_nodes,
    check_replicas,
    choose_ping_pair,
    not_observed,
    reporting,
    workload_running,
)
from fabrictui.actions.verify.diagnose import LabSnapshot, diagnose_ping, take_snapshot
from fabrictui.actions.verify.observed import (
    capture_not_observed,
    judge_unread,
    nothing_answered,
    program_missing,
    unprobed,
    verdict,
    why_unread,
)
from fabrictui.backends.base import BackendError, DemoWorkload, LabBackend, TelemetryCut
from fabrictui.intent.bgp_sessions import analyze_sessions
from fabrictui.intent.labshape import bgp_expected_sessions, node_peerings
from fabrictui.model import CheckResult, KubePod, Role, VxlanFrame, is_native
from fabrictui.parsers.routes import Route

CHECKS_BGP = (
    "leaf BGP sessions",
    NODES_READY,
    CALICO_RUNNING,
    REPLICAS,
    "node BGP sessions",
    "pod blocks on the fabric",
    "cross-rack ping",
    "native on the wire",
)
NATIVE_BPF = "icmp or udp port {port}"


async def detect_mode(backend: LabBackend) -> str:
    """ "bgp" or "vxlan", from the cluster's IPPools; a cluster without Calico is checked
    as VXLAN (the scenario before it), and fails there saying Calico is not deployed."""
    try:
        mode = await backend.calico_mode()
    except BackendError:
        mode = None
    return "bgp" if mode == "bgp" else "vxlan"


def check_leaf_sessions(snap: LabSnapshot, crossing: bool = False) -> CheckResult:
    """Each leaf's sessions as it reports them; a leaf that cannot be read is judged by
    what its spines see (`observed.judge_unread`); `crossing`: the cross-rack ping answered."""
    name = CHECKS_BGP[0]
    expected = bgp_expected_sessions(snap.shape)
    if not expected:
        return CheckResult(name, False, (), "no leaves or spines in this lab")
    all_leaves = [h.name for h in snap.hosts if h.role is Role.LEAF]
    unread = [leaf for leaf in all_leaves if why_unread(snap, leaf)]
    leaves = [leaf for leaf in all_leaves if leaf not in unread]
    readings = {leaf: r for leaf, r in snap.readings.items() if leaf in leaves}
    analysis = analyze_sessions(
        readings, [p for p in expected if p[0] in leaves], dict(snap.info.peer_addresses)
    )
    evidence = []
    for v in analysis.verdicts:
        p = v.peer
        kind = "dynamic " if p.dynamic else ""
        pfx = f", {p.prefixes_received} prefixes" if p.prefixes_received is not None else ""
        policy = " (Policy)" if p.policy_blocked else ""
        evidence.append(
            f"{v.switch}: {kind}{v.peer_host or p.neighbor}({p.neighbor}) AS{p.remote_as} "
            f"{p.state}{policy} {p.uptime}{pfx}"
        )
    problems = [p for p in analysis.problems() if p.split(":", 1)[0] in leaves]
    for leaf in leaves:
        if leaf not in readings:
            problems.append(f"{leaf}: not read")
    if problems:
        return CheckResult(name, False, tuple(evidence), "; ".join(problems))
    # a leaf's sessions with its nodes are seen from the nodes' BIRD (check 5); those with
    # the spines from the spines' summaries
    return verdict(name, evidence, [], judge_unread(snap, unread, crossing))


async def check_node_sessions(backend: LabBackend, snap: LabSnapshot) -> CheckResult:
    name = CHECKS_BGP[4]
    peerings = node_peerings(snap.shape)
    if not peerings:
        return CheckResult(name, False, (), "no nodes with a leaf in this lab")
    evidence: list[str] = []
    problems: list[str] = []
    unseen: list[str] = []  # the telemetry could not see the node: nothing said of it

    async def read(node: str) -> tuple[str, list | str | TelemetryCut]:
        try:
            return node, await backend.node_bgp_status(node)
        except TelemetryCut as cut:
            return node, cut
        except BackendError as err:
            return node, str(err)

    answers = dict(await asyncio.gather(*(read(p.node) for p in peerings)))
    for peering in peerings:
        answer = answers[peering.node]
        if isinstance(answer, TelemetryCut):
            unseen.append(f"{peering.node}: BIRD not seen ({answer})")
            continue
        if isinstance(answer, str):
            problems.append(f"{peering.node}: BIRD not readable ({answer})")
            continue
        bgp = [p for p in answer if p.proto == "BGP"]
        to_leaf = [p for p in bgp if p.peer_address == peering.leaf_address]
        for proto in bgp:
            evidence.append(
                f"{peering.node}: {proto.name} {proto.state} {proto.since} {proto.info}".rstrip()
            )
        if not to_leaf:
            problems.append(
                f"{peering.node}: no BGP session to {peering.leaf} ({peering.leaf_address}) in"
                " BIRD (no BGPPeer selects this node?)"
            )
        elif not any(p.established for p in to_leaf):
            problems.append(
                f"{peering.node}: session to {peering.leaf} is {to_leaf[0].state}"
                f" ({to_leaf[0].info or 'no info'})"
            )
        mesh = [p for p in bgp if p.name.startswith("Mesh_")]
        if mesh:
            problems.append(
                f"{peering.node}: {len(mesh)} node-to-node mesh sessions: the mesh is still on"
                " (BGPConfiguration nodeToNodeMeshEnabled)"
            )
    if problems:
        return CheckResult(name, False, tuple(evidence), "; ".join(problems))
    if unseen and len(unseen) == len(peerings):
        return CheckResult.not_observed(name, "; ".join(unseen), tuple(evidence))
    return CheckResult(name, True, tuple(evidence), unseen=tuple(unseen))


def expected_block_hops(snap: LabSnapshot, switch: str, node: str) -> tuple[str, int]:
    """(what the next hops must be, how many) for `node`'s blocks on `switch`."""
    shape = snap.shape
    leaf = shape.leaf_of(node)
    host = shape.host(node)
    if switch == leaf:
        return (host.address if host else "") or "", 1
    if any(h.name == switch for h in shape.spines):
        return f"via {leaf}", 1
    return "via the spines", len(shape.spines)


async def check_blocks(backend: LabBackend, snap: LabSnapshot) -> CheckResult:
    name = CHECKS_BGP[5]
    switches = [h.name for h in snap.hosts if h.role.is_switch]
    blocks = {n.name: n.calico_blocks for n in snap.nodes if n.calico_blocks}
    if not blocks:
        return CheckResult(name, False, (), "no node has a Calico block yet")

    async def read(switch: str) -> tuple[str, list[Route] | str]:
        try:
            return switch, await backend.switch_routes(switch)
        except BackendError as err:
            return switch, str(err)

    tables = dict(await asyncio.gather(*(read(s) for s in switches)))
    evidence: list[str] = []
    problems: list[str] = []
    for switch in switches:
        table = tables[switch]
        if isinstance(table, str):
            problems.append(f"{switch}: routes not readable ({table})")
            continue
        selected = {r.prefix: r for r in table if r.selected}
        present = 0
        for node, node_blocks in sorted(blocks.items()):
            want, count = expected_block_hops(snap, switch, node)
            for block in node_blocks:
                route = selected.get(block)
                if route is None:
                    problems.append(f"{switch}: no route to {block} ({node})")
                    continue
                present += 1
                hops = ", ".join(
                    f"{h.ip or 'direct'} {h.interface or ''}".strip() for h in route.nexthops
                )
                if (
                    want
                    and not want.startswith("via")
                    and want not in [h.ip for h in route.nexthops]
                ):
                    problems.append(f"{switch}: {block} goes via {hops}, not via {node} ({want})")
                elif route.ecmp < count:
                    problems.append(
                        f"{switch}: {block} ({node}) has {route.ecmp} of {count} next hops"
                        f" ({hops}): no ECMP over every spine"
                    )
        evidence.append(f"{switch}: {present} pod blocks routed by BGP")
    if problems:
        return CheckResult(name, False, tuple(evidence), "; ".join(problems[:6]))
    return CheckResult(name, True, tuple(evidence))


def echo_type(frame: VxlanFrame) -> int | None:
    """The ICMP type of a native (not encapsulated) echo; None for anything else."""
    if not is_native(frame) or frame.proto != "ICMP":
        return None
    return frame.icmp_type


def check_native(
    frames: list[VxlanFrame], src: KubePod, dst: KubePod, node: str, port: int, where: str = ""
) -> CheckResult:
    """`where`: the capture point when not the node's eth0 (a leaf port facing it)."""
    name = CHECKS_BGP[7]
    at = where or f"{node} eth0"
    requests = [
        f for f in frames if f.outer_src == src.ip and f.outer_dst == dst.ip and echo_type(f) == 8
    ]
    replies = [
        f for f in frames if f.outer_src == dst.ip and f.outer_dst == src.ip and echo_type(f) == 0
    ]
    vxlan = [f for f in frames if f.is_vxlan or port in (f.udp_src, f.udp_dst)]
    evidence = [
        f"{len(frames)} frames on {at}: {len(requests)} native echo requests, "
        f"{len(replies)} replies between {src.ip} and {dst.ip}, {len(vxlan)} VXLAN frames"
    ]
    evidence += [
        f"{f.outer_src} > {f.outer_dst}: {f.note}, length {f.length}" for f in requests[:1]
    ]
    problems = []
    if vxlan:
        problems.append(f"{len(vxlan)} VXLAN frames (UDP {port}) on {at}: still encapsulating")
    if not requests:
        problems.append(f"no native echo request {src.ip} > {dst.ip} seen on {at}")
    elif not replies:
        problems.append(f"no native echo reply {dst.ip} > {src.ip} seen on {at}")
    if problems:
        return CheckResult(name, False, tuple(evidence), "; ".join(problems))
    return CheckResult(name, True, tuple(evidence))


async def check_ping_native(
    backend: LabBackend,
    snap: LabSnapshot,
    pods: list[KubePod],
    pair: tuple[KubePod, KubePod] | None,
    report: Report,
    count: int,
    timeout: float,
) -> tuple[CheckResult, CheckResult]:
    if pair is None:
        if snap.errors:  # the pods could not be read: nothing to ping with, nothing seen wrong
            unread = api_unread(CHECKS_BGP[6], snap)
            assert unread is not None
            return unread, CheckResult.not_observed(CHECKS_BGP[7], "cannot run: no cross-rack ping")
        why = "cannot run: needs Running nginx pods on two racks (check 4)"
        return (
            CheckResult(CHECKS_BGP[6], False, (), why),
            CheckResult(CHECKS_BGP[7], False, (), "cannot run: no cross-rack ping (check 7)"),
        )
    src, dst = pair
    assert src.node is not None and dst.ip is not None
    report(Progress(f"pinging {dst.ip} ({dst.name}) from {src.name}, capturing on {src.node}"))
    port = snap.info.vxlan_port
    result, frames, error, where = await ping_capturing(
        backend, src.node, src, dst.ip, count, timeout, NATIVE_BPF.format(port=port), port
    )
    line = f"{src.name} ({src.node}) → {dst.ip} ({dst.name}, {dst.node}): "
    line += f"{result.received}/{result.transmitted} replies"
    line += f", ttl {result.ttl}" if result.ttl is not None else ""
    line += f" (via {result.via})"
    if result.not_probed is not None:
        names = (CHECKS_BGP[6], CHECKS_BGP[7])
        return program_missing(names, result.not_probed, line, snap, src.node, error)
    if result.ok:
        ping = CheckResult(CHECKS_BGP[6], True, (line,))
    else:
        cause = diagnose_ping(snap, src, dst.ip, result) or result.error or "no replies"
        ping = CheckResult(CHECKS_BGP[6], False, (line,), cause)
        if unprobed(result, cause):
            why = f"the ping could not run: {cause}"
            ping = CheckResult.not_observed(CHECKS_BGP[6], why, (line,))
    if error and snap.info.not_observed:
        return ping, not_observed(CHECKS_BGP[7], snap.info, f"no capture on {src.node} eth0: ")
    if error:
        return ping, capture_not_observed(CHECKS_BGP[7], snap, src.node, error, line, result.ok)
    if not ping.observed:
        why = "cannot run: the ping of check 7 could not run"
        return ping, CheckResult.not_observed(CHECKS_BGP[7], why)
    if not result.ok:
        why = "cannot run: the ping of check 7 got no replies"
        return ping, CheckResult(CHECKS_BGP[7], False, (), why)
    return ping, check_native(frames, src, dst, src.node, port, where)


async def verify_bgp(
    backend: LabBackend,
    report: Report,
    workload: DemoWorkload | None = None,
    replicas: int = 4,
    ping_count: int = 3,
    ping_timeout: float = 10.0,
    snap: LabSnapshot | None = None,
) -> list[CheckResult]:
    """BGP mode's eight checks, on `snap` (read here when not given)."""
    wl = workload or DemoWorkload()
    if snap is None:
        report(Progress("reading the lab (BGP mode)", 0.0))
        snap = await take_snapshot(backend)
    silent = nothing_answered(snap)
    if silent is not None:
        raise BackendError(silent)
    results: list[CheckResult] = []
    add = reporting(results, report, len(CHECKS_BGP))

    # no switch inventory: no leaves to hold sessions or blocks, no leaf a node peers with
    blind = bool(snap.info.not_observed)
    add(not_observed(CHECKS_BGP[0], snap.info) if blind else check_leaf_sessions(snap))
    add(check_nodes(snap))
    add(check_calico(snap))
    add(check_replicas(snap, wl, replicas))
    add(
        not_observed(CHECKS_BGP[4], snap.info)
        if blind
        else await check_node_sessions(backend, snap)
    )
    add(not_observed(CHECKS_BGP[5], snap.info) if blind else await check_blocks(backend, snap))
    pods = workload_running(snap, wl)
    async with asyncio.timeout(ping_timeout + 30.0):
        ping, wire = await check_ping_native(
            backend, snap, pods, choose_ping_pair(snap, pods), report, ping_count, ping_timeout
        )
    add(ping)
    add(wire)
    if results[0].unseen and ping.passed:
        # the ping crossed the fabric: a switch seen up by its peers forwards too
        results[0] = check_leaf_sessions(snap, crossing=True)
    return results
