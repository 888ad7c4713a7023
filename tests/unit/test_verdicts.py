"""The third verdict (issue 28): a check that could not see is not a failure.

Snapshots come from the demo lab (the real conversions), then one machine's management SSH
is cut in them as the real backend reports it (state unreachable, the SSH error kept, its
BGP summary not read), or its BGP is really down as its peers see it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

from fabrictui.actions.ping.mesh import PingMatrix
from fabrictui.actions.progress import ignore
from fabrictui.actions.trace.model import HopState
from fabrictui.actions.trace.run import run_trace
from fabrictui.actions.verify.bgp import check_leaf_sessions
from fabrictui.actions.verify.checks import check_calico, check_nodes, check_replicas
from fabrictui.actions.verify.diagnose import LabSnapshot, take_snapshot
from fabrictui.actions.verify.observed import capture_not_observed, nothing_answered
from fabrictui.actions.verify.run import verify
from fabrictui.actions.verify.vxlan import CHECKS, check_sessions
from fabrictui.backends.base import BackendError, DemoWorkload
from fabrictui.commands._headless import EXIT_NOT_OBSERVED, exit_code
from fabrictui.commands.ping import to_json as ping_json
from fabrictui.commands.ping import to_table as ping_table
from fabrictui.commands.trace import to_text as trace_text
from fabrictui.commands.verify import to_json, to_table
from fabrictui.intent.liveness import management_cut
from fabrictui.model import (
    BgpSummary,
    CheckResult,
    KubePod,
    LabInfo,
    PingResult,
    SwitchReading,
    Verdict,
    VmState,
    WatchEvent,
    checks_verdict,
)
from fabrictui.render.checks import ping_cell
from fabrictui.render.common import Palette
from fabrictui.render.hosts import host_row
from fabrictui.session.state import LabState
from tests.demo_helpers import fast_backend

LAB = LabInfo("demo", "demo", source="--demo ready")  # which lab the outputs name

HUNG = "spine-sw1: no SSH answer from root@127.0.0.1:2201 within 5s"
REFUSED = (
    "k8s-node-l2-1: cannot connect to root@127.0.0.1:2205: connection refused (Connect call failed)"
)


def snapshot(scenario: str = "ready") -> LabSnapshot:
    async def take() -> LabSnapshot:
        backend = fast_backend(scenario)
        try:
            return await take_snapshot(backend)
        finally:
            await backend.close()

    return asyncio.run(take())


def cut(snap: LabSnapshot, host: str, error: str) -> LabSnapshot:
    hosts = tuple(
        dataclasses.replace(h, state=VmState.UNREACHABLE, ssh_error=error) if h.name == host else h
        for h in snap.hosts
    )
    readings = dict(snap.readings)
    if host in readings:
        readings[host] = SwitchReading(host, None, error, 0.0)
    return dataclasses.replace(snap, hosts=hosts, readings=readings)


def sessions_down_at_peers(snap: LabSnapshot, spine: str) -> LabSnapshot:
    """`spine`'s sessions as its peers see them when its BGP is really down."""
    readings = dict(snap.readings)
    for name, reading in snap.readings.items():
        if reading.summary is None or name == spine:
            continue
        peers = tuple(
            dataclasses.replace(p, state="Active", uptime="never", prefixes_received=None)
            if p.short_hostname == spine
            else p
            for p in reading.summary.peers
        )
        summary = BgpSummary(reading.summary.router_id, reading.summary.local_as, peers)
        readings[name] = dataclasses.replace(reading, summary=summary)
    return dataclasses.replace(snap, readings=readings)


