"""The checks both Calico modes make of the cluster (LAB.md, checks 2-4: nodes Ready, Calico
running, the workload's replicas) and what they share: the pods a ping uses, and how a
check's result is reported as it comes."""

from __future__ import annotations

from collections.abc import Callable

from fabrictui.actions.change.deploy import calico_node_pods
from fabrictui.actions.change.scale import belongs
from fabrictui.actions.progress import Progress, Report
from fabrictui.actions.verify.diagnose import LabSnapshot
from fabrictui.backends.base import DemoWorkload
from fabrictui.model import CheckResult, KubePod

# the names of the checks both modes make (2-4 in either mode's list)
NODES_READY = "nodes Ready"
CALICO_RUNNING = "Calico running"
REPLICAS = "nginx replicas"


def by_name(obj: object) -> str:
    return str(getattr(obj, "name", ""))


def check_nodes(snap: LabSnapshot) -> CheckResult:
    if not snap.nodes:
        cause = snap.errors[0] if snap.errors else "no Kubernetes nodes"
        return CheckResult(NODES_READY, False, (), cause)
    evidence = tuple(
        f"{n.name}: {n.status} {n.version} {n.internal_ip}" for n in sorted(snap.nodes, key=by_name)
    )
    not_ready = [n.name for n in snap.nodes if not n.ready]
    if not_ready:
        return CheckResult(
            NODES_READY, False, evidence, "NotReady: " + ", ".join(sorted(not_ready))
        )
    return CheckResult(NODES_READY, True, evidence)


def check_calico(snap: LabSnapshot) -> CheckResult:
    pods = {p.key: p for p in snap.pods}
    per_node = calico_node_pods(pods)
    evidence: list[str] = []
    problems: list[str] = []
    for node in sorted(n.name for n in snap.nodes):
        pod = per_node.get(node)
        if pod is None:
            problems.append(f"no calico-node pod on {node}")
            continue
        evidence.append(f"{pod.name} on {node}: {pod.status} {pod.ready_text}")
        if not pod.running:
            problems.append(
                f"calico-node not running on {node} ({pod.status} {pod.ready_text}, "
                f"{pod.restarts} restarts)"
            )
    controllers = [
        p
        for p in snap.pods
        if p.namespace == "kube-system" and p.name.startswith("calico-kube-controllers")
    ]
    if not controllers:
        problems.append("no calico-kube-controllers pod")
    for pod in controllers:
        evidence.append(f"{pod.name} on {pod.node or '-'}: {pod.status} {pod.ready_text}")
        if not pod.running:
            problems.append(f"calico-kube-controllers not Running ({pod.status})")
    if not snap.nodes:
        problems.insert(0, "no Kubernetes nodes")
    if problems:
        if not per_node and not controllers:
            problems = ["Calico is not deployed (no calico-node or calico-kube-controllers pods)"]
        return CheckResult(CALICO_RUNNING, False, tuple(evidence), "; ".join(problems))
    return CheckResult(CALICO_RUNNING, True, tuple(evidence))


def workload_running(snap: LabSnapshot, wl: DemoWorkload) -> list[KubePod]:
    return sorted(
        (p for p in snap.pods if belongs(p, wl.namespace, wl.deployment) and p.running),
        key=lambda p: p.name,
    )


def check_replicas(snap: LabSnapshot, wl: DemoWorkload, replicas: int) -> CheckResult:
    name = REPLICAS
    pods = [p for p in snap.pods if belongs(p, wl.namespace, wl.deployment)]
    evidence = tuple(
        f"{p.name}: {p.status} {p.ready_text} {p.ip or '-'} on {p.node or '-'}" for p in pods
    )
    if not pods:
        return CheckResult(name, False, (), f"no {wl.deployment} pods in namespace {wl.namespace}")
    running = workload_running(snap, wl)
    nodes = {p.node for p in running}
    if len(running) != replicas or len(pods) != replicas:
        cause = f"{len(running)} of {replicas} {wl.deployment} pods Running"
        if len(pods) != len(running):
            others = ", ".join(f"{p.name} {p.status}" for p in pods if not p.running)
            cause += f" (not Running: {others})"
        return CheckResult(name, False, evidence, cause)
    if len(nodes) != replicas:
        return CheckResult(
            name, False, evidence, f"{replicas} pods on only {len(nodes)} distinct nodes"
        )
    return CheckResult(name, True, evidence)


def choose_ping_pair(snap: LabSnapshot, pods: list[KubePod]) -> tuple[KubePod, KubePod] | None:
    """A pod on the highest rack (the seed: rack 2, k8s-node-l2-1) and one on the lowest
    (rack 1, k8s-node-l1-2): the seed's ping."""
    racked = [(snap.rack_of_node(p.node), p) for p in pods if p.ip]
    racks = sorted({r for r, _ in racked if r is not None})
    if len(racks) < 2:
        return None
    src = min((p for r, p in racked if r == racks[-1]), key=lambda p: p.node or "")
    dst = max((p for r, p in racked if r == racks[0]), key=lambda p: p.node or "")
    return src, dst


def reporting(
    results: list[CheckResult], report: Report, total: int
) -> Callable[[CheckResult], None]:
    """`add(result)`: keep a check's result and report it at once ("3. Calico
    running: passed"), as one of `total`; both modes' verifications use it."""

    def add(result: CheckResult) -> None:
        results.append(result)
        verdict = "passed" if result.passed else f"FAILED: {result.cause}"
        if result.not_observed:
            verdict = f"not probed: {result.cause}"
        level = "ok" if result.passed else "error"
        report(Progress(f"{len(results)}. {result.name}: {verdict}", len(results) / total, level))

    return add
