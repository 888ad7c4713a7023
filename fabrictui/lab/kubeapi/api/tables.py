"""`meta.k8s.io/v1` Table responses with kubectl's usual columns.

kubectl asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` and
prints what the server returns; priority-1 columns appear with `-o wide`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
Column = tuple[str, str, int]  # name, type, priority


def parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """kubectl's HumanDuration: 45s, 4m3s, 20m, 5h3m, 20h, 3d4h, 30d, 2y30d."""
    s = int(seconds)
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    years, days = hours // (24 * 365), (hours // 24) % 365
    if years < 8:
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{years}y"


def age(obj: Obj) -> str:
    created = parse_time(obj.get("metadata", {}).get("creationTimestamp"))
    if created is None:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.UTC) - created).total_seconds())


def _none(value: Any) -> str:
    return "<none>" if value in (None, "", []) else str(value)


def selector_text(selector: Obj | None) -> str:
    if not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        parts.append(f"{expr.get('key')} {expr.get('operator', '').lower()}")
    return ",".join(parts) or "<none>"


def _containers(obj: Obj) -> tuple[str, str]:
    spec = obj.get("spec", {}).get("template", {}).get("spec", {})
    containers = spec.get("containers") or []
    return (
        ",".join(c.get("name", "") for c in containers) or "<none>",
        ",".join(c.get("image", "") for c in containers) or "<none>",
    )


# -- per kind ---------------------------------------------------------------


def node_roles(node: Obj) -> str:
    labels = node.get("metadata", {}).get("labels") or {}
    roles = sorted(
        k.split("/", 1)[1]
        for k in labels
        if k.startswith("node-role.kubernetes.io/") and k.split("/", 1)[1]
    )
    return ",".join(roles) or "<none>"


