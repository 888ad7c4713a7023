"""What the simulated cluster keeps (one record per node, pod and deployment) and the
API objects it hands out for them.

The objects are what the official client's `ApiClient.sanitize_for_serialization`
gives for a V1Node / V1Pod (camelCase keys, RFC 3339 times, absent fields left
out), so that the demo lab's nodes and pods become model objects through the same
`node_from_api` / `pod_from_api` as a real cluster's: a fix to how a pod's status
reads is made once, for both.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fabrictui.backends.demo import topology as topo
from fabrictui.capture.synth import calico_vtep_mac
from fabrictui.constants import (
    CALICO_NODE_ADDR_ANNOTATION,
    CALICO_TUNNEL_ADDR_ANNOTATION,
    CALICO_TUNNEL_MAC_ANNOTATION,
    KUBE_VERSION,
)
from fabrictui.model import Role

MAX_PODS = 110  # the kubelet's default --max-pods, the node's "pods" capacity
CALICO_IMAGE_TAG = "v3.10.1"  # what the demo's claimed 1.15 gets (intent/releases.py)
NOT_READY_TAINT = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
# what the node lifecycle controller sets once a kubelet stops posting its status (1.15:
# taint-based evictions on, so NoExecute too), and the words it writes on every condition
UNREACHABLE_TAINTS = tuple(
    {"key": "node.kubernetes.io/unreachable", "effect": effect}
    for effect in ("NoSchedule", "NoExecute")
)
KUBELET_STOPPED = ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
MASTER_TAINT = {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}
NETWORK_NOT_READY = (
    "runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
    "message:docker: network plugin is not ready: cni config uninitialized"
)

# Images of the pods the demo lab starts (kubeadm's and the bundled Calico manifest's).
_IMAGES = {
    "etcd": "k8s.gcr.io/etcd:3.3.10",
    "kube-proxy": f"k8s.gcr.io/kube-proxy:{KUBE_VERSION}",
    "coredns": "k8s.gcr.io/coredns:1.3.1",
    "calico-node": f"docker.io/calico/node:{CALICO_IMAGE_TAG}",
    "calico-kube-controllers": f"docker.io/calico/kube-controllers:{CALICO_IMAGE_TAG}",
    "calicoctl": f"docker.io/calico/ctl:{CALICO_IMAGE_TAG}",
    "nginx-deployment": "nginx:1.17",  # the seed's image: no ping in it (issue 25)
}
_DAEMONSETS = ("kube-proxy", "calico-node")


def api_time(t: float) -> str:
    """RFC 3339 in UTC, with as many fraction digits as `t` needs to come back exactly.

    A real API server writes whole seconds; the demo's times are fractions of a
    second apart, and the conversion reads any number of digits (RFC 3339 allows it).
    """
    whole = math.floor(t)
    text = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = t - whole  # exact: t and its integer part share the exponent's grid
    if fraction:
        text += format(Decimal(repr(fraction)), "f")[1:]
    return text + "Z"


@dataclass
class PodRec:
    namespace: str
    name: str
    owner: str | None
    created: float
    uid: str
    labels: tuple[tuple[str, str], ...] = ()
    node: str | None = None
    status: str = "Pending"
    ready: bool = False
    restarts: int = 0
    ip: str | None = None
    host_network: bool = False
    tolerates_master: bool = False
    preference: list[str] = field(default_factory=list)
    generation: int = 0
    terminating: bool = False
    image: str = ""
    unschedulable: str = ""  # the scheduler's message while no node fits
    deleted: float = 0.0  # deletionTimestamp once terminating

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def api(self) -> dict[str, Any]:
        """The pod as the API server would send it."""
        meta: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "uid": self.uid,
            "creationTimestamp": api_time(self.created),
            "labels": dict(self.labels),
        }
        if self.owner:
            kind = "DaemonSet" if self.owner in _DAEMONSETS else "ReplicaSet"
            # A ReplicaSet's pods are named after it: <deployment>-<hash>-<suffix>.
            ref = self.owner if kind == "DaemonSet" else self.name.rsplit("-", 1)[0]
            meta["ownerReferences"] = [
                {
                    "apiVersion": "apps/v1",
                    "kind": kind,
                    "name": ref,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
        if self.terminating:
            meta["deletionTimestamp"] = api_time(self.deleted)
            meta["deletionGracePeriodSeconds"] = 30
        container = self.owner or (self.labels[0][1] if self.labels else self.name)
        spec: dict[str, Any] = {
            "containers": [{"name": container, "image": self.image or _image(self)}],
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
        }
        if self.host_network:
            spec["hostNetwork"] = True
        if self.node:
            spec["nodeName"] = self.node
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta,
            "spec": spec,
            "status": self._api_status(container),
        }

    def _api_status(self, container: str) -> dict[str, Any]:
        running = self.status == "Running"
        ready = running and self.ready
        scheduled: dict[str, Any] = {"type": "PodScheduled", "status": "True"}
        conditions = []  # a pod the scheduler has not looked at yet has none
        if self.node is None and self.unschedulable:
            scheduled = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
            scheduled["message"] = self.unschedulable
            conditions = [scheduled]
        if self.node is not None:
            flag = "True" if ready else "False"
            conditions = [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": flag},
                {"type": "ContainersReady", "status": flag},
                scheduled,
            ]
        status: dict[str, Any] = {
            "phase": "Pending" if self.status in ("Pending", "ContainerCreating") else "Running",
            "conditions": conditions,
            "qosClass": "BestEffort",
        }
        if self.node in topo.NODE_BY_NAME:
            status["hostIP"] = topo.NODE_BY_NAME[self.node].ip
        ip = self.ip
        if ip is None and self.host_network and self.node in topo.NODE_BY_NAME:
            ip = topo.NODE_BY_NAME[self.node].ip  # hostNetwork pods show their node's IP
        if ip is not None:
            status["podIP"] = ip
        state = self._container_state()
        if state is not None:
            cs: dict[str, Any] = {
                "name": container,
                "image": self.image or _image(self),
                "ready": ready,
                "restartCount": self.restarts,
                "state": state,
            }
            if self.restarts:
                cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
            status["containerStatuses"] = [cs]
        return status

    def _container_state(self) -> dict[str, Any] | None:
        since = api_time(self.created)
        if self.status == "Pending":
            # No container yet; a pod that ran before still counts its restarts.
            return {"waiting": {}} if self.restarts else None
        if self.status == "ContainerCreating":
            return {"waiting": {"reason": "ContainerCreating"}}
        if self.status == "Error":
            return {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": since}}
        if self.status in ("Running", "Terminating"):
            return {"running": {"startedAt": since}}
        return {"waiting": {"reason": self.status}}  # CrashLoopBackOff, ErrImagePull ...


def _image(pod: PodRec) -> str:
    key = pod.owner or dict(pod.labels).get("component", pod.name)
    if key in _IMAGES:
        return _IMAGES[key]
    return f"k8s.gcr.io/{key}:{KUBE_VERSION}"


@dataclass
class NodeRec:
    name: str
    role: Role
    created: float
    ip: str
    uid: str
    ready: bool = False
    kubelet_stopped: bool = False  # the stop-kubelet fault: its conditions are Unknown
    block: str | None = None
    calico_running: bool = False
    extra_blocks: list[str] = field(default_factory=list)  # claimed when `block` is full
    allocated: set[int] = field(default_factory=set)  # addresses in use, as integers
    images: set[str] = field(default_factory=set)

    @property
    def blocks(self) -> tuple[str, ...]:
        """The node's Calico blocks (its BlockAffinities), the first one first."""
        return (self.block, *self.extra_blocks) if self.block else ()

    @property
    def tunnel_ip(self) -> str | None:
        if self.block is None:
            return None
        return str(ipaddress.IPv4Network(self.block).network_address)

    def api(self) -> dict[str, Any]:
        """The node as the API server would send it (kubelet's and calico-node's fields)."""
        labels = {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": "linux",
        }
        annotations = {
            "kubeadm.alpha.kubernetes.io/cri-socket": "/var/run/dockershim.sock",
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        }
        taints = []
        if self.role is Role.MASTER:
            labels["node-role.kubernetes.io/master"] = ""
            taints.append(dict(MASTER_TAINT))
        if self.kubelet_stopped:
            taints += [dict(t) for t in UNREACHABLE_TAINTS]
        elif not self.ready:
            taints.append(dict(NOT_READY_TAINT))
        if self.block is not None:
            annotations[CALICO_NODE_ADDR_ANNOTATION] = f"{self.ip}/24"
            annotations[CALICO_TUNNEL_ADDR_ANNOTATION] = str(self.tunnel_ip)
            annotations[CALICO_TUNNEL_MAC_ANNOTATION] = calico_vtep_mac(self.name)
        ready: dict[str, Any] = {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status. AppArmor enabled",
        }
        if not self.ready:
            ready = {
                "type": "Ready",
                "status": "False",
                "reason": "KubeletNotReady",
                "message": NETWORK_NOT_READY,
            }
        conditions: list[dict[str, Any]] = [
            {"type": kind, "status": "False", "reason": f"KubeletHasSufficient{short}"}
            for kind, short in (
                ("MemoryPressure", "Memory"),
                ("DiskPressure", "Disk"),
                ("PIDPressure", "PID"),
            )
        ]
        if self.calico_running:
            conditions.insert(
                0, {"type": "NetworkUnavailable", "status": "False", "reason": "CalicoIsUp"}
            )
        conditions.append(ready)
        if self.kubelet_stopped:  # nobody posts them any more: each one Unknown
            status, reason, message = KUBELET_STOPPED
            conditions = [
                c if c["type"] == "NetworkUnavailable"
                else {**c, "status": status, "reason": reason, "message": message}
                for c in conditions
            ]  # fmt: skip
        capacity = {"cpu": "2", "memory": "2040888Ki", "pods": str(MAX_PODS)}
        spec: dict[str, Any] = {"taints": taints} if taints else {}
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "uid": self.uid,
                "creationTimestamp": api_time(self.created),
                "labels": labels,
                "annotations": annotations,
            },
            "spec": spec,
            "status": {
                "conditions": conditions,
                "addresses": [
                    {"type": "InternalIP", "address": self.ip},
                    {"type": "Hostname", "address": self.name},
                ],
                "capacity": capacity,
                "allocatable": dict(capacity),
                "nodeInfo": {
                    "kubeletVersion": KUBE_VERSION,
                    "kubeProxyVersion": KUBE_VERSION,
                    "containerRuntimeVersion": "docker://18.9.7",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                },
            },
        }


@dataclass
class Deployment:
    namespace: str
    name: str
    replicas: int
    template_hash: str
    app_label: str
