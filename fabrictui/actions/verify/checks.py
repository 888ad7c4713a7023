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
from fabrictui.constants import CALICO_NAMESPACES
from fabrictui.model import CheckResult, KubePod, LabInfo, Verdict

# the names of the checks both modes make (2-4 in either mode's list)
NODES_READY = "nodes Ready"
CALICO_RUNNING = "Calico running"
REPLICAS = "nginx replicas"


def not_observed(name: str, info: LabInfo, what: str = "") -> CheckResult:
    """A check this lab gives nothing to look at (a cluster known only from its kubeconfig
    has no switches, no SSH to its nodes): not observed, saying why and how to add it."""
    why = f"{what}{info.not_observed}"
    return CheckResult.not_observed(name, why, (f"not observed: {why}",))


def by_name(obj: object) -> str:
    return str(getattr(obj, "name", ""))


def api_unread(name: str, snap: LabSnapshot) -> CheckResult | None:
    """Not observed when the Kubernetes API could not be read: its error, not a verdict."""
    if not snap.errors:
        return None
    return CheckResult.not_observed(name, f"the Kubernetes API could not be read: {snap.errors[0]}")


def check_nodes(snap: LabSnapshot) -> CheckResult:
    if not snap.nodes:
        return api_unread(NODES_READY, snap) or CheckResult(
            NODES_READY, False, (), "no Kubernetes nodes"
        )
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
    unread = api_unread(CALICO_RUNNING, snap)
    if unread is not None:
        return unread
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
        if p.namespace in CALICO_NAMESPACES and p.name.startswith("calico-kube-controllers")
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
    unread = api_unread(name, snap)
    if unread is not None:
        return unread
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
        verdict, level = verdict_words(result)
        report(Progress(f"{len(results)}. {result.name}: {verdict}", len(results) / total, level))

    return add


def verdict_words(result: CheckResult) -> tuple[str, str]:
    """(`passed`, `FAILED: cause`, `NOT OBSERVED: why`, or `passed; not seen: ...`; the
    progress level): a check that could not see is a warning, never an error."""
    if result.state is Verdict.FAIL:
        return f"FAILED: {result.cause}", "error"
    if result.state is Verdict.NOT_OBSERVED:
        return f"NOT OBSERVED: {result.cause}", "warning"
    if result.unseen:
        return "passed; not seen: " + "; ".join(result.unseen), "warning"
    return "passed", "ok"