def node_status(node: Obj) -> str:
    conditions = node.get("status", {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    text = "Unknown"
    if ready is not None:
        text = "Ready" if ready.get("status") == "True" else "NotReady"
    if node.get("spec", {}).get("unschedulable"):
        text += ",SchedulingDisabled"
    return text


def _address(node: Obj, kind: str) -> str:
    for addr in node.get("status", {}).get("addresses") or []:
        if addr.get("type") == kind:
            return addr.get("address", "")
    return "<none>"


NODE_COLUMNS: list[Column] = [
    ("Name", "string", 0),
    ("Status", "string", 0),
    ("Roles", "string", 0),
    ("Age", "string", 0),
    ("Version", "string", 0),
    ("Internal-IP", "string", 1),
    ("External-IP", "string", 1),
    ("OS-Image", "string", 1),
    ("Kernel-Version", "string", 1),
    ("Container-Runtime", "string", 1),
]


def node_row(node: Obj) -> list[Any]:
    info = node.get("status", {}).get("nodeInfo") or {}
    return [
        node["metadata"]["name"],
        node_status(node),
        node_roles(node),
        age(node),
        info.get("kubeletVersion", ""),
        _address(node, "InternalIP"),
        _address(node, "ExternalIP"),
        info.get("osImage", "<unknown>"),
        info.get("kernelVersion", "<unknown>"),
        info.get("containerRuntimeVersion", "<unknown>"),
    ]


def pod_status_text(pod: Obj) -> str:
    """kubectl's STATUS column."""
    status = pod.get("status") or {}
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return "Terminating"
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for cs in status.get("initContainerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason") not in (None, "PodInitializing"):
            return f"Init:{waiting['reason']}"
    for cs in reversed(status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
    return reason


def pod_ready(pod: Obj) -> tuple[int, int]:
    total = len(pod.get("spec", {}).get("containers") or [])
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return sum(1 for cs in statuses if cs.get("ready")), total


POD_COLUMNS: list[Column] = [
    ("Name", "string", 0),
    ("Ready", "string", 0),
    ("Status", "string", 0),
    ("Restarts", "string", 0),
    ("Age", "string", 0),
    ("IP", "string", 1),
    ("Node", "string", 1),
    ("Nominated Node", "string", 1),
    ("Readiness Gates", "string", 1),
]


def pod_row(pod: Obj) -> list[Any]:
    ready, total = pod_ready(pod)
    status = pod.get("status") or {}
    restarts = sum(cs.get("restartCount", 0) for cs in status.get("containerStatuses") or [])
    return [
        pod["metadata"]["name"],
        f"{ready}/{total}",
        pod_status_text(pod),
        str(restarts),
        age(pod),
        _none(status.get("podIP")),
        _none(pod.get("spec", {}).get("nodeName")),
        _none(status.get("nominatedNodeName")),
        "<none>",
    ]


DEPLOYMENT_COLUMNS: list[Column] = [
    ("Name", "string", 0),
    ("Ready", "string", 0),
    ("Up-to-date", "string", 0),
    ("Available", "string", 0),
    ("Age", "string", 0),
    ("Containers", "string", 1),
    ("Images", "string", 1),
    ("Selector", "string", 1),
]


def deployment_row(dep: Obj) -> list[Any]:
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    names, images = _containers(dep)
    return [
        dep["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        age(dep),
        names,
        images,
        selector_text(spec.get("selector")),
    ]


REPLICASET_COLUMNS: list[Column] = [
    ("Name", "string", 0),
    ("Desired", "integer", 0),
    ("Current", "integer", 0),
    ("Ready", "integer", 0),
    ("Age", "string", 0),
    ("Containers", "string", 1),
    ("Images", "string", 1),
    ("Selector", "string", 1),
]


def replicaset_row(rs: Obj) -> list[Any]:
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    names, images = _containers(rs)
    return [
        rs["metadata"]["name"],
        spec.get("replicas", 1),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        age(rs),
        names,
        images,
        selector_text(spec.get("selector")),
    ]


DAEMONSET_COLUMNS: list[Column] = [
    ("Name", "string", 0),
    ("Desired", "integer", 0),
    ("Current", "integer", 0),
    ("Ready", "integer", 0),
    ("Up-to-date", "integer", 0),
    ("Available", "integer", 0),
    ("Node Selector", "string", 0),
    ("Age", "string", 0),
    ("Containers", "string", 1),
    ("Images", "string", 1),
    ("Selector", "string", 1),
]


def daemonset_row(ds: Obj) -> list[Any]:
    spec, status = ds.get("spec") or {}, ds.get("status") or {}
    names, images = _containers(ds)
    node_selector = spec.get("template", {}).get("spec", {}).get("nodeSelector") or {}
    return [
        ds["metadata"]["name"],
        status.get("desiredNumberScheduled", 0),
        status.get("currentNumberScheduled", 0),
        status.get("numberReady", 0),
        status.get("updatedNumberScheduled", 0),
        status.get("numberAvailable", 0),
        ",".join(f"{k}={v}" for k, v in node_selector.items()) or "<none>",
        age(ds),
        names,
        images,
        selector_text(spec.get("selector")),
    ]


SERVICE_COLUMNS: list[Column] = [
    ("Name", "string", 0),
    ("Type", "string", 0),
    ("Cluster-IP", "string", 0),
    ("External-IP", "string", 0),
    ("Port(s)", "string", 0),
    ("Age", "string", 0),
    ("Selector", "string", 1),
]


def service_row(svc: Obj) -> list[Any]:
    spec = svc.get("spec") or {}
    ports = ",".join(
        f"{p.get('port')}"
        + (f":{p['nodePort']}" if p.get("nodePort") else "")
        + f"/{p.get('protocol', 'TCP')}"
        for p in spec.get("ports") or []
    )
    selector = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items())
    return [
        svc["metadata"]["name"],
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP") or "<none>",
        ",".join(spec.get("externalIPs") or []) or "<none>",
        ports or "<none>",
        age(svc),
        selector or "<none>",
    ]


NAMESPACE_COLUMNS: list[Column] = [
    ("Name", "string", 0),
    ("Status", "string", 0),
    ("Age", "string", 0),
]


def namespace_row(ns: Obj) -> list[Any]:
    return [ns["metadata"]["name"], ns.get("status", {}).get("phase", "Active"), age(ns)]


CRD_COLUMNS: list[Column] = [("Name", "string", 0), ("Created At", "date", 0)]
# kubectl get networkpolicies: NAME, POD-SELECTOR (`<none>` for `{}`: every pod), AGE
NETPOL_COLUMNS: list[Column] = [("Name", "string", 0), ("Pod-Selector", "string", 0),
                                ("Age", "string", 0)]  # fmt: skip


def netpol_row(pol: Obj) -> list[Any]:
    selector = (pol.get("spec") or {}).get("podSelector")
    return [pol["metadata"]["name"], selector_text(selector), age(pol)]


def crd_row(crd: Obj) -> list[Any]:
    return [crd["metadata"]["name"], crd["metadata"].get("creationTimestamp", "")]


EVENT_COLUMNS: list[Column] = [
    ("Last Seen", "string", 0),
    ("Type", "string", 0),
    ("Reason", "string", 0),
    ("Object", "string", 0),
    ("Message", "string", 0),
]


def event_row(event: Obj) -> list[Any]:
    involved = event.get("involvedObject") or {}
    seen = parse_time(event.get("lastTimestamp"))
    last_seen = (
        human_duration((datetime.datetime.now(datetime.UTC) - seen).total_seconds())
        if seen
        else "<unknown>"
    )
    return [
        last_seen,
        event.get("type", ""),
        event.get("reason", ""),
        f"{involved.get('kind', '').lower()}/{involved.get('name', '')}",
        event.get("message", ""),
    ]


DEFAULT_COLUMNS: list[Column] = [("Name", "string", 0), ("Age", "string", 0)]


def default_row(obj: Obj) -> list[Any]:
    return [obj["metadata"]["name"], age(obj)]


TABLES: dict[str, tuple[list[Column], Callable[[Obj], list[Any]]]] = {
    "nodes": (NODE_COLUMNS, node_row),
    "pods": (POD_COLUMNS, pod_row),
    "deployments.apps": (DEPLOYMENT_COLUMNS, deployment_row),
    "replicasets.apps": (REPLICASET_COLUMNS, replicaset_row),
    "daemonsets.apps": (DAEMONSET_COLUMNS, daemonset_row),
    "services": (SERVICE_COLUMNS, service_row),
    "namespaces": (NAMESPACE_COLUMNS, namespace_row),
    "customresourcedefinitions.apiextensions.k8s.io": (CRD_COLUMNS, crd_row),
    "events": (EVENT_COLUMNS, event_row),
    "networkpolicies.networking.k8s.io": (NETPOL_COLUMNS, netpol_row),
}


def _partial(obj: Obj) -> Obj:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


def table(
    key: str,
    objects: list[Obj],
    resource_version: str,
    include_object: str = "Metadata",
    with_columns: bool = True,
) -> Obj:
    columns, row = TABLES.get(key, (DEFAULT_COLUMNS, default_row))
    rows = []
    for obj in objects:
        entry: Obj = {"cells": row(obj)}
        if include_object == "Object":
            entry["object"] = obj
        elif include_object != "None":
            entry["object"] = _partial(obj)
        rows.append(entry)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {
                "name": name,
                "type": typ,
                "format": "name" if name == "Name" else "",
                "description": "",
                "priority": priority,
            }
            for name, typ, priority in columns
        ]
        if with_columns
        else [],
        "rows": rows,
    }
