"""Evidence from the data plane: the filter rules a node holds for a policy (the rehearsal
lab comments each with the policy's namespace/name), their counters read before and after
one probe that the policy should drop. Labs whose counters cannot be read (a demo, a node
without iptables or SSH) say so in one line; nothing here decides the check."""

from __future__ import annotations

import re

from fabrictui.actions.policy.evaluate import Decision
from fabrictui.backends.base import DEFAULT_PING_SIZE, BackendError, LabBackend
from fabrictui.model import KubePod
from fabrictui.parsers import ParseError
from fabrictui.parsers.iptables import IptRule, parse_iptables_save

FILTER_READ = "filter"  # backends.trace_ports.TRACE_READS: iptables-save -c -t filter


def policy_rules(rules: list[IptRule], key: str) -> dict[tuple[str, str], IptRule]:
    """The rules whose comment names the policy `key` (namespace/name), by (chain, spec)."""
    named = re.compile(rf"(^|, )policy {re.escape(key)}([ ,:]|$)")
    return {(r.chain, r.spec): r for r in rules if named.search(r.comment)}


async def _read(backend: LabBackend, node: str) -> list[IptRule]:
    return parse_iptables_save(await backend.read_state(node, FILTER_READ))


async def counter_evidence(
    backend: LabBackend, src: KubePod, dst: KubePod, decision: Decision, probe: bool
) -> list[str]:
    """Lines for the check's evidence: the deny rules' counters and how much they grew
    during one probe from `src` to `dst` (sent only when `probe`, an ICMP pair)."""
    if decision.policy is None:
        return []
    node = dst.node if decision.direction == "ingress" else src.node
    key = decision.policy.key
    if node is None or dst.ip is None:
        return []
    try:
        before = policy_rules(await _read(backend, node), key)
    except (BackendError, ParseError) as err:
        return [f"{node}: filter counters not read ({err})"]
    if not before:
        return [f"{node}: no filter rule names policy {key}: its counters are not shown"]
    if not probe:
        return [f"{node}: {r.chain} [{r.comment}] {r.packets} packets" for r in before.values()]
    try:
        await backend.probe(src, dst.ip, 1, DEFAULT_PING_SIZE, 2.0)
        after = policy_rules(await _read(backend, node), key)
    except (BackendError, ParseError) as err:
        return [f"{node}: counters after the probe not read ({err})"]
    lines = []
    for spot, rule in after.items():
        old = before.get(spot)
        grew = rule.packets - (old.packets if old else 0)
        lines.append(
            f"{node}: {rule.chain} [{rule.comment}] {rule.packets} packets, "
            f"+{grew} during one probe {src.key} -> {dst.ip}"
        )
    return lines
