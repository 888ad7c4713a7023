"""Reading the lab's state to say why something does not work.

Everything here works on a `LabSnapshot` (one read of hosts, leaf summaries,
nodes, pods and active faults) so a ping matrix or a check can name a cause
after the fact: the BGP session that is down, the node whose calico-node is
not running, the pod that is not Running or is black-holed.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from functools import cached_property

from fabrictui.actions.policy.evaluate import pair_decision
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.constants import CALICO_NAMESPACES
from fabrictui.intent import labshape
from fabrictui.intent.bgp_sessions import analyze_sessions
from fabrictui.intent.labshape import LabShape
from fabrictui.model import (
    Host,
    KubeNode,
    KubePod,
    LabInfo,
    PingResult,
    SwitchReading,
    VmState,
)
from fabrictui.parsers.netpolicy import PolicyReading


@dataclass(frozen=True)
class LabSnapshot:
    info: LabInfo
    hosts: tuple[Host, ...]
    readings: dict[str, SwitchReading]  # leaves (and spines) by name
    nodes: tuple[KubeNode, ...]
    pods: tuple[KubePod, ...]
    active_faults: tuple[str, ...] = ()
    errors: tuple[str, ...] = field(default=())
    policies: PolicyReading | None = None  # None: the lab's policies could not be read

    def host(self, name: str) -> Host | None:
        return next((h for h in self.hosts if h.name == name), None)

    @cached_property
    def shape(self) -> LabShape:
        """The lab's shape as the hosts read in this snapshot show it."""
        return LabShape.of(self.hosts)

    def rack_of_node(self, node: str | None) -> int | None:
        return self.shape.rack_of(node)

    def leaf_of_rack(self, rack: int | None) -> str | None:
        return self.shape.leaf_of_rack(rack)

    def pod(self, key: str) -> KubePod | None:
        return next((p for p in self.pods if p.key == key), None)

    def pod_by_ip(self, ip: str) -> KubePod | None:
        return next((p for p in self.pods if p.ip == ip and p.node), None)


def expected_sessions(info: LabInfo, hosts: tuple[Host, ...] | list[Host]) -> dict[str, list[str]]:
    """leaf -> spines it should peer with (from the lab info, else every leaf-spine pair)."""
    pairs = info.expected_sessions or labshape.expected_sessions(hosts)
    result: dict[str, list[str]] = {}
    for leaf, spine in pairs:
        result.setdefault(leaf, []).append(spine)
    return result


@dataclass(frozen=True)
class LeafSessions:
    leaf: str
    evidence: tuple[str, ...]
    problems: tuple[str, ...]
    established_spines: frozenset[str]


def leaf_sessions(
    leaf: str, reading: SwitchReading | None, spines: list[str], info: LabInfo
) -> LeafSessions:
    """One leaf's sessions judged by the same analysis the fabric pane shows."""
    if reading is None or reading.summary is None:
        error = (reading.error if reading else None) or "no answer"
        text = error if error.startswith(leaf) else f"{leaf}: {error}"
        return LeafSessions(leaf, (text,), (text,), frozenset())
    analysis = analyze_sessions(
        {leaf: reading}, [(leaf, spine) for spine in spines], dict(info.peer_addresses)
    )
    evidence = []
    for verdict in analysis.verdicts:
        peer = verdict.peer
        cell = f"{peer.hostname}({peer.neighbor})" if peer.hostname else peer.neighbor
        pfx = f", {peer.prefixes_received} prefixes" if peer.prefixes_received is not None else ""
        evidence.append(f"{leaf}: {cell} AS{peer.remote_as} {peer.state} {peer.uptime}{pfx}")
    up = frozenset(
        v.peer_host for v in analysis.verdicts if v.expected and v.peer.established and v.peer_host
    )
    return LeafSessions(leaf, tuple(evidence), tuple(analysis.problems()), up)


