"""calico-node failing on a node and coming back (the stop-calico-node fault), as the
kubelet shows it: Error, CrashLoopBackOff with a doubling back-off, brief restarts."""

from __future__ import annotations

from typing import Protocol

from fabrictui.backends.demo.objects import NodeRec, PodRec
from fabrictui.backends.demo.sim import Simulation


class KubeSim(Protocol):
    """What calico-node's faults touch of the demo cluster (`kube.KubeSim` is it): named
    here so that kube.py, which calls these functions, is not imported back."""

    calico_faulted: set[str]
    nodes: dict[str, NodeRec]
    sim: Simulation

    def node_changed(self, node: NodeRec) -> None: ...

    def pod_changed(self, pod: PodRec, kind: str = ...) -> None: ...

    def calico_node_pod(self, node: str) -> PodRec | None: ...

    def calico_up(self, node: NodeRec, t: float) -> None: ...


def crash(kube: KubeSim, node_name: str, t: float) -> None:
    """calico-node crashes on the node and keeps crashing (CrashLoopBackOff)."""
    kube.calico_faulted.add(node_name)
    node = kube.nodes[node_name]
    node.calico_running = False
    kube.node_changed(node)
    pod = kube.calico_node_pod(node_name)
    if pod is None:
        return
    pod.generation += 1
    gen = pod.generation
    pod.status, pod.ready = "Error", False
    kube.pod_changed(pod)

    def crash_loop(at: float, backoff: float) -> None:
        if pod.generation != gen:
            return
        pod.restarts += 1
        pod.status = "CrashLoopBackOff"
        kube.pod_changed(pod)
        kube.sim.at(at + backoff, lambda a: restart(a, backoff))

    def restart(at: float, backoff: float) -> None:
        if pod.generation != gen:
            return
        pod.status = "Running"
        kube.pod_changed(pod)
        kube.sim.at(at + 2.0, lambda a: fail(a, min(backoff * 2, 300.0)))

    def fail(at: float, backoff: float) -> None:
        if pod.generation != gen:
            return
        pod.status = "Error"
        kube.pod_changed(pod)
        kube.sim.at(at + 1.0, lambda a: crash_loop(a, backoff))

    kube.sim.at(t + 1.0, lambda a: crash_loop(a, 10.0))


def recover(kube: KubeSim, node_name: str, t: float) -> None:
    """calico-node runs again on the node; the node's routes come back once it is ready."""
    kube.calico_faulted.discard(node_name)
    pod = kube.calico_node_pod(node_name)
    if pod is None:
        return
    pod.generation += 1
    gen = pod.generation
    if pod.status != "Running":
        pod.restarts += 1
    pod.status, pod.ready = "Running", False
    kube.pod_changed(pod)

    def ready(at: float) -> None:
        if pod.generation == gen and node_name not in kube.calico_faulted:
            pod.ready = True
            kube.pod_changed(pod)
            kube.calico_up(kube.nodes[node_name], at)

    kube.sim.at(t + 2.0, ready)
