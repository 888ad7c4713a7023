"""calico-node's readiness probe in the lab, as the kubelet runs it on a real node.

The bundled manifests probe `calico-node -felix-ready` (VXLAN) and, in BGP mode,
`-bird-ready -felix-ready`: BIRD must answer on its socket and every BGP session calico-node
configured (`Mesh_`, `Node_`, `Global_`) must be Established. The lab's Felix is ready once
its agent built the node (controllers/calico.py), so what can fail here is BIRD: each
PERIOD_S the prober asks each BGP-mode node's BIRD (`birdc show protocols`), and a failing
probe does what the kubelet does: the container and the pod turn not ready
(ContainersNotReady) and a Warning `Unhealthy` event says `Readiness probe failed: ` and the
probe's words (repeats counted on one event). A probe that passes again makes them ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fabrictui.lab import bird
from fabrictui.lab.calico_dataplane import DataplaneError, run
from fabrictui.lab.kubeapi.controllers.calico import is_calico_node_pod
from fabrictui.lab.kubeapi.errors import ApiError
from fabrictui.lab.kubeapi.objects import set_condition

if TYPE_CHECKING:
    from fabrictui.lab.kubeapi.controllers.parts import ClusterParts

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PERIOD_S = 10.0  # the manifests' readinessProbe periodSeconds
CALICO_SOCKET = "/var/run/calico/bird.ctl"  # where calico-node's probe looks
_PEER = re.compile(r"^(Mesh|Node|Global)_(\d+)_(\d+)_(\d+)_(\d+)\s+BGP\s+\S+\s+(\S+)\s+\S+\s*(.*)$")

Query = Callable[[str], Awaitable[str]]  # netns -> `birdc show protocols` text


async def ask_bird(netns: str) -> str:
    return await run([bird.BIRDC, "-s", str(bird.socket_path(netns)), "show", "protocols"])


def bird_words(protocols: str) -> str:
    """The probe's words for BIRD's protocol table ("" when every session is up)."""
    down = []
    for line in protocols.splitlines():
        match = _PEER.match(line.strip())
        if match and not match.group(7).startswith("Established"):
            down.append(".".join(match.group(n) for n in range(2, 6)))
    if not down:
        return ""
    return f"calico/node is not ready: BIRD is not ready: BGP not established with {','.join(down)}"


def unreachable_words() -> str:
    return (
        "calico/node is not ready: BIRD is not ready: Error querying BIRD: unable to connect "
        f"to BIRDv4 socket: dial unix {CALICO_SOCKET}: connect: connection refused"
    )


class CalicoReadiness:
    def __init__(
        self,
        cluster: ClusterParts,
        bgp_nodes: Callable[[], dict[str, str]],
        query: Query = ask_bird,
        period: float = PERIOD_S,
    ) -> None:
        self.cluster = cluster
        self.bgp_nodes = bgp_nodes  # node -> its namespace, where BIRD runs (BGP mode)
        self.query = query
        self.period = period
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            try:
                await self.probe_once()
            except Exception:
                log.exception("calico-node readiness probe failed to run")

    async def probe_once(self) -> None:
        nodes = self.bgp_nodes()
        for pod in self.cluster.store.list("pods", "kube-system"):
            node = pod.get("spec", {}).get("nodeName", "")
            if not is_calico_node_pod(pod) or pod.get("status", {}).get("phase") != "Running":
                continue
            words = ""
            if node in nodes:
                try:
                    words = bird_words(await self.query(nodes[node]))
                except (DataplaneError, OSError):
                    words = unreachable_words()
            self._apply(pod, words)

    def _apply(self, pod: Obj, words: str) -> None:
        ready = not words
        statuses = pod.get("status", {}).get("containerStatuses") or []
        changed = any(s.get("ready") is not ready for s in statuses)
        if not ready:  # every failed probe is recorded (repeats counted on one event)
            self.cluster.events.record(
                pod, "Unhealthy", f"Readiness probe failed: {words}", "kubelet", "Warning",
                host=pod.get("spec", {}).get("nodeName"), aggregate=True,
            )  # fmt: skip
        if not changed:
            return
        names = [s.get("name", "") for s in statuses]
        status = pod.setdefault("status", {})
        for s in statuses:
            s["ready"] = ready
        conditions = status.get("conditions") or []
        for ctype in ("Ready", "ContainersReady"):
            if ready:
                conditions = set_condition(conditions, ctype, "True")
            else:
                conditions = set_condition(
                    conditions, ctype, "False", "ContainersNotReady",
                    f"containers with unready status: [{' '.join(names)}]",
                )  # fmt: skip
        status["conditions"] = conditions
        with contextlib.suppress(ApiError):
            self.cluster.store.update("pods", pod)
