"""Scale the demo workload (creating it when missing) and wait for its pods.

The timeout bounds the whole action (watching, creating, scaling, waiting), so a
lab that answers slowly or a scale to thousands of pods ends in time, with what
is known by then. Pods that cannot start are explained rather than waited on
blindly: with no node Ready the action fails at once (unless asked to wait for
nodes), and pods left Pending are reported with the scheduler's reason.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from fabrictui.actions.cluster import ClusterView
from fabrictui.actions.progress import ActionResult, Progress, Report
from fabrictui.backends.base import DemoWorkload, LabBackend
from fabrictui.model import KubePod

NO_READY_NODE = (
    "no node is Ready: no network plugin yet? deploy Calico first (D / fabrictui deploy-calico)"
)
POD_LINES = 50  # pods reported one by one; after that, counts
COUNT_EVERY = 1.0  # seconds between count lines once pods are reported by counts
DETAIL_PODS = 50  # pods listed in the result's details


def belongs(pod: KubePod, namespace: str, deployment: str) -> bool:
    """Is `pod` one of the deployment's? (owner is the deployment or its ReplicaSet)."""
    if pod.namespace != namespace:
        return False
    owner = pod.owner or ""
    return (
        owner == deployment
        or owner.startswith(deployment + "-")
        or (not owner and pod.name.startswith(deployment + "-"))
    )


def workload_pods(pods: dict[str, KubePod], namespace: str, deployment: str) -> list[KubePod]:
    return sorted(
        (p for p in pods.values() if belongs(p, namespace, deployment)), key=lambda p: p.name
    )


class _Follow:
    """The workload's pods as the watch reports them, counted as they change (a scale to
    thousands of pods must not recount every pod on every event)."""

    def __init__(self, wl: DemoWorkload, replicas: int, report: Report) -> None:
        self.wl = wl
        self.replicas = replicas
        self.report = report
        self.target = f"{wl.namespace}/{wl.deployment}"
        self.pods: dict[str, KubePod] = {}
        self.running = 0
        self.lines = 0
        self.last_count = 0.0
        self.seen: dict[str, str] = {}
        self.reasons: set[str] = set()

    def fraction(self) -> float | None:
        return min(1.0, self.running / self.replicas) if self.replicas else None

    def done(self) -> bool:
        return len(self.pods) == self.replicas and self.running == self.replicas

    def seed(self, pods: dict[str, KubePod]) -> None:
        """The pods there were before the action, counted without a line each."""
        for pod in workload_pods(pods, self.wl.namespace, self.wl.deployment):
            self.pods[pod.name] = pod
            self.running += pod.running

    def on_pod(self, before: KubePod | None, after: KubePod | None) -> None:
        pod = after or before
        if pod is None or not belongs(pod, self.wl.namespace, self.wl.deployment):
            return
        old = self.pods.pop(pod.name, None)
        if old is not None and old.running:
            self.running -= 1
        if after is not None:
            self.pods[pod.name] = after
            self.running += after.running
        if after is not None and after.unschedulable and after.unschedulable not in self.reasons:
            self.reasons.add(after.unschedulable)
            self.report(Progress(f"pods stay Pending: {after.unschedulable}", None, "warning"))
        state = f"{after.status}|{after.node}|{after.ip}" if after else "deleted"
        if self.seen.get(pod.name) == state:
            return
        self.seen[pod.name] = state
        if self.lines < POD_LINES:
            self.lines += 1
            self.report(Progress(_pod_line(before, after), self.fraction()))
            return
        now = asyncio.get_running_loop().time()
        if now - self.last_count >= COUNT_EVERY:
            self.last_count = now
            self.report(Progress(self.counts(), self.fraction()))

    def counts(self) -> str:
        statuses = Counter(p.status for p in self.pods.values())
        parts = ", ".join(f"{n} {status}" for status, n in statuses.most_common())
        return f"{self.target}: {len(self.pods)} pods ({parts or 'none'})"

    def pending_reason(self) -> str:
        """Why pods stay Pending, from their scheduling condition ("" when none says)."""
        reasons = Counter(p.unschedulable for p in self.pods.values() if p.unschedulable)
        if not reasons:
            return ""
        reason, count = reasons.most_common(1)[0]
        return f"{count} Pending: {reason}"


def _pod_line(before: KubePod | None, after: KubePod | None) -> str:
    pod = after or before
    assert pod is not None
    if after is None:
        return f"{pod.name}: deleted"
    where = f" on {after.node}" if after.node else ""
    ip = f" ({after.ip})" if after.ip else ""
    change = after.status
    if before is not None and before.status != after.status:
        change = f"{before.status} → {after.status}"
    return f"{pod.name}: {change}{where}{ip}"


async def scale_workload(
    backend: LabBackend,
    report: Report,
    replicas: int = 4,
    workload: DemoWorkload | None = None,
    timeout: float = 120.0,
    wait_for_nodes: bool = False,
) -> ActionResult:
    """Scale the workload to `replicas` and wait, at most `timeout` seconds in all, for
    them to run. With no node Ready it fails at once, saying why, unless
    `wait_for_nodes` (then it waits, within the same timeout, for nodes to come up)."""
    wl = workload or DemoWorkload()
    if replicas < 0:
        return ActionResult(False, f"replicas must be 0 or more, not {replicas}")
    target = f"{wl.namespace}/{wl.deployment}"
    follow = _Follow(wl, replicas, report)
    details: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    ok = False
    try:
        async with asyncio.timeout_at(deadline), ClusterView(backend) as view:
            follow.seed(view.pods)
            view.on_pod = follow.on_pod
            if replicas and not wait_for_nodes and not any(n.ready for n in view.nodes.values()):
                # the result says it (once); reporting it as progress too doubles it
                return ActionResult(False, f"{target}: pods cannot start: {NO_READY_NODE}")
            created = await backend.ensure_workload(wl)
            for line in created:
                report(Progress(line))
            details += created
            report(
                Progress(f"{target}: scaling to {replicas} replicas ({len(follow.pods)} pods now)")
            )
            await backend.scale_deployment(wl.namespace, wl.deployment, replicas)
            # Returns False just before the deadline, so the result below says what ran.
            ok = await view.wait_for(follow.done, max(0.0, deadline - loop.time() - 0.05))
    except TimeoutError:
        ok = False
    return _result(follow, details, ok, timeout)


def _result(follow: _Follow, details: list[str], ok: bool, timeout: float) -> ActionResult:
    replicas, target = follow.replicas, follow.target
    pods = sorted(follow.pods.values(), key=lambda p: p.name)
    running = [p for p in pods if p.running]
    shown = pods[:DETAIL_PODS]
    details += [f"{p.name}  {p.status}  {p.node or '-'}  {p.ip or '-'}" for p in shown]
    if len(pods) > len(shown):
        details.append(f"... and {len(pods) - len(shown)} more ({follow.counts()})")
    if not ok:
        summary = f"{target}: {len(running)} of {replicas} pods Running after {timeout:g} s" + (
            f" ({len(pods)} pods exist)" if len(pods) != replicas else ""
        )
        why = follow.pending_reason()
        if why:
            summary += f"; {why}"
        follow.report(Progress(summary, None, "error"))
        return ActionResult(False, summary, tuple(details))
    nodes = {p.node for p in running}
    summary = f"{target}: {replicas} replicas Running on {len(nodes)} distinct nodes"
    follow.report(Progress(summary, 1.0, "ok"))
    return ActionResult(True, summary, tuple(details))
