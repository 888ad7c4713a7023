"""The endpoints controller: each Service with a selector gets an Endpoints object of the
same name listing the pods it selects, as kube-controller-manager keeps them.

Served as Kubernetes 1.15 serves them (core/v1 Endpoints): one subset per set of ports,
ready pods (phase Running, condition Ready) under `addresses`, the others that have an IP
under `notReadyAddresses`, each with `nodeName` and a `targetRef` to the pod; a Service that
selects nothing has an Endpoints object with no subsets. Terminating pods are left out, a
Service without a selector keeps the Endpoints written by hand, and the Endpoints of a
deleted Service go with it. Written only when something changed, so the loop settles."""

from __future__ import annotations

import contextlib
from typing import Any

from fabrictui.lab.kubeapi.errors import ApiError
from fabrictui.lab.kubeapi.objects import labels_of, name_of, ns_of, pod_ready, pod_terminating

Obj = dict[str, Any]


def target_port(service_port: Obj, pod: Obj) -> int | None:
    """The port the pod serves a Service port on: a number, or a container port's name."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and isinstance(port.get("containerPort"), int):
                return int(port["containerPort"])
    return None


def selected(service: Obj, pods: list[Obj]) -> list[Obj]:
    """The pods of the Service's namespace its selector matches (an empty selector: none)."""
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selector:
        return []
    ns = ns_of(service)
    return [
        p
        for p in pods
        if ns_of(p) == ns
        and not pod_terminating(p)
        and all(labels_of(p).get(k) == v for k, v in selector.items())
    ]


def _address(pod: Obj) -> Obj:
    meta = pod.get("metadata") or {}
    address: Obj = {"ip": pod["status"]["podIP"]}
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        address["nodeName"] = node
    address["targetRef"] = {
        "kind": "Pod",
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    return address


def subsets(service: Obj, pods: list[Obj]) -> list[Obj]:
    """The Endpoints subsets of `service`: pods grouped by the ports they serve."""
    groups: dict[tuple[tuple[str, int, str], ...], Obj] = {}
    for pod in selected(service, pods):
        if not (pod.get("status") or {}).get("podIP"):
            continue
        ports = []
        for sp in (service.get("spec") or {}).get("ports") or []:
            number = target_port(sp, pod)
            if number is not None:
                ports.append((str(sp.get("name") or ""), number, sp.get("protocol") or "TCP"))
        key = tuple(ports)
        group = groups.setdefault(key, {"addresses": [], "notReadyAddresses": []})
        group["addresses" if pod_ready(pod) else "notReadyAddresses"].append(_address(pod))
    out = []
    for key, group in groups.items():
        subset: Obj = {}
        for field in ("addresses", "notReadyAddresses"):
            if group[field]:
                subset[field] = sorted(group[field], key=lambda a: a["ip"])
        ports = [{"port": n, "protocol": pr} | ({"name": nm} if nm else {}) for nm, n, pr in key]
        if ports:
            subset["ports"] = ports
        out.append(subset)
    return out


def reconcile_endpoints(store: Any, pods: list[Obj]) -> None:
    """Bring every selector Service's Endpoints in step with its pods."""
    for service in store.view("services"):
        if not (service.get("spec") or {}).get("selector"):
            continue
        ns, name = ns_of(service), name_of(service)
        body: Obj = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels_of(service))},
        }
        found = subsets(service, pods)
        if found:
            body["subsets"] = found
        current = store.get("endpoints", ns, name)
        if current is None:
            with contextlib.suppress(ApiError):
                store.create("endpoints", body)
            continue
        body["metadata"] = {**current["metadata"], **body["metadata"]}
        if {k: v for k, v in current.items() if k != "metadata"} != {
            k: v for k, v in body.items() if k != "metadata"
        } or current["metadata"].get("labels") != body["metadata"]["labels"]:
            with contextlib.suppress(ApiError):
                store.update("endpoints", body)


def service_deleted(store: Any, service: Obj) -> None:
    """The Endpoints of a deleted Service go with it."""
    with contextlib.suppress(ApiError):
        store.delete("endpoints", ns_of(service), name_of(service))
