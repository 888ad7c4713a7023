"""The Kubernetes pane: nodes and pods as kubectl shows them, with Calico's blocks."""

from __future__ import annotations

from rich.text import Text

from fabrictui.model import (
    KubeNode,
    KubePod,
    KubeService,
)
from fabrictui.render.common import Palette, age, middle_ellipsis

NODE_COLUMNS = ("Name", "Status", "Roles", "Version", "Internal-IP", "Age", "Calico blocks")


# most telling columns first: at 80 columns the ones on the right scroll out of view
POD_COLUMNS = ("Name", "Status", "IP", "Node", "Ready", "Namespace", "Restarts", "Age")


POD_NAME_WIDTH = 24
SERVICE_COLUMNS = ("Service", "Cluster-IP", "Ports", "Endpoints", "Namespace")


def service_row(svc: KubeService, palette: Palette) -> tuple[Text, ...]:
    """A Service with its endpoints `ready/all`: none ready is bad (a ClusterIP with no
    backend), some not ready a warning; a Service without a selector keeps hand-made
    endpoints, shown muted."""
    ready, total = len(svc.ready), len(svc.endpoints)
    style = palette.good if ready and ready == total else palette.warn if ready else palette.bad
    if not svc.selector and total:
        style = palette.muted
    ports = ",".join(
        f"{p.port}/{p.protocol}" if str(p.port) == p.target_port
        else f"{p.port}:{p.target_port}/{p.protocol}"
        for p in svc.ports
    )  # fmt: skip
    return (
        Text(svc.name),
        Text(svc.cluster_ip or "None"),
        Text(ports or "<none>"),
        Text(svc.endpoints_text, style=style),
        Text(svc.namespace, style=palette.muted),
    )


def node_row(node: KubeNode, now: float, palette: Palette) -> tuple[Text, ...]:
    return (
        Text(node.name),
        Text(node.status, style=palette.good if node.ready else palette.bad),
        Text(",".join(node.roles) or "<none>"),
        Text(node.version),
        Text(node.internal_ip),
        Text(age(now - node.created)),
        Text(" ".join(node.calico_blocks) or "-", style=palette.muted),
    )


def pod_status_style(pod: KubePod, palette: Palette) -> str:
    if pod.running:
        return palette.good
    if pod.status in ("Pending", "ContainerCreating", "PodInitializing", "Terminating"):
        return palette.warn
    if pod.status in ("Completed", "Succeeded"):
        return palette.muted
    return palette.bad


def pod_row(pod: KubePod, now: float, palette: Palette) -> tuple[Text, ...]:
    return (
        Text(middle_ellipsis(pod.name, POD_NAME_WIDTH)),
        Text(pod.status, style=pod_status_style(pod, palette)),
        Text(pod.ip or "<none>"),
        Text(pod.node or "<none>"),
        Text(pod.ready_text),
        Text(pod.namespace, style=palette.muted),
        Text(str(pod.restarts), style=palette.warn if pod.restarts else ""),
        Text(age(now - pod.created)),
    )


# -- Ping matrix and checks -------------------------------------------------------------
