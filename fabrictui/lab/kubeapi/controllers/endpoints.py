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
import hashlib
from typing import Any

from fabrictui.lab.kubeapi.errors import ApiError
from fabrictui.lab.kubeapi.objects import labels_of, name_of, ns_of, pod_ready, pod_terminating

Obj = dict[str, Any]
SLICES = "endpointslices.discovery.k8s.io"
SLICE_LABEL = "kubernetes.io/service-name"


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


def endpoint_slice(service: Obj, found: list[Obj]) -> Obj:
    """The EndpointSlice the endpointslice controller (1.21+) keeps beside the Endpoints:
    one per Service here (a real one splits at 100 endpoints), named NAME-<5 characters>."""
    ns, name = ns_of(service), name_of(service)
    endpoints, ports = [], []
    for subset in found:
        for field, ready in (("addresses", True), ("notReadyAddresses", False)):
            for addr in subset.get(field) or []:
                ep: Obj = {"addresses": [addr["ip"]], "conditions": {"ready": ready}}
                ep.update({k: addr[k] for k in ("nodeName", "targetRef") if k in addr})
                endpoints.append(ep)
        ports += [p for p in subset.get("ports") or [] if p not in ports]
    suffix = hashlib.sha256(f"{ns}/{name}".encode()).hexdigest()[:5]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{name}-{suffix}",
            "namespace": ns,
            "labels": {SLICE_LABEL: name,
                       "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    }  # fmt: skip


def _write(store: Any, key: str, body: Obj) -> None:
    """Create `body`, or update it when what it says changed."""
    meta = body["metadata"]
    current = store.get(key, meta["namespace"], meta["name"])
    with contextlib.suppress(ApiError):
        if current is None:
            store.create(key, body)
            return
        same_meta = current["metadata"].get("labels") == meta.get("labels")
        rest = {k: v for k, v in current.items() if k != "metadata"}
        if same_meta and rest == {k: v for k, v in body.items() if k != "metadata"}:
            return
        store.update(key, {**body, "metadata": {**current["metadata"], **meta}})


def reconcile_endpoints(store: Any, pods: list[Obj], slices: bool = False) -> None:
    """Bring every selector Service's Endpoints (and, `slices`, its EndpointSlice) in step
    with its pods."""
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
        _write(store, "endpoints", body)
        if slices:
            _write(store, SLICES, endpoint_slice(service, found))


def service_deleted(store: Any, service: Obj) -> None:
    """The Endpoints (and EndpointSlices) of a deleted Service go with it."""
    with contextlib.suppress(ApiError):
        store.delete("endpoints", ns_of(service), name_of(service))
    for piece in store.view(SLICES, ns_of(service)):
        if labels_of(piece).get(SLICE_LABEL) == name_of(service):
            with contextlib.suppress(ApiError):
                store.delete(SLICES, ns_of(piece), name_of(piece))
