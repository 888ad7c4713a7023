"""API objects (raw JSON, as the API server sends them) -> model, following kubectl's
columns. Pure functions: the real client and the demo lab both go through them."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fabrictui.constants import (
    CALICO_TUNNEL_ADDR_ANNOTATION,
    CALICO_TUNNEL_MAC_ANNOTATION,
    POD_BLOCK_PREFIX,
)
from fabrictui.model import KubeNode, KubePod

# The rehearsal lab lists each node's Calico blocks in this annotation (no BlockAffinities).
LAB_BLOCKS = "fabrictui.lab/calico-blocks"
ROLE_PREFIX = "node-role.kubernetes.io/"
_FRACTION = re.compile(r"\.\d+")  # a time's fraction of a second


def timestamp(text: Any) -> float:
    """Epoch seconds of an RFC 3339 time, every fraction digit counted.

    The whole seconds are read by `datetime` (which keeps microseconds only) and
    the fraction is added as written, so nanosecond times (Go's RFC3339Nano) and
    the demo lab's exact ones come back as they were sent.
    """
    if not isinstance(text, str) or not text:
        return 0.0
    fraction = _FRACTION.search(text)
    whole = text if fraction is None else text[: fraction.start()] + text[fraction.end() :]
    try:
        seconds = datetime.fromisoformat(whole.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
    return seconds + float(fraction.group(0)) if fraction else seconds


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def node_blocks(node: Mapping[str, Any], affinities: Sequence[str] = ()) -> tuple[str, ...]:
    """The node's Calico /26 blocks: BlockAffinities when known, else what the
    node's annotations say (the lab's list, or the block of the VXLAN tunnel
    address, which Calico takes from the node's first block)."""
    if affinities:
        return tuple(affinities)
    annotations = as_dict(as_dict(node.get("metadata")).get("annotations"))
    listed = annotations.get(LAB_BLOCKS)
    if isinstance(listed, str) and listed.strip():
        return tuple(b.strip() for b in listed.replace(";", ",").split(",") if b.strip())
    tunnel = annotations.get(CALICO_TUNNEL_ADDR_ANNOTATION)
    if isinstance(tunnel, str):
        try:
            addr = ipaddress.ip_address(tunnel.split("/")[0])
        except ValueError:
            return ()
        return (str(ipaddress.ip_network(f"{addr}/{POD_BLOCK_PREFIX}", strict=False)),)
    return ()


def node_from_api(node: Mapping[str, Any], affinities: Sequence[str] = ()) -> KubeNode:
    meta = as_dict(node.get("metadata"))
    status = as_dict(node.get("status"))
    labels = as_dict(meta.get("labels"))
    roles = {k[len(ROLE_PREFIX) :] for k in labels if k.startswith(ROLE_PREFIX)}
    if labels.get("kubernetes.io/role"):
        roles.add(str(labels["kubernetes.io/role"]))
    roles.discard("")
    ready = any(
        as_dict(c).get("type") == "Ready" and as_dict(c).get("status") == "True"
        for c in as_list(status.get("conditions"))
    )
    internal_ip = next(
        (
            str(as_dict(a).get("address"))
            for a in as_list(status.get("addresses"))
            if as_dict(a).get("type") == "InternalIP"
        ),
        "",
    )
    annotations = as_dict(meta.get("annotations"))
    mac = annotations.get(CALICO_TUNNEL_MAC_ANNOTATION)
    return KubeNode(
        name=str(meta.get("name", "")),
        ready=ready,
        roles=tuple(sorted(roles)),
        created=timestamp(meta.get("creationTimestamp")),
        version=str(as_dict(status.get("nodeInfo")).get("kubeletVersion", "")),
        internal_ip=internal_ip,
        calico_blocks=node_blocks(node, affinities),
        vtep_mac=str(mac) if isinstance(mac, str) and mac else None,
        uid=str(meta.get("uid", "")),
    )


def pod_status_text(pod: Mapping[str, Any]) -> tuple[str, int, int]:
    """kubectl's STATUS column, the ready container count and the restart sum."""
    meta = as_dict(pod.get("metadata"))
    spec = as_dict(pod.get("spec"))
    status = as_dict(pod.get("status"))
    reason = str(status.get("phase") or "Unknown")
    if status.get("reason"):
        reason = str(status["reason"])
    restarts = 0
    ready = 0
    initializing = False
    init_specs = as_list(spec.get("initContainers"))
    for i, cs in enumerate(as_list(status.get("initContainerStatuses"))):
        cs = as_dict(cs)
        state = as_dict(cs.get("state"))
        restarts += int(cs.get("restartCount") or 0)
        terminated = as_dict(state.get("terminated"))
        waiting = as_dict(state.get("waiting"))
        if state.get("terminated") is not None and terminated.get("exitCode") == 0:
            continue
        initializing = True
        if state.get("terminated") is not None:
            if terminated.get("reason"):
                reason = f"Init:{terminated['reason']}"
            elif terminated.get("signal"):
                reason = f"Init:Signal:{terminated['signal']}"
            else:
                reason = f"Init:ExitCode:{terminated.get('exitCode')}"
        elif waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = f"Init:{waiting['reason']}"
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        break
    if not initializing:
        restarts = 0
        has_running = False
        for cs in reversed(as_list(status.get("containerStatuses"))):
            cs = as_dict(cs)
            state = as_dict(cs.get("state"))
            restarts += int(cs.get("restartCount") or 0)
            waiting = as_dict(state.get("waiting"))
            terminated = as_dict(state.get("terminated"))
            if waiting.get("reason"):
                reason = str(waiting["reason"])
            elif terminated.get("reason"):
                reason = str(terminated["reason"])
            elif state.get("terminated") is not None:
                if terminated.get("signal"):
                    reason = f"Signal:{terminated['signal']}"
                else:
                    reason = f"ExitCode:{terminated.get('exitCode')}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(
                as_dict(c).get("type") == "Ready" and as_dict(c).get("status") == "True"
                for c in as_list(status.get("conditions"))
            )
            reason = "Running" if pod_ready else "NotReady"
    if meta.get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason, ready, restarts