def test_a_spine_without_ssh_whose_peers_see_it_up_passes_saying_what_was_not_seen() -> None:
    snap = cut(snapshot(), "spine-sw1", HUNG)
    result = check_sessions(snap)
    assert result.state is Verdict.PASS, result
    (line,) = result.unseen
    assert line.startswith("spine-sw1: management SSH not answering (no SSH answer from")
    assert "its sessions to leaf1 and leaf2 are Established as they see them" in line
    assert "only its management path is cut" in line
    assert "unreachable" not in line
    crossing = check_sessions(snap, crossing=True)
    assert "pod traffic crosses the fabric: the switch forwards" in crossing.unseen[0]
    assert checks_verdict([result]) is Verdict.NOT_OBSERVED
    assert exit_code(checks_verdict([result])) == EXIT_NOT_OBSERVED == 3


def test_a_spine_without_ssh_whose_bgp_is_down_fails_as_before() -> None:
    snap = sessions_down_at_peers(cut(snapshot(), "spine-sw1", HUNG), "spine-sw1")
    result = check_sessions(snap)
    assert result.state is Verdict.FAIL
    assert "leaf1: session to spine-sw1" in (result.cause or "")
    assert "leaf1 sees its session to spine-sw1 Active" in (result.cause or "")
    assert exit_code(checks_verdict([result])) == 1


def test_a_leaf_without_ssh_is_judged_by_its_spines() -> None:
    snap = cut(snapshot(), "leaf2", "leaf2: no SSH answer from root@127.0.0.1:2204 within 5s")
    result = check_sessions(snap)
    assert result.state is Verdict.PASS, result
    assert any(
        u.startswith("leaf2:") and "spine-sw1 and spine-sw2 are Established" in u
        for u in result.unseen
    ), result.unseen


def test_nothing_left_to_decide_is_not_observed_not_failed() -> None:
    snap = snapshot()
    for switch in ("spine-sw1", "spine-sw2", "leaf1", "leaf2"):
        snap = cut(snap, switch, f"{switch}: no SSH answer from x within 5s")
    result = check_sessions(snap)
    assert result.state is Verdict.NOT_OBSERVED, result
    assert result.passed is False
    assert "no peer that answered has a session with it" in (result.cause or "")
    assert exit_code(checks_verdict([result])) == 3


def test_bgp_mode_judges_an_unread_leaf_by_its_spines() -> None:
    snap = cut(snapshot("ready-bgp"), "leaf1", "leaf1: no SSH answer from x within 5s")
    result = check_leaf_sessions(snap)
    assert result.state is Verdict.PASS, result
    assert result.unseen and result.unseen[0].startswith("leaf1: management SSH not answering")


def test_a_capture_cut_by_refused_ssh_is_not_observed_and_says_the_node_works() -> None:
    snap = cut(snapshot(), "k8s-node-l2-1", REFUSED)
    error = f"cannot capture on k8s-node-l2-1: {REFUSED}"
    line = "pod a (k8s-node-l2-1) → 10.65.76.193: 3/3 replies, ttl 62"
    result = capture_not_observed(CHECKS[5], snap, "k8s-node-l2-1", error, line, True)
    assert result.state is Verdict.NOT_OBSERVED
    cause = result.cause or ""
    assert cause.startswith("k8s-node-l2-1: management SSH refused (cannot connect to")
    assert "3/3 replies" in cause and "the API says it is Ready" in cause
    assert cause.endswith("the node works, only its management path is cut")


def test_management_cut_words() -> None:
    host = cut(snapshot(), "spine-sw1", HUNG).host("spine-sw1")
    assert host is not None
    assert management_cut(host) == (
        "management SSH not answering (no SSH answer from root@127.0.0.1:2201 within 5s)"
    )
    running = dataclasses.replace(host, state=VmState.RUNNING, ssh_error=None)
    assert management_cut(running) is None


def test_json_and_table_carry_the_three_verdicts() -> None:
    results = [
        CheckResult("a", True),
        CheckResult("b", True, unseen=("spine-sw1: management SSH not answering",)),
        CheckResult.not_observed("c", "cannot capture"),
        CheckResult("d", False, (), "broken"),
    ]
    checks = json.loads(to_json(LAB, results))["checks"]
    assert [c["state"] for c in checks] == ["pass", "pass", "not_observed", "fail"]
    assert [c["passed"] for c in checks] == [True, True, False, False]
    assert checks[1]["unseen"] == ["spine-sw1: management SSH not answering"]
    table = to_table(LAB, results)
    assert "3. c  NOT OBSERVED" in table and "     why: cannot capture" in table
    assert "not seen: spine-sw1: management SSH not answering" in table
    assert table.endswith("2/4 checks passed, 1 not observed")
    assert exit_code(checks_verdict(results)) == 1
    assert exit_code(checks_verdict(results[:3])) == 3
    assert exit_code(checks_verdict(results[:1])) == 0


