"""The Kubernetes pane: nodes and pods as kubectl shows them, with Calico's blocks."""

from __future__ import annotations

from rich.text import Text

from fabrictui.model import (
    KubeNode,
    KubePod,
)
from fabrictui.render.common import Palette, age, middle_ellipsis

NODE_COLUMNS = ("Name", "Status", "Roles", "Version", "Internal-IP", "Age", "Calico blocks")


# most telling columns first: at 80 columns the ones on the right scroll out of view
POD_COLUMNS = ("Name", "Status", "IP", "Node", "Ready", "Namespace", "Restarts", "Age")


POD_NAME_WIDTH = 24


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
