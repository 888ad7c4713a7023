"""The LabBackend calls of the drill down for the demo lab, mixed into DemoBackend (which owns
the cluster, the BGP state and the clock they read). Objects, Events and refusals are what a
1.15 API server would answer, and go through the same parsers as a real cluster's."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fabrictui.backends.base import BackendError, NotFound
from fabrictui.backends.demo.drill import story
from fabrictui.backends.demo.objects import PodRec, api_time
from fabrictui.parsers.kubedetail.events import KubeEvent, events_from_api

if TYPE_CHECKING:
    from fabrictui.backends.demo.bgp import DemoBgp
    from fabrictui.backends.demo.kube import KubeSim

LOG_LINES = 5000
FOLLOW_POLL = 0.5  # seconds between looks at a followed container


def _calico_probes(container: dict[str, Any], bgp_mode: bool) -> None:
    """The probes of the bundled Calico v3.10 manifest (BGP mode adds BIRD to readiness)."""
    ready = ["/bin/calico-node", "-bird-ready", "-felix-ready"] if bgp_mode else [
        "/bin/calico-node", "-felix-ready"
    ]  # fmt: skip
    container["livenessProbe"] = {
        "exec": {"command": ["/bin/calico-node", "-felix-live"]},
        "periodSeconds": 10, "initialDelaySeconds": 10, "failureThreshold": 6,
        "timeoutSeconds": 1,
    }  # fmt: skip
    container["readinessProbe"] = {
        "exec": {"command": ready}, "periodSeconds": 10, "timeoutSeconds": 1,
        "failureThreshold": 3,
    }  # fmt: skip


class DemoKubeDrillCalls:
    kube: KubeSim
    bgp: DemoBgp

    if TYPE_CHECKING:  # DemoBackend's

        def _ensure_driver(self) -> None: ...

        def _now(self) -> float: ...

    def _pod_rec(self, namespace: str | None, name: str, what: str) -> PodRec:
        pod = self.kube.pods.get(f"{namespace or 'default'}/{name}")
        if pod is None:
            raise NotFound(f'{what}: 404 Not Found: pods "{name}" not found')
        return pod

    def _pod_object(self, pod: PodRec, now: float) -> dict[str, Any]:
        obj = copy.deepcopy(pod.api())
        container = obj["spec"]["containers"][0]
        status = obj["status"]
        if pod.owner == "calico-node":
            _calico_probes(container, self.bgp.backend == "bird")
        if status.get("podIP"):
            status["podIPs"] = [{"ip": status["podIP"]}]
        if pod.node is not None:
            status["startTime"] = api_time(int(pod.created))
        for cs in status.get("containerStatuses") or []:
            last = (cs.get("lastState") or {}).get("terminated")
            if last is not None:  # the last run ended when felix gave up (story.pod_log)
                last["startedAt"] = api_time(int(pod.created + 2))
                last["finishedAt"] = api_time(int(pod.created + 3))
            words = story.readiness_failure(self.kube, self.bgp, pod, now)
            if words and pod.status == "Running":
                # the probe fails: the kubelet marks the container and the pod not ready
                cs["ready"] = False
                unready = f"containers with unready status: [{cs['name']}]"
                for cond in status.get("conditions") or []:
                    if cond["type"] in ("Ready", "ContainersReady"):
                        cond.update(status="False", reason="ContainersNotReady", message=unready)
        return obj

    async def read_object(
        self, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any]:
        self._ensure_driver()
        now = self._now()
        if kind == "pod":
            return self._pod_object(self._pod_rec(namespace, name, f"read pod {name}"), now)
        if kind == "node":
            node = self.kube.nodes.get(name)
            if node is None:
                raise NotFound(f'read node {name}: 404 Not Found: nodes "{name}" not found')
            return node.api()
        raise BackendError(f"no Kubernetes object kind {kind!r} (pod or node)")

    async def list_events(
        self,
        namespace: str | None = None,
        about: tuple[str, str] | None = None,
        warnings_only: bool = False,
    ) -> list[KubeEvent]:
        self._ensure_driver()
        now = self._now()
        raw: list[dict[str, Any]] = []
        for pod in self.kube.live_pods():
            if about is not None and (about[0] != "Pod" or about[1] != pod.name):
                continue
            if warnings_only and not story.may_warn(self.kube, self.bgp, pod, now):
                continue  # told from the state: a pod that cannot have a Warning is skipped
            if namespace is None or pod.namespace == namespace:
                raw += story.pod_events(self.kube, self.bgp, pod, now)
        if namespace in (None, "default") and not warnings_only:
            for node in self.kube.nodes.values():
                raw += story.node_events(self.kube, node, now)
        events = events_from_api({"items": raw})
        if about:
            events = [e for e in events if (e.kind, e.object_name) == about]
        if warnings_only:
            events = [e for e in events if e.warning]
        return events

    def _log_target(self, namespace: str, name: str, container: str | None) -> PodRec:
        what = f"logs of {namespace}/{name}"
        pod = self._pod_rec(namespace, name, what)
        own = pod.api()["spec"]["containers"][0]["name"]
        if container and container != own:
            raise BackendError(f"{what}: 400 Bad Request: container {container} is not valid "
                               f"for pod {name}")  # fmt: skip
        if pod.node is None:
            raise BackendError(f"{what}: 400 Bad Request: pod {name} does not have a host assigned")
        if pod.status in ("Pending", "ContainerCreating") and not pod.restarts:
            why = "ContainerCreating" if pod.status == "ContainerCreating" else "PodInitializing"
            raise BackendError(
                f'{what}: 400 Bad Request: container "{own}" in pod "{name}" is waiting to '
                f"start: {why}"
            )
        return pod

    async def pod_log(
        self, namespace: str, name: str, container: str | None = None,
        previous: bool = False, tail: int | None = None,
    ) -> list[str]:  # fmt: skip
        self._ensure_driver()
        now = self._now()
        pod = self._log_target(namespace, name, container)
        if previous and not pod.restarts:
            own = pod.api()["spec"]["containers"][0]["name"]
            raise BackendError(
                f"logs of {namespace}/{name}: 400 Bad Request: previous terminated container "
                f'"{own}" in pod "{name}" not found'
            )
        lines = [line for _, line in story.pod_log(self.kube, self.bgp, pod, now, previous)]
        keep = LOG_LINES if tail is None else min(tail, LOG_LINES)
        return lines[-keep:] if keep else []

    async def follow_pod_log(
        self, namespace: str, name: str, container: str | None = None, tail: int | None = None
    ) -> AsyncIterator[str]:
        self._ensure_driver()
        pod = self._log_target(namespace, name, container)
        restarts, uid = pod.restarts, pod.uid
        lines = story.pod_log(self.kube, self.bgp, pod, self._now(), False)
        keep = LOG_LINES if tail is None else min(tail, LOG_LINES)
        shown = lines[-keep:] if keep else []
        last = lines[-1][0] if lines else 0.0
        for _, line in shown:
            yield line
        while True:
            await asyncio.sleep(FOLLOW_POLL)
            current = self.kube.pods.get(f"{namespace}/{name}")
            if current is None or current.uid != uid or current.terminating:
                return  # the pod went: the stream ends
            if current.restarts != restarts:
                return  # the instance followed exited
            for when, line in story.pod_log(self.kube, self.bgp, current, self._now(), False):
                if when > last:
                    last = when
                    yield line