# -- the ping matrix and the trace: a pair or a point that could not be probed -------------


def pod(name: str, ip: str, node: str) -> KubePod:
    return KubePod("space1", name, 1, 1, "Running", 0, 0.0, ip, node, "nginx-deployment")


def matrix_with(second: PingResult) -> PingMatrix:
    a, b = pod("a", "10.64.0.1", "k8s-node-l1-1"), pod("b", "10.64.1.1", "k8s-node-l2-1")
    ok = PingResult(a.key, "10.64.1.1", 3, 3, 1.0, 1.0, 1.0, 62)
    return PingMatrix((a, b), {(a.key, b.key): ok, (b.key, a.key): second})


def test_a_pair_that_could_not_be_probed_is_not_observed() -> None:
    never = PingResult.failed("space1/b", "10.64.0.1", "exec in space1/b: API timed out")
    matrix = matrix_with(never)
    assert never.verdict is Verdict.NOT_OBSERVED and not never.probed
    assert matrix.verdict is Verdict.NOT_OBSERVED
    assert exit_code(matrix.verdict) == 3
    assert matrix.counts() == "1 of 2 pairs not probed"
    out = json.loads(ping_json(LAB, matrix))
    assert out["state"] == "not_observed" and out["all_ok"] is False
    assert [r["state"] for r in out["results"]] == ["pass", "not_observed"]
    table = ping_table(LAB, matrix)
    assert "no probe" in table and "NOT OBSERVED b -> a" in table
    assert "\n1/2 pairs ok, 1 not probed, via pod" in table
    palette = Palette()
    cell = ping_cell(never, True, palette)
    assert cell.plain == "x no probe" and cell.style == palette.unseen != palette.bad


def test_a_pair_whose_echoes_were_lost_still_fails() -> None:
    lost = PingResult("space1/b", "10.64.0.1", 3, 0, None, None, None)
    matrix = matrix_with(lost)
    assert matrix.verdict is Verdict.FAIL and exit_code(matrix.verdict) == 1
    assert "FAIL b -> a" in ping_table(LAB, matrix)


async def test_a_trace_delivered_past_a_point_it_could_not_watch_is_not_observed() -> None:
    backend = fast_backend("ready", speed=200.0)
    await backend.start()
    try:
        pods = await backend.list_pods("space1")
        src = next(p for p in pods if p.node == "k8s-node-l2-1")
        dst = next(p for p in pods if p.node == "k8s-node-l1-2")
        result = await run_trace(backend, ignore, src.key, dst.key)
    finally:
        await backend.close()
    assert result.verdict is Verdict.PASS and exit_code(result.verdict) == 0
    hops = list(result.hops)
    at = next(i for i, h in enumerate(hops) if h.point.host == "leaf2")
    hops[at] = dataclasses.replace(hops[at], state=HopState.UNOBSERVED, sighting=None)
    blind = dataclasses.replace(
        result, correlation=dataclasses.replace(result.correlation, hops=tuple(hops))
    )
    assert blind.delivered and blind.verdict is Verdict.NOT_OBSERVED
    assert exit_code(blind.verdict) == 3
    assert blind.to_json()["state"] == "not_observed"
    assert f"NOT OBSERVED: leaf2 {hops[at].point.interface}" in trace_text(LAB, blind)
    never = dataclasses.replace(
        result,
        correlation=dataclasses.replace(
            result.correlation,
            hops=tuple(dataclasses.replace(h, state=HopState.UNOBSERVED) for h in hops),
            delivered=False,
            replied=False,
            lost_at=None,
        ),
        ping_ok=False,
        probed=False,
    )
    assert never.verdict is Verdict.NOT_OBSERVED
    lost = dataclasses.replace(never, probed=True)
    assert lost.verdict is Verdict.FAIL


