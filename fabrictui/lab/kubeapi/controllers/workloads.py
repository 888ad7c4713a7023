"""Level-triggered controllers: Deployments, ReplicaSets, DaemonSets, scheduling
and garbage collection. Each function reads the whole store and writes only
what differs, so running them again after their own writes is a no-op."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from fabrictui.lab.kubeapi.errors import ApiError
from fabrictui.lab.kubeapi.objects import (
    condition_true,
    controller_uid,
    labels_of,
    name_of,
    node_selector_matches,
    ns_of,
    owner_ref,
    pod_ready,
    pod_terminating,
    set_condition,
    template_hash,
    tolerates_all,
    uid_of,
)
from fabrictui.lab.kubeapi.selection import selector_from_match_labels
from fabrictui.lab.kubeapi.store import clone, now_rfc3339

if TYPE_CHECKING:
    from fabrictui.lab.kubeapi.controllers.parts import ClusterParts

Obj = dict[str, Any]
PODS, RS, DEPLOY, DS, NODES = (
    "pods",
    "replicasets.apps",
    "deployments.apps",
    "daemonsets.apps",
    "nodes",
)
# taints the node lifecycle controller adds; DaemonSet pods tolerate them
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists"},
]


def _pod_from_template(owner: Obj, template: Obj, api_version: str, kind: str) -> Obj:
    tmeta = template.get("metadata") or {}
    pod: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"{name_of(owner)}-",
            "namespace": ns_of(owner),
            "labels": dict(tmeta.get("labels") or {}),
            "ownerReferences": [owner_ref(owner, api_version, kind)],
        },
        "spec": clone(template.get("spec") or {}),
    }
    if tmeta.get("annotations"):
        pod["metadata"]["annotations"] = dict(tmeta["annotations"])
    return pod


def _write_status(cluster: ClusterParts, key: str, obj: Obj, status: Obj) -> None:
    if obj.get("status") == status:
        return
    with contextlib.suppress(ApiError):  # deleted meanwhile
        cluster.store.update(key, {**obj, "status": status})


def _owned(pods: list[Obj], owner: Obj) -> list[Obj]:
    uid = uid_of(owner)
    return [p for p in pods if controller_uid(p) == uid]


# -- Deployments --------------------------------------------------------------


def reconcile_deployments(cluster: ClusterParts) -> None:
    store = cluster.store
    all_rs = store.view(RS)
    for dep in store.view(DEPLOY):
        spec = dep.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        template = clone(spec.get("template") or {})
        phash = template_hash(template)
        rs_name = f"{name_of(dep)}-{phash}"
        owned = [rs for rs in all_rs if controller_uid(rs) == uid_of(dep)]
        current = next((rs for rs in owned if name_of(rs) == rs_name), None)
        if current is None:
            template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = (
                phash
            )
            selector = clone(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = phash
            rs = {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": rs_name,
                    "namespace": ns_of(dep),
                    "labels": {**(template["metadata"].get("labels") or {})},
                    "annotations": {"deployment.kubernetes.io/desired-replicas": str(replicas)},
                    "ownerReferences": [owner_ref(dep, "apps/v1", "Deployment")],
                },
                "spec": {"replicas": replicas, "selector": selector, "template": template},
            }
            try:
                current = cluster.create(RS, rs)
            except ApiError:
                continue
            owned.append(current)
            cluster.events.record(
                dep, "ScalingReplicaSet", f"Scaled up replica set {rs_name} to {replicas}",
                "deployment-controller",
            )  # fmt: skip
        for rs in owned:
            want = replicas if rs is current else 0
            have = int(rs.get("spec", {}).get("replicas", 0))
            if have != want:
                direction = "up" if want > have else "down"
                cluster.events.record(
                    dep, "ScalingReplicaSet",
                    f"Scaled {direction} replica set {name_of(rs)} to {want}",
                    "deployment-controller",
                )  # fmt: skip
                rs = clone(rs)
                rs["spec"]["replicas"] = want
                rs["metadata"].setdefault("annotations", {})[
                    "deployment.kubernetes.io/desired-replicas"
                ] = str(replicas)
                with contextlib.suppress(ApiError):
                    store.update(RS, rs)
        rs_status = [rs.get("status") or {} for rs in owned]
        cur_status = current.get("status") or {}
        ready = sum(s.get("readyReplicas", 0) for s in rs_status)
        status: Obj = {
            "observedGeneration": dep["metadata"].get("generation", 1),
            "replicas": sum(s.get("replicas", 0) for s in rs_status),
            "updatedReplicas": cur_status.get("replicas", 0),
            "readyReplicas": ready,
            "availableReplicas": sum(s.get("availableReplicas", 0) for s in rs_status),
        }
        status["unavailableReplicas"] = max(replicas - status["availableReplicas"], 0)
        for k in ("readyReplicas", "availableReplicas", "unavailableReplicas"):
            if not status[k]:
                del status[k]
        old = dep.get("status") or {}
        available = status.get("availableReplicas", 0) >= replicas
        conditions = set_condition(
            old.get("conditions") or [],
            "Available",
            "True" if available else "False",
            "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
            "Deployment has minimum availability."
            if available
            else "Deployment does not have minimum availability.",
        )
        conditions = set_condition(
            conditions,
            "Progressing",
            "True",
            "NewReplicaSetAvailable" if available else "ReplicaSetUpdated",
            f'ReplicaSet "{rs_name}" has successfully progressed.'
            if available
            else f'ReplicaSet "{rs_name}" is progressing.',
        )
        status["conditions"] = conditions
        _write_status(cluster, DEPLOY, dep, status)


# -- ReplicaSets ----------------------------------------------------------------


def _deletion_rank(pod: Obj) -> tuple[int, int, str]:
    """Delete unscheduled first, then not ready, then the newest."""
    scheduled = 1 if pod.get("spec", {}).get("nodeName") else 0
    ready = 1 if pod_ready(pod) else 0
    created = pod["metadata"].get("creationTimestamp", "")
    return (scheduled, ready, "".join(chr(0x10FFFF - ord(c)) for c in created))


def reconcile_replicasets(cluster: ClusterParts, pods: list[Obj]) -> None:
    store = cluster.store
    for rs in store.view(RS):
        spec = rs.get("spec") or {}
        want = int(spec.get("replicas", 1))
        owned = [p for p in _owned(pods, rs) if not pod_terminating(p)]
        if len(owned) < want:
            for _ in range(want - len(owned)):
                pod = _pod_from_template(rs, spec.get("template") or {}, "apps/v1", "ReplicaSet")
                try:
                    created = cluster.create(PODS, pod)
                except ApiError:
                    break
                owned.append(created)
                cluster.events.record(
                    rs, "SuccessfulCreate", f"Created pod: {name_of(created)}",
                    "replicaset-controller",
                )  # fmt: skip
        elif len(owned) > want:
            owned.sort(key=_deletion_rank)
            for pod in owned[: len(owned) - want]:
                cluster.delete_pod(ns_of(pod), name_of(pod))
                cluster.events.record(
                    rs, "SuccessfulDelete", f"Deleted pod: {name_of(pod)}", "replicaset-controller"
                )
            owned = owned[len(owned) - want :]
        ready = sum(1 for p in owned if pod_ready(p))
        status: Obj = {
            "replicas": len(owned),
            "fullyLabeledReplicas": len(owned),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        for k in ("readyReplicas", "availableReplicas"):
            if not status[k]:
                del status[k]
        _write_status(cluster, RS, rs, status)


# -- DaemonSets -------------------------------------------------------------------


def daemon_eligible(ds: Obj, node: Obj) -> bool:
    pod_spec = ds.get("spec", {}).get("template", {}).get("spec", {})
    tolerations = (pod_spec.get("tolerations") or []) + DAEMON_TOLERATIONS
    return node_selector_matches(pod_spec, node) and tolerates_all(
        tolerations, node.get("spec", {}).get("taints") or []
    )


def reconcile_daemonsets(cluster: ClusterParts, pods: list[Obj], nodes: list[Obj]) -> None:
    store = cluster.store
    for ds in store.view(DS):
        template = ds.get("spec", {}).get("template") or {}
        owned = [p for p in _owned(pods, ds) if not pod_terminating(p)]
        by_node: dict[str, Obj] = {}
        for pod in owned:
            node_name = pod.get("spec", {}).get("nodeName", "")
            if node_name in by_node:
                cluster.delete_pod(ns_of(pod), name_of(pod))
            else:
                by_node[node_name] = pod
        eligible = [n for n in nodes if daemon_eligible(ds, n)]
        eligible_names = {name_of(n) for n in eligible}
        for node_name, pod in list(by_node.items()):
            if node_name not in eligible_names:
                cluster.delete_pod(ns_of(pod), name_of(pod))
                del by_node[node_name]
        for node in eligible:
            if name_of(node) in by_node:
                continue
            pod = _pod_from_template(ds, template, "apps/v1", "DaemonSet")
            pod["spec"]["nodeName"] = name_of(node)
            tolerations = pod["spec"].setdefault("tolerations", [])
            tolerations.extend(t for t in DAEMON_TOLERATIONS if t not in tolerations)
            try:
                by_node[name_of(node)] = created = cluster.create(PODS, pod)
            except ApiError:
                continue
            cluster.events.record(
                ds, "SuccessfulCreate", f"Created pod: {name_of(created)}", "daemonset-controller"
            )
        ready = sum(1 for p in by_node.values() if pod_ready(p))
        status = {
            "currentNumberScheduled": len(by_node),
            "desiredNumberScheduled": len(eligible),
            "numberMisscheduled": 0,
            "numberReady": ready,
            "numberAvailable": ready,
            "updatedNumberScheduled": len(by_node),
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        if not ready:
            del status["numberAvailable"]
        _write_status(cluster, DS, ds, status)


# -- scheduling -------------------------------------------------------------------


def schedulable(node: Obj, pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    if node.get("spec", {}).get("unschedulable"):
        return False
    return node_selector_matches(spec, node) and tolerates_all(
        spec.get("tolerations") or [], node.get("spec", {}).get("taints") or []
    )


def _unschedulable_message(nodes: list[Obj], pod: Obj) -> str:
    counts: dict[str, int] = {}
    for node in nodes:
        for taint in node.get("spec", {}).get("taints") or []:
            if not tolerates_all(pod.get("spec", {}).get("tolerations") or [], [taint]):
                text = f"{taint.get('key')}: {taint.get('value', '')}"
                counts[text] = counts.get(text, 0) + 1
                break
        else:
            if not node_selector_matches(pod.get("spec") or {}, node):
                counts["node selector"] = counts.get("node selector", 0) + 1
    parts = [
        f"{n} node(s) had untolerated taint {{{t}}}" if t != "node selector"
        else f"{n} node(s) didn't match Pod's node affinity/selector"
        for t, n in sorted(counts.items())
    ]  # fmt: skip
    return f"0/{len(nodes)} nodes are available: " + ", ".join(parts) + "."


def schedule(cluster: ClusterParts, pods: list[Obj], nodes: list[Obj]) -> None:
    """Bind pending pods to nodes, spreading pods of one owner over distinct nodes."""
    load: dict[str, int] = {name_of(n): 0 for n in nodes}
    owner_load: dict[tuple[str, str], int] = {}
    for pod in pods:
        node_name = pod.get("spec", {}).get("nodeName")
        if node_name and not pod_terminating(pod):
            load[node_name] = load.get(node_name, 0) + 1
            key = (controller_uid(pod) or "", node_name)
            owner_load[key] = owner_load.get(key, 0) + 1
    pending = [p for p in pods if not p.get("spec", {}).get("nodeName") and not pod_terminating(p)]
    pending.sort(key=lambda p: (p["metadata"].get("creationTimestamp", ""), name_of(p)))
    for pod in pending:
        candidates = [n for n in nodes if schedulable(n, pod)]
        status = clone(pod.get("status") or {})
        if not candidates:
            message = _unschedulable_message(nodes, pod)
            conditions = set_condition(
                status.get("conditions") or [], "PodScheduled", "False", "Unschedulable", message
            )
            if conditions != status.get("conditions"):
                status["conditions"] = conditions
                status["phase"] = "Pending"
                _write_status(cluster, PODS, pod, status)
                cluster.events.record(
                    pod, "FailedScheduling", message, "default-scheduler", "Warning"
                )
            continue
        owner = controller_uid(pod) or ""
        best = min(
            candidates,
            key=lambda n: (owner_load.get((owner, name_of(n)), 0), load[name_of(n)], name_of(n)),
        )
        node_name = name_of(best)
        pod = clone(pod)
        pod["spec"]["nodeName"] = node_name
        status["conditions"] = set_condition(status.get("conditions") or [], "PodScheduled", "True")
        status.pop("nominatedNodeName", None)
        pod["status"] = status
        try:
            cluster.store.update(PODS, pod)
        except ApiError:
            continue
        cluster.events.record(
            pod, "Scheduled", f"Successfully assigned {ns_of(pod)}/{name_of(pod)} to {node_name}",
            "default-scheduler",
        )  # fmt: skip
        load[node_name] += 1
        owner_load[(owner, node_name)] = owner_load.get((owner, node_name), 0) + 1


# -- garbage collection and namespaces --------------------------------------------


def collect_garbage(cluster: ClusterParts) -> None:
    store = cluster.store
    live_uids = {uid_of(o) for key in (RS, DEPLOY, DS, NODES) for o in store.view(key)}
    for rs in store.view(RS):
        uid = controller_uid(rs)
        if uid and uid not in live_uids:
            with contextlib.suppress(ApiError):
                store.delete(RS, ns_of(rs), name_of(rs))
    live_uids = {uid_of(o) for key in (RS, DEPLOY, DS, NODES) for o in store.view(key)}
    for pod in store.view(PODS):
        uid = controller_uid(pod)
        if uid and uid not in live_uids:
            cluster.delete_pod(ns_of(pod), name_of(pod))
    namespaces = {name_of(ns) for ns in store.view("namespaces")}
    for key in store.kinds():
        rt = cluster.registry.types.get(key)
        if rt is None or not rt.namespaced:
            continue
        for obj in store.view(key):
            if ns_of(obj) not in namespaces:
                if key == PODS:
                    cluster.delete_pod(ns_of(obj), name_of(obj))
                else:
                    with contextlib.suppress(ApiError):
                        store.delete(key, ns_of(obj), name_of(obj))
    for ns in namespaces:
        if store.get("serviceaccounts", ns, "default") is None:
            with contextlib.suppress(ApiError):
                store.create(
                    "serviceaccounts",
                    {"apiVersion": "v1", "kind": "ServiceAccount",
                     "metadata": {"name": "default", "namespace": ns}},
                )  # fmt: skip


def node_ready(node: Obj) -> bool:
    return condition_true(node, "Ready")


def labels_match(selector: Obj | None, obj: Obj) -> bool:
    return selector_from_match_labels(selector)({"metadata": {"labels": labels_of(obj)}})


__all__ = [
    "collect_garbage",
    "labels_match",
    "node_ready",
    "now_rfc3339",
    "reconcile_daemonsets",
    "reconcile_deployments",
    "reconcile_replicasets",
    "schedule",
]