def pod_owner(pod: Mapping[str, Any]) -> str | None:
    meta = as_dict(pod.get("metadata"))
    refs = [as_dict(r) for r in as_list(meta.get("ownerReferences"))]
    if not refs:
        return None
    ref = next((r for r in refs if r.get("controller")), refs[0])
    name = str(ref.get("name", "")) or None
    if name and ref.get("kind") == "ReplicaSet":
        template_hash = as_dict(meta.get("labels")).get("pod-template-hash")
        if template_hash and name.endswith(f"-{template_hash}"):
            return name[: -len(template_hash) - 1]
        head, sep, _ = name.rpartition("-")
        return head if sep else name
    return name


def pod_from_api(pod: Mapping[str, Any]) -> KubePod:
    meta = as_dict(pod.get("metadata"))
    spec = as_dict(pod.get("spec"))
    status = as_dict(pod.get("status"))
    text, ready, restarts = pod_status_text(pod)
    labels = as_dict(meta.get("labels"))
    return KubePod(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        ready_containers=ready,
        total_containers=len(as_list(spec.get("containers"))),
        status=text,
        restarts=restarts,
        created=timestamp(meta.get("creationTimestamp")),
        ip=str(status["podIP"]) if status.get("podIP") else None,
        node=str(spec["nodeName"]) if spec.get("nodeName") else None,
        owner=pod_owner(pod),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
        uid=str(meta.get("uid", "")),
        unschedulable=unschedulable_reason(pod),
        image=first_image(spec),
    )


def first_image(spec: Mapping[str, Any]) -> str:
    """The first container's image: the one an exec without a container runs in."""
    containers = as_list(spec.get("containers"))
    return str(as_dict(containers[0]).get("image") or "") if containers else ""


def unschedulable_reason(pod: Mapping[str, Any]) -> str:
    """The scheduler's word on a pod it cannot place (PodScheduled=False), else ""."""
    if as_dict(pod.get("spec")).get("nodeName"):
        return ""
    for condition in as_list(as_dict(pod.get("status")).get("conditions")):
        condition = as_dict(condition)
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return str(condition.get("message") or condition.get("reason") or "Unschedulable")
    return ""


def object_name(obj: Mapping[str, Any]) -> str:
    return str(as_dict(obj.get("metadata")).get("name", ""))
