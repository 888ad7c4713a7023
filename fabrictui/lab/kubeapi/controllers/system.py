"""The objects a freshly built kubeadm cluster has, before any network plugin."""

from __future__ import annotations

import os
import uuid
from typing import Any

from fabrictui.constants import CLUSTER_DNS_IP, KUBE_VERSION, SERVICE_FIRST_IP
from fabrictui.lab.kubeapi.inventory import KubeHost, LabInventory
from fabrictui.lab.kubeapi.objects import owner_ref
from fabrictui.lab.kubeapi.store import Store, now_rfc3339

Obj = dict[str, Any]

NOT_READY_TAINT = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
MASTER_TAINT = {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}
NOT_READY_MESSAGE = (
    "runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
    "message:docker: network plugin is not ready: cni config uninitialized"
)
SERVICE_NETWORK_FIRST = SERVICE_FIRST_IP


def node_object(host: KubeHost, version: str = KUBE_VERSION) -> Obj:
    now = now_rfc3339()
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": host.name,
        "kubernetes.io/os": "linux",
    }
    taints = [dict(NOT_READY_TAINT)]
    if host.role == "master":
        labels["node-role.kubernetes.io/master"] = ""
        taints.insert(0, dict(MASTER_TAINT))
    if host.rack is not None:
        labels["topology.fabrictui.lab/rack"] = str(host.rack)
    conditions = [
        {"type": t, "status": "False", "reason": r, "message": m,
         "lastHeartbeatTime": now, "lastTransitionTime": now}
        for t, r, m in (
            ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory"),
            ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", "NetworkPluginNotReady", NOT_READY_MESSAGE),
        )
    ]  # fmt: skip
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": host.name,
            "labels": labels,
            "annotations": {"fabrictui.lab/netns": host.netns or ""},
        },
        "spec": {"taints": taints},
        "status": {
            "conditions": conditions,
            "addresses": [
                {"type": "InternalIP", "address": host.address},
                {"type": "Hostname", "address": host.name},
            ],
            "capacity": {"cpu": "2", "memory": "2048Mi", "pods": "110"},
            "allocatable": {"cpu": "2", "memory": "1948Mi", "pods": "110"},
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": str(uuid.uuid4()),
                "containerRuntimeVersion": "netns://fabrictui-lab",
                "kernelVersion": os.uname().release,
                "kubeProxyVersion": version,
                "kubeletVersion": version,
                "machineID": uuid.uuid4().hex,
                "operatingSystem": "linux",
                "osImage": "fabrictui rehearsal lab (network namespace)",
                "systemUUID": str(uuid.uuid4()),
            },
        },
    }


def _container(name: str, image: str, command: list[str] | None = None) -> Obj:
    c: Obj = {"name": name, "image": image, "imagePullPolicy": "IfNotPresent"}
    if command:
        c["command"] = command
    return c


def static_pod(component: str, image: str, master: Obj) -> Obj:
    name = master["metadata"]["name"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{component}-{name}",
            "namespace": "kube-system",
            "labels": {"component": component, "tier": "control-plane"},
            "annotations": {"kubernetes.io/config.source": "file"},
            "ownerReferences": [{**owner_ref(master, "v1", "Node"), "blockOwnerDeletion": False}],
        },
        "spec": {
            "nodeName": name,
            "hostNetwork": True,
            "priorityClassName": "system-cluster-critical",
            "containers": [_container(component, image, [component])],
            "tolerations": [{"operator": "Exists", "effect": "NoExecute"}],
        },
        "status": {"phase": "Pending"},
    }


def kube_proxy_daemonset(version: str = KUBE_VERSION) -> Obj:
    labels = {"k8s-app": "kube-proxy"}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "hostNetwork": True,
                    "priorityClassName": "system-node-critical",
                    "serviceAccountName": "kube-proxy",
                    "nodeSelector": {"beta.kubernetes.io/os": "linux"},
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [
                        _container(
                            "kube-proxy",
                            f"k8s.gcr.io/kube-proxy:{version}",
                            ["/usr/local/bin/kube-proxy"],
                        )
                    ],
                },
            },
            "updateStrategy": {"type": "RollingUpdate"},
        },
    }


def coredns_deployment() -> Obj:
    labels = {"k8s-app": "kube-dns"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "strategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "priorityClassName": "system-cluster-critical",
                    "serviceAccountName": "coredns",
                    "nodeSelector": {"beta.kubernetes.io/os": "linux"},
                    "tolerations": [
                        {"key": "CriticalAddonsOnly", "operator": "Exists"},
                        {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"},
                    ],
                    "containers": [
                        {
                            **_container("coredns", "k8s.gcr.io/coredns:1.3.1"),
                            "args": ["-conf", "/etc/coredns/Corefile"],
                            "ports": [
                                {"containerPort": 53, "name": "dns", "protocol": "UDP"},
                                {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                                {"containerPort": 9153, "name": "metrics", "protocol": "TCP"},
                            ],
                        }
                    ],
                },
            },
        },
    }


def kube_dns_service() -> Obj:
    """The cluster DNS Service as kubeadm 1.15's CoreDNS addon creates it: named kube-dns
    (kube-dns' name kept for clients that look for it), at the tenth address of the service
    range, selecting the coredns pods."""
    labels = {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
              "kubernetes.io/name": "KubeDNS"}  # fmt: skip
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kube-dns",
            "namespace": "kube-system",
            "labels": labels,
            "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": CLUSTER_DNS_IP,
            "selector": {"k8s-app": "kube-dns"},
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
            ],
            "sessionAffinity": "None",
        },
        "status": {"loadBalancer": {}},
    }


def bootstrap(store: Store, inventory: LabInventory, version: str = KUBE_VERSION) -> None:
    """Create the cluster as `kubeadm init` + `kubeadm join` leave it."""
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }
        store.create("namespaces", namespace)
    master: Obj | None = None
    for host in inventory.hosts:
        node = store.create("nodes", node_object(host, version))
        if host.role == "master" and master is None:
            master = node
    store.create(
        "services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": SERVICE_NETWORK_FIRST,
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                "sessionAffinity": "None",
            },
            "status": {"loadBalancer": {}},
        },
    )
    for sa_ns, sa in (("kube-system", "kube-proxy"), ("kube-system", "coredns")):
        store.create("serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                         "metadata": {"name": sa, "namespace": sa_ns}})  # fmt: skip
    if master is not None:
        for component, image in (
            ("etcd", "k8s.gcr.io/etcd:3.3.10"),
            ("kube-apiserver", f"k8s.gcr.io/kube-apiserver:{version}"),
            ("kube-controller-manager", f"k8s.gcr.io/kube-controller-manager:{version}"),
            ("kube-scheduler", f"k8s.gcr.io/kube-scheduler:{version}"),
        ):
            store.create("pods", static_pod(component, image, master))
    store.create("daemonsets.apps", kube_proxy_daemonset(version))
    store.create("deployments.apps", coredns_deployment())
    store.create("services", kube_dns_service())
