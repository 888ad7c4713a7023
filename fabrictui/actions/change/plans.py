"""The lines a confirmation dialog shows before a mutating action runs."""

from __future__ import annotations

from collections import Counter

from fabrictui.backends.base import DemoWorkload, LabBackend
from fabrictui.constants import POD_POOL, VXLAN_PORT, VXLAN_VNI
from fabrictui.intent.calico_vxlan import manifest_objects
from fabrictui.model import KubePod


def plan_deploy_calico(
    pool_cidr: str = POD_POOL, objects: tuple[str, ...] | None = None
) -> list[str]:
    objs = manifest_objects() if objects is None else objects
    kinds = Counter(obj.split("/", 1)[0].split(".", 1)[0] for obj in objs)
    summary = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in kinds.items())
    return [
        f"will apply {len(objs)} objects: {summary}",
        f"Calico with the VXLAN backend (VNI {VXLAN_VNI}, UDP {VXLAN_PORT}), pod pool {pool_cidr}, "
        "a /26 block per node",
        "calico-node starts on every node; nodes turn Ready once it runs",
        "re-applying an existing deployment changes nothing",
    ]


async def plan_deploy_calico_on(backend: LabBackend, pool_cidr: str = POD_POOL) -> list[str]:
    """The deploy plan for the lab's server: which Calico release and apply method, and
    why (both read from its version and discovery); BackendError when none fits."""
    from fabrictui.actions.change.manifest import bundled_choice

    choice, method = await bundled_choice(backend)
    objects = manifest_objects(choice.release.manifest)
    first, *rest = plan_deploy_calico(pool_cidr, objects)
    return [first, choice.why, f"by {method.name}: {method.why}", *rest]


def plan_scale(
    current: int | None, replicas: int, workload: DemoWorkload | None = None
) -> list[str]:
    """`current` is the deployment's replicas now (None when it does not exist yet);
    `plan_scale_on` reads it from the lab."""
    wl = workload or DemoWorkload()
    target = f"{wl.namespace}/{wl.deployment}"
    if current is None:
        return [
            f"will create namespace {wl.namespace}, deployment {wl.deployment} ({wl.image}) "
            f"and service {wl.service} if missing",
            f"{target}: 0 → {replicas} replicas",
        ]
    lines = [f"{target}: {current} → {replicas} replicas"]
    if replicas < current:
        lines.append(f"{current - replicas} pods will be deleted (newest first)")
    elif replicas == current:
        lines.append("no change in replicas")
    return lines


async def plan_scale_on(
    backend: LabBackend, replicas: int, workload: DemoWorkload | None = None
) -> list[str]:
    """The scale plan as the lab stands: whether the deployment exists and the replicas
    it asks for now (a deployment scaled to 0 exists: "0 → N", not "will create")."""
    wl = workload or DemoWorkload()
    try:
        current = await backend.deployment_replicas(wl.namespace, wl.deployment)
    except NotImplementedError:  # a lab that cannot read deployments: count the pods
        current = await current_replicas(backend, wl)
    return plan_scale(current, replicas, wl)


async def current_replicas(backend: LabBackend, workload: DemoWorkload | None = None) -> int | None:
    """The workload's live pod count, None when none exist (the fallback of plan_scale_on
    for labs that cannot read deployments)."""
    from fabrictui.actions.change.scale import belongs

    wl = workload or DemoWorkload()
    pods: list[KubePod] = await backend.list_pods(wl.namespace)
    mine = [
        p for p in pods if belongs(p, wl.namespace, wl.deployment) and p.status != "Terminating"
    ]
    return len(mine) if mine else None


_FAULT_EFFECTS = {
    "stop-spine": "powers the spine VM off: its BGP sessions drop after the hold timer, "
    "cross-rack traffic moves to the other spine",
    "cut-uplink": "takes the leaf-spine link down: the session drops on both ends at once",
    "stop-calico-node": "makes calico-node crash-loop on the node: its pod routes are withdrawn, "
    "pings to and from its pods fail",
    "blackhole-pod": "installs a blackhole route for the pod's IP: pings to it time out",
}


def plan_fault(fault_id: str, active: bool, title: str = "") -> list[str]:
    kind = fault_id.split(":", 1)[0]
    what = title or fault_id
    if active:
        return [f"inject: {what}", _FAULT_EFFECTS.get(kind, "changes the lab")]
    return [f"clear: {what}", "the lab recovers (sessions re-establish with a fresh uptime)"]
