"""Verify's "network policy" check: would the lab's policies let the workload's traffic
through? The cross-rack pair verify pings (ICMP) and every pair of the workload's pods on
the port nginx serves (TCP 80) are judged by the evaluator; nothing denied passes, a denial
fails naming the policy and rule. Where the deciding node's filter counters can be read
(the rehearsal lab renders policy into iptables, with a comment naming the policy), one
probe shows the deny rule's counter grow: evidence that the kernel drops what policy says."""

from __future__ import annotations

from fabrictui.actions.policy.counters import counter_evidence
from fabrictui.actions.policy.evaluate import Decision, pair_decision
from fabrictui.actions.progress import Report
from fabrictui.actions.verify.checks import choose_ping_pair, workload_running
from fabrictui.actions.verify.diagnose import LabSnapshot
from fabrictui.backends.base import BackendError, DemoWorkload, LabBackend
from fabrictui.model import CheckResult, KubePod

NAME = "network policy"
APP_PORT = ("TCP", 80)  # nginx:1.17's port, the seed's nginx-service targetPort


def _pairs(pods: list[KubePod], ping: tuple[KubePod, KubePod] | None) -> list[tuple]:
    """(src, dst, protocol, port): the ping pair first, then the workload's pod-to-pod."""
    out: list[tuple] = []
    if ping is not None:
        out.append((ping[0], ping[1], "ICMP", None))
    out += [(a, b, *APP_PORT) for a in pods for b in pods if a.key != b.key]
    return out


def _what(src: KubePod, dst: KubePod, protocol: str, port: int | None) -> str:
    return f"{src.key} -> {dst.key} {protocol}{f'/{port}' if port else ''}"


async def check_policy(
    backend: LabBackend, snap: LabSnapshot, workload: DemoWorkload, report: Report
) -> CheckResult:
    try:
        reading = await backend.network_policies()
    except BackendError as err:
        return CheckResult.not_observed(NAME, f"could not read network policy: {err}")
    pods = workload_running(snap, workload)
    if len(pods) < 2:
        return CheckResult.not_observed(
            NAME, f"fewer than two running {workload.deployment} pods to judge"
        )
    evidence = [f"{len(reading.policies)} policies read"]
    evidence += [f"{p.label} ({', '.join(p.types)})" for p in reading.policies]
    denied: list[tuple[tuple, Decision]] = []
    for pair in _pairs(pods, choose_ping_pair(snap, pods)):
        decision = pair_decision(reading, *pair)
        verdict = "allowed" if decision.allowed else "DENIED"
        how = decision.words(pair[0].key, pair[1].key) if decision.policy else "no policy selects"
        evidence.append(f"{_what(*pair)}: {verdict} ({how})")
        if not decision.allowed:
            denied.append((pair, decision))
    if not denied:
        return CheckResult(NAME, True, tuple(evidence), unseen=reading.unseen)
    (src, dst, protocol, _), decision = denied[0]
    cause = decision.words(src.key, dst.key)
    if len(denied) > 1:
        cause += f" (and {len(denied) - 1} more pairs denied)"
    evidence += await counter_evidence(backend, src, dst, decision, protocol == "ICMP")
    return CheckResult(NAME, False, tuple(evidence), cause, unseen=reading.unseen)
