"""Small helpers over JSON objects: metadata, owners, conditions, tolerations."""

from __future__ import annotations

import json
from typing import Any

from fabrictui.lab.kubeapi.store import now_rfc3339

Obj = dict[str, Any]

_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def meta(obj: Obj) -> Obj:
    return obj.setdefault("metadata", {})


def name_of(obj: Obj) -> str:
    return obj.get("metadata", {}).get("name", "")


def ns_of(obj: Obj) -> str:
    return obj.get("metadata", {}).get("namespace", "")


def uid_of(obj: Obj) -> str:
    return obj.get("metadata", {}).get("uid", "")


def labels_of(obj: Obj) -> dict[str, str]:
    return obj.get("metadata", {}).get("labels") or {}


def owner_ref(owner: Obj, api_version: str, kind: str) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name_of(owner),
        "uid": uid_of(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_uid(obj: Obj) -> str | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def controller_ref(obj: Obj) -> Obj | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def template_hash(template: Obj) -> str:
    """FNV-32a of the pod template, spelled with Kubernetes' safe alphabet."""
    h = 0x811C9DC5
    for byte in json.dumps(template, sort_keys=True).encode():
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return "".join(_ALPHANUMS[ord(c) % len(_ALPHANUMS)] for c in str(h))


def set_condition(
    conditions: list[Obj],
    ctype: str,
    status: str,
    reason: str | None = None,
    message: str | None = None,
    heartbeat: bool = False,
) -> list[Obj]:
    """Set one condition, keeping lastTransitionTime when the status is unchanged."""
    now = now_rfc3339()
    out = [c for c in conditions if c.get("type") != ctype]
    old = next((c for c in conditions if c.get("type") == ctype), None)
    cond: Obj = {"type": ctype, "status": status}
    if heartbeat:
        cond["lastHeartbeatTime"] = old.get("lastHeartbeatTime", now) if old else now
    if old is not None and old.get("status") == status:
        cond["lastTransitionTime"] = old.get("lastTransitionTime", now)
    else:
        cond["lastTransitionTime"] = now
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    if old is not None and {k: v for k, v in old.items() if "Time" not in k} == {
        k: v for k, v in cond.items() if "Time" not in k
    }:
        cond = old
    index = next((i for i, c in enumerate(conditions) if c.get("type") == ctype), len(out))
    out.insert(min(index, len(out)), cond)
    return out


def condition_true(obj: Obj, ctype: str) -> bool:
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond.get("status") == "True"
    return False


def tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    for tol in tolerations:
        op = tol.get("operator", "Equal")
        key = tol.get("key", "")
        if key and key != taint.get("key"):
            continue
        if not key and op != "Exists":
            continue
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if op == "Exists" or tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def tolerates_all(tolerations: list[Obj], taints: list[Obj]) -> bool:
    return all(
        tolerates(tolerations, t) for t in taints if t.get("effect") in ("NoSchedule", "NoExecute")
    )


def node_selector_matches(pod_spec: Obj, node: Obj) -> bool:
    wanted = pod_spec.get("nodeSelector") or {}
    labels = labels_of(node)
    return all(labels.get(k) == v for k, v in wanted.items())


def pod_terminating(pod: Obj) -> bool:
    return bool(pod.get("metadata", {}).get("deletionTimestamp"))


def pod_ready(pod: Obj) -> bool:
    return pod.get("status", {}).get("phase") == "Running" and condition_true(pod, "Ready")
