"""Scale the demo workload (creating it when missing) and wait for its pods."""

from __future__ import annotations

from fabrictui.actions.cluster import ClusterView
from fabrictui.actions.progress import ActionResult, Progress, Report
from fabrictui.backends.base import DemoWorkload, LabBackend
from fabrictui.model import KubePod


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


async def scale_workload(
    backend: LabBackend,
    report: Report,
    replicas: int = 4,
    workload: DemoWorkload | None = None,
    timeout: float = 120.0,
) -> ActionResult:
    wl = workload or DemoWorkload()
    if replicas < 0:
        return ActionResult(False, f"replicas must be 0 or more, not {replicas}")
    target = f"{wl.namespace}/{wl.deployment}"
    details: list[str] = []
    async with ClusterView(backend) as view:
        seen: dict[str, str] = {}

        def on_pod(before: KubePod | None, after: KubePod | None) -> None:
            pod = after or before
            if pod is None or not belongs(pod, wl.namespace, wl.deployment):
                return
            if after is None:
                line = f"{pod.name}: deleted"
            else:
                where = f" on {after.node}" if after.node else ""
                ip = f" ({after.ip})" if after.ip else ""
                change = after.status
                if before is not None and before.status != after.status:
                    change = f"{before.status} → {after.status}"
                line = f"{pod.name}: {change}{where}{ip}"
            state = f"{after.status}|{after.node}|{after.ip}" if after else "deleted"
            if seen.get(pod.name) == state:
                return
            seen[pod.name] = state
            running = sum(
                1 for p in workload_pods(view.pods, wl.namespace, wl.deployment) if p.running
            )
            report(Progress(line, min(1.0, running / replicas) if replicas else None))

        view.on_pod = on_pod
        created = await backend.ensure_workload(wl)
        for line in created:
            report(Progress(line))
        details += created
        current = workload_pods(view.pods, wl.namespace, wl.deployment)
        report(Progress(f"{target}: scaling to {replicas} replicas ({len(current)} pods now)"))
        await backend.scale_deployment(wl.namespace, wl.deployment, replicas)

        def done() -> bool:
            pods = workload_pods(view.pods, wl.namespace, wl.deployment)
            return len(pods) == replicas and all(p.running for p in pods)

        ok = await view.wait_for(done, timeout)
        pods = workload_pods(view.pods, wl.namespace, wl.deployment)
    running = [p for p in pods if p.running]
    details += [f"{p.name}  {p.status}  {p.node or '-'}  {p.ip or '-'}" for p in pods]
    if not ok:
        summary = f"{target}: {len(running)} of {replicas} pods Running after {timeout:g} s" + (
            f" ({len(pods)} pods exist)" if len(pods) != replicas else ""
        )
        report(Progress(summary, None, "error"))
        return ActionResult(False, summary, tuple(details))
    nodes = {p.node for p in running}
    summary = f"{target}: {replicas} replicas Running on {len(nodes)} distinct nodes"
    report(Progress(summary, 1.0, "ok"))
    return ActionResult(True, summary, tuple(details))
