"""The lab cluster: store, resource registry, defaults on create, and the
controllers that make it behave like the reference cluster."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
from pathlib import Path
from typing import Any

from fabrictui.constants import SERVICE_RANGE
from fabrictui.lab.calico_dataplane import Dataplane
from fabrictui.lab.kubeapi import versions
from fabrictui.lab.kubeapi.controllers import endpoints, workloads
from fabrictui.lab.kubeapi.controllers.bgp import BgpMode
from fabrictui.lab.kubeapi.controllers.calico import CalicoAgent
from fabrictui.lab.kubeapi.controllers.events import EVENTS_GROUP_KEY, Recorder
from fabrictui.lab.kubeapi.controllers.kubelet import Kubelet
from fabrictui.lab.kubeapi.controllers.parts import Timing
from fabrictui.lab.kubeapi.controllers.podlogs import PodLogs
from fabrictui.lab.kubeapi.controllers.policy import PolicyFilter
from fabrictui.lab.kubeapi.controllers.proxy import ServiceProxy
from fabrictui.lab.kubeapi.controllers.readiness import CalicoReadiness
from fabrictui.lab.kubeapi.controllers.sandboxes import Sandboxes
from fabrictui.lab.kubeapi.controllers.system import bootstrap
from fabrictui.lab.kubeapi.errors import ApiError
from fabrictui.lab.kubeapi.images import ImageShelf
from fabrictui.lab.kubeapi.inventory import KubeHost, LabInventory
from fabrictui.lab.kubeapi.resources import Registry, ResourceType
from fabrictui.lab.kubeapi.store import Event, Store, now_rfc3339
from fabrictui.lab.kubeapi.versions import KubeProfile

log = logging.getLogger(__name__)
Obj = dict[str, Any]

SERVICE_CIDR = SERVICE_RANGE
CRDS = "customresourcedefinitions.apiextensions.k8s.io"


class Cluster:
    def __init__(
        self,
        inventory: LabInventory,
        dataplane: Dataplane,
        timing: Timing | None = None,
        history: int = 10000,
        profile: KubeProfile | None = None,
        sandbox_file: Path | None = None,
    ) -> None:
        self.profile = profile or versions.profile(versions.DEFAULT_VERSION)
        self.inventory = inventory
        self.dataplane = dataplane
        self.timing = timing or Timing()
        self.store = Store(history=history)
        self.registry = Registry.builtin(self.profile)
        self.hosts: dict[str, KubeHost] = {h.name: h for h in inventory.hosts}
        self.events = Recorder(self.store, mirror=EVENTS_GROUP_KEY in self.registry.types)
        self.podlogs = PodLogs()  # what the containers wrote (pods/log)
        self.kubelet = Kubelet(self)
        self.calico = CalicoAgent(self)
        self.bgp = BgpMode(self)  # calico-node's BIRD and native routing (BGP mode)
        self.policy = PolicyFilter(self)  # Felix's filter rules for network policy
        self.proxy = ServiceProxy(self)  # kube-proxy's nat rules on the nodes
        # calico-node's readiness probe: BIRD's sessions, in BGP mode (real BIRD only)
        self.readiness = CalicoReadiness(self, self._bird_nodes)
        self._wake: asyncio.Event | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._service_ips: set[str] = set()
        self.exec_processes: set[asyncio.subprocess.Process] = set()
        self.images = ImageShelf()  # what each pod's image has installed
        # the nodes' runtime view of the pods (None: nowhere to write it, no namespaces)
        self.sandboxes = Sandboxes(dataplane, sandbox_file)
        self.store.add_listener(self._on_event)
        self.store.add_listener(self.bgp.on_event)
        self.store.add_listener(self.policy.on_event)

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        self._wake = asyncio.Event()
        bootstrap(self.store, self.inventory, self.profile.version)
        for svc in self.store.list("services"):
            self._service_ips.add(svc.get("spec", {}).get("clusterIP", ""))
        self._loop_task = asyncio.get_running_loop().create_task(self._loop())
        self.readiness.start()

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for proc in list(self.exec_processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        await self.readiness.stop()
        await self.kubelet.shutdown()
        await self.bgp.stop()
        await self.policy.stop()
        await self.proxy.stop()
        self.store.close_watches()
        self.images.close()
        await self.dataplane.close()

    def _bird_nodes(self) -> dict[str, str]:
        """The nodes whose calico-node runs a BIRD now (BGP mode, real namespaces)."""
        if not self.bgp.realize:
            return {}
        return {name: conf.netns for name, conf in self.bgp.wanted.items() if conf.netns}

    def kick(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _loop(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                self.reconcile()
            except Exception:
                log.exception("reconcile failed")
            await asyncio.sleep(0)

    def reconcile(self) -> None:
        workloads.collect_garbage(self)
        workloads.reconcile_deployments(self)
        # views: the stored objects themselves, read-only (writers clone first)
        workloads.reconcile_replicasets(self, self.store.view("pods"))
        nodes = self.store.view("nodes")
        workloads.reconcile_daemonsets(self, self.store.view("pods"), nodes)
        workloads.schedule(self, self.store.view("pods"), nodes)
        self.kubelet.reconcile(self.store.view("pods"))
        slices = endpoints.SLICES in self.registry.types  # 1.21 on: EndpointSlices too
        endpoints.reconcile_endpoints(self.store, self.store.view("pods"), slices)
        self.proxy.reconcile()
        self.sandboxes.dns.update(self.store.view("services"))  # the cluster zone

    def _on_event(self, event: Event) -> None:
        if event.key == CRDS:
            if event.type == "DELETED":
                rt = self.registry.drop_crd(event.obj)
                if rt is not None:
                    self.store.drop_type(rt.key)
            else:
                self.registry.set_crd(event.obj)
        elif event.key == "pods" and event.type == "DELETED":
            self.kubelet.forget(event.obj)
        elif event.key == "services" and event.type == "DELETED":
            self._service_ips.discard(event.obj.get("spec", {}).get("clusterIP", ""))
            endpoints.service_deleted(self.store, event.obj)
        self.kick()

    # -- writes with defaults ----------------------------------------------------

    def create(self, key: str, obj: Obj) -> Obj:
        rt = self.registry.types.get(key)
        if rt is not None:
            self.admit(rt, obj)
        return self.store.create(key, obj)

    def delete_pod(self, namespace: str, name: str) -> None:
        with contextlib.suppress(ApiError):
            self.store.delete("pods", namespace, name)

    def admit(self, rt: ResourceType, obj: Obj, old: Obj | None = None) -> None:
        """Defaults and server-owned fields, as the API server's admission sets them."""
        obj["apiVersion"] = rt.api_version()
        obj["kind"] = rt.kind
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            namespace = meta.get("namespace") or "default"
            meta["namespace"] = namespace
            if self.store.get("namespaces", "", namespace) is None:
                raise ApiError(404, f'namespaces "{namespace}" not found',
                               details={"name": namespace, "kind": "namespaces"})  # fmt: skip
        else:
            meta.pop("namespace", None)
        handler = getattr(self, f"_admit_{rt.plural}", None)
        if handler is not None and not rt.from_crd:
            handler(obj, old)

    def _admit_pods(self, obj: Obj, old: Obj | None) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        for container in spec.get("containers") or []:
            container.setdefault("imagePullPolicy", "IfNotPresent")
            container.setdefault("terminationMessagePath", "/dev/termination-log")
        if old is None:
            status = obj.get("status") or {}
            status.setdefault("phase", "Pending")
            status.setdefault("qosClass", "BestEffort")
            obj["status"] = status

    def _admit_deployments(self, obj: Obj, old: Obj | None) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        spec.setdefault(
            "strategy",
            {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
        )
        obj.setdefault("status", {})

    def _admit_replicasets(self, obj: Obj, old: Obj | None) -> None:
        obj.setdefault("spec", {}).setdefault("replicas", 1)
        obj.setdefault("status", {"replicas": 0})

    def _admit_daemonsets(self, obj: Obj, old: Obj | None) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault(
            "updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
        )
        obj.setdefault("status", {"currentNumberScheduled": 0, "desiredNumberScheduled": 0,
                                  "numberMisscheduled": 0, "numberReady": 0})  # fmt: skip

    def _admit_namespaces(self, obj: Obj, old: Obj | None) -> None:
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}

    def _admit_services(self, obj: Obj, old: Obj | None) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        if old is not None and old.get("spec", {}).get("clusterIP"):
            spec["clusterIP"] = old["spec"]["clusterIP"]
        elif spec.get("clusterIP") != "None":
            spec["clusterIP"] = self._next_service_ip()
        if spec.get("clusterIP") and spec["clusterIP"] != "None":
            spec["clusterIPs"] = [spec["clusterIP"]]
        obj.setdefault("status", {"loadBalancer": {}})

    def _next_service_ip(self) -> str:
        net = ipaddress.ip_network(SERVICE_CIDR)
        for index, addr in enumerate(net.hosts()):
            if index < 9:
                continue  # .1 is the kubernetes service, .10 traditionally DNS
            text = str(addr)
            if text not in self._service_ips:
                self._service_ips.add(text)
                return text
        raise ApiError(500, "service network is full")

    def _admit_customresourcedefinitions(self, obj: Obj, old: Obj | None) -> None:
        spec = obj.get("spec") or {}
        names = dict(spec.get("names") or {})
        if names.get("kind"):
            names.setdefault("singular", names["kind"].lower())
            names.setdefault("listKind", names["kind"] + "List")
        now = now_rfc3339()
        obj["status"] = {
            "acceptedNames": names,
            "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
            or ([spec["version"]] if spec.get("version") else []),  # v1beta1's one version
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": now},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": now},
            ],
        }  # fmt: skip
        expected = f"{names.get('plural')}.{spec.get('group')}"
        if obj["metadata"].get("name") != expected:
            raise ApiError(
                422,
                f'CustomResourceDefinition.apiextensions.k8s.io "{obj["metadata"].get("name")}" '
                f'is invalid: metadata.name: Invalid value: must be spec.names.plural+"."+'
                f'spec.group ("{expected}")',
                reason="Invalid",
            )