async def take_snapshot(backend: LabBackend, timeout: float = 20.0) -> LabSnapshot:
    info = backend.info()
    errors: list[str] = []
    async with asyncio.timeout(timeout):
        hosts = tuple(await backend.list_hosts())
        switches = [h.name for h in hosts if h.role.is_switch]
        readings_list = await asyncio.gather(*(backend.bgp_summary(s) for s in switches))
        readings = {r.switch: r for r in readings_list}
        try:
            nodes = tuple(await backend.list_nodes())
            pods = tuple(await backend.list_pods())
        except BackendError as err:
            errors.append(str(err))
            nodes, pods = (), ()
        policies: PolicyReading | None = None  # not read: a ping's diagnosis does without
        if not errors:  # an API that did not answer is not asked again (and waited for)
            with contextlib.suppress(BackendError):
                policies = await backend.network_policies()
    active = tuple(f.id for f in backend.faults() if f.active)
    return LabSnapshot(info, hosts, readings, nodes, pods, active, tuple(errors), policies)


def calico_problem(snapshot: LabSnapshot, node: str | None) -> str | None:
    if node is None:
        return None
    for pod in snapshot.pods:
        if (
            pod.namespace in CALICO_NAMESPACES
            and pod.node == node
            and (pod.owner == "calico-node" or pod.name.startswith("calico-node-"))
        ):
            if pod.running:
                return None
            return (
                f"calico-node not running on {node} ({pod.status}, {pod.ready_text}, "
                f"{pod.restarts} restarts)"
            )
    if any(p.name.startswith("calico-node-") for p in snapshot.pods):
        return f"no calico-node pod on {node}"
    return "Calico is not deployed (no calico-node pods)"


def fabric_problem(snapshot: LabSnapshot, rack_a: int | None, rack_b: int | None) -> str | None:
    """Why traffic between two racks cannot cross the fabric (None when it can)."""
    if rack_a is None or rack_b is None or labshape.same_rack(rack_a, rack_b):
        return None  # one rack, or a rack not known: nothing to say about the fabric
    leaf_a, leaf_b = snapshot.leaf_of_rack(rack_a), snapshot.leaf_of_rack(rack_b)
    if leaf_a is None or leaf_b is None:
        return None
    expected = expected_sessions(snapshot.info, snapshot.hosts)
    views = {
        leaf: leaf_sessions(
            leaf, snapshot.readings.get(leaf), expected.get(leaf, []), snapshot.info
        )
        for leaf in (leaf_a, leaf_b)
    }
    usable = views[leaf_a].established_spines & views[leaf_b].established_spines
    running = {s for s in usable if (h := snapshot.host(s)) is None or h.state is VmState.RUNNING}
    dead = sorted(usable - running)
    if running and not dead:
        return None
    problems = [p for v in views.values() for p in v.problems if "unexpected" not in p]
    if running and dead:
        return (
            f"{', '.join(dead)} powered off but still in the leaves' ECMP set (hold timer "
            "not expired yet): flows hashed to it are lost"
        )
    if dead:
        problems.insert(0, f"{', '.join(dead)} is powered off")
    return f"no path between rack {rack_a} and rack {rack_b}: " + "; ".join(problems)


def diagnose_ping(
    snapshot: LabSnapshot, source: KubePod, target_ip: str, result: PingResult | None
) -> str | None:
    """One line naming why `source` cannot reach `target_ip` (None when it can)."""
    if result is not None and result.ok:
        return None
    src = snapshot.pod(source.key)
    if src is None:
        return f"source pod {source.key} no longer exists"
    if not src.running:
        return f"source pod {src.key} is {src.status} ({src.ready_text})"
    dst = snapshot.pod_by_ip(target_ip)
    if dst is None:
        return f"no pod has {target_ip} any more"
    if not dst.running:
        return f"target pod {dst.key} ({target_ip}) is {dst.status} ({dst.ready_text})"
    for node in (src.node, dst.node):
        problem = calico_problem(snapshot, node)
        if problem:
            return problem
    for key in (dst.key, src.key):
        if f"blackhole-pod:{key}" in snapshot.active_faults:
            ip = dst.ip if key == dst.key else src.ip
            return f"{key} ({ip}) is black-holed"
    if snapshot.policies is not None:
        decision = pair_decision(snapshot.policies, src, dst)
        if not decision.allowed:
            return decision.words(src.key, dst.key)
    if src.node != dst.node:
        problem = fabric_problem(
            snapshot, snapshot.rack_of_node(src.node), snapshot.rack_of_node(dst.node)
        )
        if problem:
            return problem
    if result is not None and result.error:
        return result.error
    return (
        f"no reply from {target_ip}: pods Running, calico-node Running and the fabric looks healthy"
    )
