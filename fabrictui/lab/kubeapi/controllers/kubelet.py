"""Pod lifecycle on the lab's nodes: Pending → ContainerCreating → Running.

A host-network pod (control plane, kube-proxy, calico-node) runs in its node's
namespace; any other pod gets its own namespace `ftl-<lab_id>-pod-<n>` wired
to its node by the data plane once Calico runs on that node.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fabrictui.lab.calico_dataplane import PodNet, veth_name
from fabrictui.lab.kubeapi.controllers import podlogs
from fabrictui.lab.kubeapi.controllers.calico import is_calico_node_pod
from fabrictui.lab.kubeapi.errors import ApiError
from fabrictui.lab.kubeapi.objects import name_of, ns_of, pod_terminating, set_condition, uid_of
from fabrictui.lab.kubeapi.store import now_rfc3339

if TYPE_CHECKING:
    from fabrictui.lab.kubeapi.controllers.parts import ClusterParts

log = logging.getLogger(__name__)
Obj = dict[str, Any]


def _first_container(pod: Obj) -> str:
    containers = pod.get("spec", {}).get("containers") or [{}]
    return str(containers[0].get("name", ""))


class PodGone(Exception):
    pass


def _container_statuses(pod: Obj, state: Obj, ready: bool) -> list[Obj]:
    return [
        {
            "name": c.get("name", ""),
            "image": c.get("image", ""),
            "imageID": "",
            "ready": ready,
            "started": ready,
            "restartCount": 0,
            "state": state,
            **({"containerID": f"netns://{uid_of(pod)[:12]}"} if ready else {}),
        }
        for c in pod.get("spec", {}).get("containers") or []
    ]


class Kubelet:
    def __init__(self, cluster: ClusterParts) -> None:
        self.cluster = cluster
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.pod_nets: dict[str, PodNet] = {}  # pod uid -> its namespace
        self._counter = 0
        self._cleanups: set[asyncio.Task[None]] = set()

    def reconcile(self, pods: list[Obj]) -> None:
        for pod in pods:
            uid = uid_of(pod)
            if (
                uid in self.tasks
                or pod_terminating(pod)
                or not pod.get("spec", {}).get("nodeName")
                or pod.get("status", {}).get("phase", "Pending") != "Pending"
            ):
                continue
            task = asyncio.get_running_loop().create_task(self._run(pod))
            self.tasks[uid] = task

    def netns_of(self, pod: Obj) -> str | None:
        if pod.get("spec", {}).get("hostNetwork"):
            host = self.cluster.hosts.get(pod.get("spec", {}).get("nodeName", ""))
            return host.netns if host else None
        net = self.pod_nets.get(uid_of(pod))
        return net.netns if net else None

    def forget(self, pod: Obj) -> None:
        """The pod was deleted: stop starting it and remove its namespace."""
        uid = uid_of(pod)
        self.cluster.podlogs.forget(uid)
        task = self.tasks.pop(uid, None)
        if task is not None:
            task.cancel()
        net = self.pod_nets.pop(uid, None)
        self.cluster.sandboxes.stop(uid)
        if net is not None:
            self.cluster.calico.release_ip(net.node.name, net.ip)
            cleanup = asyncio.get_running_loop().create_task(self._remove(net))
            self._cleanups.add(cleanup)
            cleanup.add_done_callback(self._cleanups.discard)

    async def _remove(self, net: PodNet) -> None:
        try:
            await self.cluster.dataplane.remove_pod(net)
        except Exception as exc:  # logged; lab down sweeps by prefix anyway
            log.warning("removing %s failed: %s", net.netns, exc)

    async def shutdown(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.tasks.clear()
        if self._cleanups:
            await asyncio.gather(*list(self._cleanups), return_exceptions=True)
        nets = list(self.pod_nets.values())
        self.pod_nets.clear()
        self.cluster.sandboxes.stop_all()
        await asyncio.gather(*(self._remove(n) for n in nets))

    # -- one pod ---------------------------------------------------------------

    def _update(self, pod: Obj, change: Callable[[Obj], None]) -> Obj:
        store = self.cluster.store
        current = store.get("pods", ns_of(pod), name_of(pod))
        if current is None or uid_of(current) != uid_of(pod) or pod_terminating(current):
            raise PodGone
        change(current)
        try:
            return store.update("pods", current)
        except ApiError as exc:
            raise PodGone from exc

    def _waiting(self, pod: Obj, host_ip: str, reason: str, message: str = "") -> None:
        def change(p: Obj) -> None:
            status = p.setdefault("status", {})
            status["phase"] = "Pending"
            status["hostIP"] = host_ip
            status.setdefault("startTime", now_rfc3339())
            conds = status.get("conditions") or []
            conds = set_condition(conds, "Initialized", "True")
            conds = set_condition(conds, "Ready", "False", "ContainersNotReady",
                                  "containers with unready status")  # fmt: skip
            conds = set_condition(conds, "ContainersReady", "False", "ContainersNotReady",
                                  "containers with unready status")  # fmt: skip
            conds = set_condition(conds, "PodScheduled", "True")
            status["conditions"] = conds
            waiting: Obj = {"reason": reason}
            if message:
                waiting["message"] = message
            status["containerStatuses"] = _container_statuses(p, {"waiting": waiting}, False)

        self._update(pod, change)

    def _started(self, pod: Obj) -> None:
        events, node = self.cluster.events, pod["spec"].get("nodeName")
        for container in pod.get("spec", {}).get("containers") or []:
            name, image = container.get("name", ""), container.get("image", "")
            for reason, message in (
                ("Pulled", f'Container image "{image}" already present on machine'),
                ("Created", f"Created container {name}"),
                ("Started", f"Started container {name}"),
            ):
                events.record(pod, reason, message, "kubelet", host=node)

    def _running(self, pod: Obj, host_ip: str, pod_ip: str) -> None:
        def change(p: Obj) -> None:
            now = now_rfc3339()
            status = p.setdefault("status", {})
            status["phase"] = "Running"
            status["hostIP"] = host_ip
            status["podIP"] = pod_ip
            status["podIPs"] = [{"ip": pod_ip}]
            status.setdefault("startTime", now)
            conds = status.get("conditions") or []
            for ctype in ("Initialized", "Ready", "ContainersReady", "PodScheduled"):
                conds = set_condition(conds, ctype, "True")
            status["conditions"] = conds
            status["containerStatuses"] = _container_statuses(
                p, {"running": {"startedAt": now}}, True
            )

        self._started(self._update(pod, change))

    async def _run(self, pod: Obj) -> None:
        cluster = self.cluster
        uid = uid_of(pod)
        node_name = pod["spec"]["nodeName"]
        host = cluster.hosts.get(node_name)
        try:
            if host is None:
                self._waiting(pod, "", "NodeUnknown", f"node {node_name} is not in the lab")
                await asyncio.sleep(cluster.timing.retry)
                return
            if pod["spec"].get("hostNetwork"):
                await self._run_host_network(pod, host.address)
            else:
                await self._run_pod_network(pod, host.address)
        except PodGone:
            pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep the server alive; show it on the pod, retry later
            log.exception("pod %s/%s failed to start", ns_of(pod), name_of(pod))
            try:
                self._waiting(pod, host.address if host else "", "CreateContainerError", str(exc))
            except PodGone:
                return
            await asyncio.sleep(cluster.timing.retry)
        finally:
            if self.tasks.get(uid) is asyncio.current_task():
                del self.tasks[uid]
            if cluster.store.get("pods", ns_of(pod), name_of(pod)) is not None:
                cluster.kick()

    async def _run_host_network(self, pod: Obj, host_ip: str) -> None:
        timing = self.cluster.timing
        self._waiting(pod, host_ip, "ContainerCreating")
        await asyncio.sleep(timing.pod_start)
        if is_calico_node_pod(pod):
            node_name = pod["spec"]["nodeName"]
            uid, container = uid_of(pod), _first_container(pod)
            logs = self.cluster.podlogs
            while True:
                for line in podlogs.calico_starting(node_name, host_ip):
                    logs.write(uid, container, line)
                try:
                    net = await self.cluster.calico.start_node(node_name)
                    peers = len(self.cluster.calico.nodes) - 1
                    for line in podlogs.calico_started(
                        node_name, net.block, net.tunnel_ip, net.vtep_mac, peers
                    ):
                        logs.write(uid, container, line)
                    break
                except Exception as exc:
                    log.warning("calico-node on %s: %s", node_name, exc)
                    for line in podlogs.calico_failed(str(exc)):
                        logs.write(uid, container, line)
                    logs.restart(uid, container)  # the next try is the container's next instance
                    self._waiting(pod, host_ip, "CrashLoopBackOff", str(exc))
                    self.cluster.events.record(
                        pod, "BackOff", f"Back-off restarting failed container: {exc}",
                        "kubelet", "Warning", host=node_name,
                    )  # fmt: skip
                    await asyncio.sleep(timing.retry)
        self._running(pod, host_ip, host_ip)

    async def _run_pod_network(self, pod: Obj, host_ip: str) -> None:
        cluster = self.cluster
        node_name = pod["spec"]["nodeName"]
        self._waiting(pod, host_ip, "ContainerCreating")
        node = await cluster.calico.wait_node(node_name)
        ip = cluster.calico.allocate_ip(node_name)
        self._counter += 1
        net = PodNet(
            netns=f"{cluster.inventory.pod_netns_prefix}{self._counter}",
            node=node,
            ip=ip,
            host_veth=veth_name(ns_of(pod), name_of(pod)),
        )
        self.pod_nets[uid_of(pod)] = net
        try:
            await cluster.dataplane.add_pod(net)
        except BaseException:
            self.pod_nets.pop(uid_of(pod), None)
            cluster.calico.release_ip(node_name, ip)
            raise
        # the pause container's part: a process holding the namespace, which the node's
        # runtime reports (controllers/sandboxes.py)
        await cluster.sandboxes.start(uid_of(pod), ns_of(pod), name_of(pod), net)
        uid = uid_of(pod)
        await cluster.sandboxes.serve(
            uid, net, pod.get("spec") or {},
            lambda container, line: cluster.podlogs.write(uid, container, line),
        )  # fmt: skip
        await asyncio.sleep(cluster.timing.container_create)
        self._running(pod, host_ip, ip)
