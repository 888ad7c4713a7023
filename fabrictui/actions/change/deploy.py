"""Deploy Calico (VXLAN backend, or the lab's own manifest) and wait until it runs on
every node."""

from __future__ import annotations

from pathlib import Path

from fabrictui.actions.change.manifest import bundled_choice, checked_manifest
from fabrictui.actions.cluster import ClusterView
from fabrictui.actions.progress import ActionResult, Progress, Report
from fabrictui.backends.base import LabBackend
from fabrictui.constants import CALICO_NAMESPACES, POD_POOL
from fabrictui.model import KubeNode, KubePod

CALICO_NODE = "calico-node"


def calico_node_pods(pods: dict[str, KubePod]) -> dict[str, KubePod]:
    """node name -> its calico-node pod (owner or name calico-node; in kube-system, or in
    calico-system where the Tigera operator installed Calico)."""
    found: dict[str, KubePod] = {}
    for pod in pods.values():
        if pod.namespace not in CALICO_NAMESPACES or pod.node is None:
            continue
        if pod.owner == CALICO_NODE or (
            pod.owner is None and pod.name.startswith(CALICO_NODE + "-")
        ):
            found[pod.node] = pod
    return found


def missing_for_calico(nodes: dict[str, KubeNode], pods: dict[str, KubePod]) -> list[str]:
    """What still stands between the cluster and "Calico runs everywhere"."""
    per_node = calico_node_pods(pods)
    missing: list[str] = []
    for name in sorted(nodes):
        pod = per_node.get(name)
        if pod is None:
            missing.append(f"{name}: no calico-node pod")
        elif not pod.running:
            missing.append(f"{name}: calico-node {pod.status} ({pod.ready_text})")
        if not nodes[name].ready:
            missing.append(f"{name}: NotReady")
    return missing


async def deploy_calico(
    backend: LabBackend,
    report: Report,
    pool_cidr: str = POD_POOL,
    timeout: float = 180.0,
    manifest: Path | None = None,
) -> ActionResult:
    """The bundled Calico that fits the server, or the lab's own `manifest`; checked (and
    refused, nothing applied) before the first object is written."""
    details: list[str] = []
    if manifest is not None:
        docs, method = await checked_manifest(backend, manifest)
        what = f"applying {manifest} ({len(docs)} objects) by {method.name}"
    else:
        choice, method = await bundled_choice(backend)
        what = (
            f"applying Calico {choice.release.version} (VXLAN, pool {pool_cidr}) by "
            f"{method.name}: {choice.why}"
        )
    async with ClusterView(backend) as view:
        seen: dict[str, str] = {}

        def node_state(name: str) -> str:
            pod = calico_node_pods(view.pods).get(name)
            status = "no calico-node" if pod is None else f"calico-node {pod.status}"
            ready = view.nodes[name].ready if name in view.nodes else False
            return f"{status}, {'Ready' if ready else 'NotReady'}"

        def on_change(_before: object, _after: object) -> None:
            total = max(1, len(view.nodes))
            done = sum(
                1
                for n in view.nodes.values()
                if n.ready and (p := calico_node_pods(view.pods).get(n.name)) and p.running
            )
            for name in sorted(view.nodes):
                state = node_state(name)
                if seen.get(name) != state:
                    seen[name] = state
                    report(Progress(f"{name}: {state}", 0.05 + 0.95 * done / total))

        report(Progress(what, 0.0))
        if manifest is not None:
            lines = await backend.apply_objects(docs)
        else:
            lines = await backend.apply_calico(pool_cidr)
        created = sum(1 for line in lines if line.endswith(" created"))
        report(Progress(f"applied {len(lines)} objects ({created} created)", 0.05))
        details += lines
        view.on_pod = on_change
        view.on_node = on_change
        on_change(None, None)
        ok = await view.wait_for(
            lambda: bool(view.nodes) and not missing_for_calico(view.nodes, view.pods), timeout
        )
        missing = missing_for_calico(view.nodes, view.pods)
        nodes = dict(view.nodes)
    if not ok:
        summary = f"Calico not ready after {timeout:g} s: " + "; ".join(missing)
        report(Progress(summary, None, "error"))
        return ActionResult(False, summary, tuple(details + missing))
    blocks = [f"{n.name}: Ready, block {', '.join(n.calico_blocks) or '-'}" for n in nodes.values()]
    summary = f"Calico running on {len(nodes)} nodes, all Ready"
    report(Progress(summary, 1.0, "ok"))
    return ActionResult(True, summary, tuple(details + sorted(blocks)))