async def test_a_cross_rack_ping_that_could_not_run_is_not_observed() -> None:
    """The API would not run the exec: nothing is known of the path, nothing failed."""
    backend = fast_backend("ready", speed=200.0)
    await backend.start()

    async def no_exec(*_args, **_kwargs) -> PingResult:
        raise BackendError("exec in space1/x: the API server is not answering")

    backend.ping = no_exec  # type: ignore[method-assign]
    backend.probe = no_exec  # type: ignore[method-assign]
    try:
        results = await verify(backend, ignore, ping_timeout=2.0)
    finally:
        await backend.close()
    ping, wire = results[4], results[5]
    assert ping.state is Verdict.NOT_OBSERVED, ping
    assert (ping.cause or "").startswith("the ping could not run: exec in space1/x")
    assert wire.state is Verdict.NOT_OBSERVED, wire
    assert [r.state for r in results[:4]] == [Verdict.PASS] * 4
    assert exit_code(checks_verdict(results)) == 3


# -- the VMs pane: "running, no SSH", for how long, and why -------------------------------


def test_the_vm_pane_says_running_no_ssh_when_the_fabric_and_the_api_say_so() -> None:
    snap = cut(cut(snapshot(), "spine-sw1", HUNG), "k8s-node-l2-1", REFUSED)
    now = [1000.0]
    state = LabState(snap.info, lambda: now[0])
    state.set_readings(snap.readings)
    state.apply_node_event(WatchEvent("RELIST", items=snap.nodes))
    state.set_hosts(list(snap.hosts))
    now[0] += 30.0
    state.set_hosts(list(snap.hosts))  # a later poll: still cut, since the first
    palette = Palette()
    rows = {h.name: host_row(h, palette, state.management_view(h)) for h in state.hosts}
    spine, node = rows["spine-sw1"], rows["k8s-node-l2-1"]
    assert spine[3].plain == "running, no SSH 30s" and spine[3].style == palette.unseen
    assert spine[5].plain.startswith("management SSH not answering (no SSH answer from")
    assert "its sessions to leaf1 and leaf2 are Established" in spine[5].plain
    assert node[3].plain == "running, no SSH 30s"
    assert "the API says it is Ready" in node[5].plain
    assert rows["spine-sw2"][3].plain == "running"
    # nothing else says it runs: "no SSH", in the colour of failure
    down = sessions_down_at_peers(snap, "spine-sw1")
    state.set_readings(down.readings)
    cell = host_row(state.hosts[0], palette, state.management_view(state.hosts[0]))[3]
    assert state.hosts[0].name == "spine-sw1"
    assert cell.plain == "no SSH 30s" and cell.style == palette.bad


def test_checks_that_need_an_api_that_did_not_answer_are_not_observed() -> None:
    error = "list nodes: https://127.0.0.1:6443 is not answering"
    snap = dataclasses.replace(snapshot(), nodes=(), pods=(), errors=(error,))
    wl = DemoWorkload()
    for result in (check_nodes(snap), check_calico(snap), check_replicas(snap, wl, 4)):
        assert result.state is Verdict.NOT_OBSERVED, result
        assert result.cause == f"the Kubernetes API could not be read: {error}"
    assert nothing_answered(snap) is None  # the switches answered
    for switch in ("spine-sw1", "spine-sw2", "leaf1", "leaf2"):
        snap = cut(snap, switch, f"{switch}: no SSH answer from x within 5s")
    hosts = tuple(dataclasses.replace(h, state=VmState.UNREACHABLE) for h in snap.hosts)
    silent = dataclasses.replace(snap, hosts=hosts)
    assert (nothing_answered(silent) or "").startswith("no part of the lab answered")
