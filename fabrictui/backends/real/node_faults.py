"""The rehearsal lab's faults for the fabric map (issue 20), beside `faults.py`'s, matching the
demo's of the same names:

- `stop-kubelet:NODE`: the node's Ready condition set to Unknown with the words Kubernetes'
  node lifecycle controller writes when a kubelet stops posting its status ("Kubelet stopped
  posting node status."), through the API's nodes/NAME/status (the lab's kubelet runs inside
  its API process: there is no daemon per node to stop). A real cluster takes its
  node-monitor grace period (40 s) to say so; the lab says it at once. Cleared by the
  kubelet's own Ready words again.
- `lossy-racks:LEAF:LEAF`: on each of the two leaves, one iptables rule at the head of the
  FORWARD chain drops a share of what the other rack's nodes send (`-m statistic --mode
  random --probability 0.2`: 1 frame in 5, as the demo's lossy optic): the kernel itself
  drops them, in the leaf's namespace, on their way from the uplinks to its rack. Cleared by
  deleting the same rules.
"""

from __future__ import annotations

import time
from typing import Any

from fabrictui import audit
from fabrictui.backends.base import BackendError
from fabrictui.backends.real.inventory import Inventory
from fabrictui.backends.real.ssh import SshPool
from fabrictui.model import Fault, Role

LOSSY_PROBABILITY = "0.2"  # 1 frame in 5 (the demo's LOSSY_SHARE)
LOSSY_COMMENT = "fabrictui-lossy-racks"
UNKNOWN = ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
READY = ("True", "KubeletReady", "kubelet is posting ready status")


def node_fault_specs(inventory: Inventory) -> dict[str, tuple[str, Fault]]:
    """fault id -> (host it runs on, Fault), for `RehearsalFaults._fault_specs`."""
    specs: dict[str, tuple[str, Fault]] = {}
    for meta in inventory.hosts:
        if meta.role.is_k8s:
            fid = f"stop-kubelet:{meta.name}"
            title = f"Stop kubelet on {meta.name} (its Ready condition Unknown)"
            specs[fid] = ("", Fault(fid, title))
    leaves = sorted(m.name for m in inventory.hosts if m.role is Role.LEAF)
    for i, a in enumerate(leaves):
        for b in leaves[i + 1 :]:
            fid = f"lossy-racks:{a}:{b}"
            title = f"Lossy path between racks of {a} and {b} (1 frame in 5 dropped)"
            specs[fid] = (a, Fault(fid, title))
    return specs


async def set_node_fault(backend: Any, fault_id: str, active: bool) -> None:
    """Inject or clear one of this module's faults on `backend` (a rehearsal RealLabBackend)."""
    kind, _, arg = fault_id.partition(":")
    if kind == "stop-kubelet":
        await _node_ready(backend.kube, arg, *(UNKNOWN if active else READY))
    elif kind == "lossy-racks":
        leaves = arg.split(":")
        for leaf, other in (leaves, leaves[::-1]):
            await _lossy(backend.pool, backend.inventory, leaf, other, active)
    else:
        raise BackendError(f"unknown fault {fault_id!r}")


async def _node_ready(kube: Any, node: str, status: str, reason: str, message: str) -> None:
    from kubernetes import client

    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    condition = {"type": "Ready", "status": status, "reason": reason, "message": message,
                 "lastHeartbeatTime": now, "lastTransitionTime": now}  # fmt: skip
    body = {"status": {"conditions": [condition]}}  # merged by type: the others stay
    audit.record_call(f"PATCH nodes/{node}/status: Ready={status} ({reason})")

    def patch(api: Any) -> None:
        client.CoreV1Api(api).patch_node_status(node, body, _request_timeout=kube._timeout())

    await kube._call(f"patch node {node} status", patch)


def lossy_rule(sources: list[str]) -> list[str]:
    """The FORWARD rule's spec (after -I/-D FORWARD): a share of what `sources` send."""
    return [
        "-s", ",".join(sources),
        "-m", "statistic", "--mode", "random", "--probability", LOSSY_PROBABILITY,
        "-m", "comment", "--comment", LOSSY_COMMENT,
        "-j", "DROP",
    ]  # fmt: skip


async def _lossy(pool: SshPool, inventory: Inventory, leaf: str, other: str, on: bool) -> None:
    racks = {m.name: m.rack for m in inventory.hosts}
    sources = sorted(
        m.address
        for m in inventory.hosts
        if m.role.is_k8s and m.address and m.rack is not None and m.rack == racks.get(other)
    )
    if not sources:
        raise BackendError(f"{other}: no node addresses known in its rack")
    argv = ["iptables", "-I" if on else "-D", "FORWARD", *lossy_rule(sources)]
    audit.record_call(f"on {leaf}: {' '.join(argv)}")
    result = await pool.run(leaf, argv, sudo=True)
    if not result.ok:
        why = (result.stderr or result.stdout).strip().splitlines()
        if not on and why and "does a matching rule exist" in why[-1]:
            return  # cleared already (a lab restarted, a clear repeated): nothing to take away
        raise BackendError(f"{leaf}: iptables: {why[0] if why else 'failed'}")
