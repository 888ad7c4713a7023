"""A pod's and a node's full detail, read when they change for the worse (or recover) and
kept in the recording (issue 26): a `kubedetail` event (session/record/kubedetail.py), so a
replay of a recording made during a fault shows the conditions, container states and the
not-ready container's last log lines of that moment.

What counts as a change, per object, against what this reader saw last (its own memory, not
the state's: a relist is compared the same way as a single watch event): a pod first seen
not ready, turning not ready, restarting (its count grew) or ready again; a node first seen
NotReady, turning NotReady or Ready again.

Bounded, off the feeds' own path: the watch callbacks only note the change (no await) and a
task reads it; at most one read in flight per object (a change during a read asks for one
more read after it, not one per change), at most `MAX_CONCURRENT` reads at once and
`MAX_WAITING` objects waiting (a relist of a broken cluster records the first ones and says
how many it left), each within `READ_SECONDS`. Nothing is read while nothing records (no
listener on the state)."""

from __future__ import annotations

import asyncio

from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.model import KubeNode, KubePod, WatchEvent
from fabrictui.parsers import ParseError
from fabrictui.parsers.kubedetail.objects import ContainerDetail, PodDetail, node_detail, pod_detail
from fabrictui.session.record.kubedetail import KIND, LOG_LINES, RecordedLog, detail_record
from fabrictui.session.state import LabState
from fabrictui.session.tasks import cancel_and_wait

READ_SECONDS = 5.0
MAX_CONCURRENT = 2
MAX_WAITING = 16
DONE = ("Completed", "Succeeded")  # a finished pod is not "not ready"


def _pod_ok(pod: KubePod) -> bool:
    return pod.running or pod.status in DONE


def _log_target(pod: PodDetail) -> tuple[ContainerDetail, bool] | None:
    """The container whose log says why (the first not ready; else the first restarted),
    and whether its previous instance holds the words (it waits to start again)."""
    main = [c for c in pod.containers if not c.init]
    chosen = next((c for c in main if not c.ready), None)
    chosen = chosen or next((c for c in main if c.restarts), None)
    if chosen is None:
        return None
    return chosen, chosen.state != "Running" and chosen.restarts > 0


class DetailReads:
    """Reads and records the detail of pods and nodes that changed; owned by the feeds."""

    def __init__(self, backend: LabBackend, state: LabState) -> None:
        self.backend = backend
        self.state = state
        self._pods: dict[str, tuple[bool, int]] = {}  # key -> (ready, restarts) last seen
        self._nodes: dict[str, bool] = {}
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._again: dict[tuple[str, str], str] = {}  # a change seen during its read
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)
        self.left = 0  # changes not read: too many waiting at once

    # -- what the watches tell (on the loop, never awaiting) -----

    def saw_pods(self, event: WatchEvent[KubePod]) -> None:
        if event.type == "RELIST":
            seen = {p.key: p for p in event.items}
            for key in set(self._pods) - set(seen):
                del self._pods[key]
            for pod in seen.values():
                self._pod(pod)
        elif event.obj is not None:
            if event.type == "DELETED":
                self._pods.pop(event.obj.key, None)
            else:
                self._pod(event.obj)

    def saw_node(self, event: WatchEvent[KubeNode]) -> None:
        if event.type == "RELIST":
            names = {n.name for n in event.items}
            self._nodes = {k: v for k, v in self._nodes.items() if k in names}
            for node in event.items:
                self._node(node)
        elif event.obj is not None:
            if event.type == "DELETED":
                self._nodes.pop(event.obj.name, None)
            else:
                self._node(event.obj)

    def _pod(self, pod: KubePod) -> None:
        ok, restarts = _pod_ok(pod), pod.restarts
        before = self._pods.get(pod.key)
        self._pods[pod.key] = (ok, restarts)
        if before is None:
            why = None if ok else "not ready when first seen"
        elif restarts > before[1]:
            why = f"restarted ({restarts} restarts)"
        elif before[0] and not ok:
            why = "turned not ready"
        elif ok and not before[0]:
            why = "ready again"
        else:
            why = None
        if why is not None:
            self._want(("pod", pod.key), why)

    def _node(self, node: KubeNode) -> None:
        before = self._nodes.get(node.name)
        self._nodes[node.name] = node.ready
        if before is None:
            why = None if node.ready else "NotReady when first seen"
        elif before and not node.ready:
            why = "turned NotReady"
        elif node.ready and not before:
            why = "Ready again"
        else:
            why = None
        if why is not None:
            self._want(("node", node.name), why)

    def _want(self, key: tuple[str, str], why: str) -> None:
        if not self.state.listeners:
            return  # nothing records: nothing to read for
        if key in self._tasks:
            self._again[key] = why  # one more read when this one ends
            return
        if len(self._tasks) >= MAX_WAITING:
            self.left += 1
            return
        task = asyncio.get_running_loop().create_task(self._read(key, why))
        self._tasks[key] = task

    # -- the reads -----

    async def _read(self, key: tuple[str, str], why: str) -> None:
        try:
            while True:
                async with self._slots:
                    await self._read_one(key, why)
                again = self._again.pop(key, None)
                if again is None:
                    return
                why = again
        finally:
            self._tasks.pop(key, None)

    async def _read_one(self, key: tuple[str, str], why: str) -> None:
        kind, name = key
        namespace, _, short = name.rpartition("/") if kind == "pod" else ("", "", name)
        try:
            async with asyncio.timeout(READ_SECONDS):
                obj = await self.backend.read_object(kind, short, namespace or None)
            detail = pod_detail(obj) if kind == "pod" else node_detail(obj)
        except (BackendError, ParseError, TimeoutError) as err:
            words = str(err) or "no answer in time"
            self.state.note(KIND, detail_record(kind, namespace, short, why, None, words))
            return
        log = None
        if isinstance(detail, PodDetail) and why != "ready again":
            log = await self._log(namespace, short, detail)
        self.state.note(KIND, detail_record(kind, namespace, short, why, detail, "", log))

    async def _log(self, namespace: str, name: str, pod: PodDetail) -> RecordedLog | None:
        target = _log_target(pod)
        if target is None:
            return None
        container, previous = target
        try:
            async with asyncio.timeout(READ_SECONDS):
                lines = await self.backend.pod_log(
                    namespace, name, container.name, previous, LOG_LINES
                )
        except (BackendError, TimeoutError) as err:
            return RecordedLog(container.name, previous, (), str(err) or "no answer in time")
        return RecordedLog(container.name, previous, tuple(lines[-LOG_LINES:]))

    async def drain(self) -> None:
        """Wait for every read under way (a test's, or a headless run's last moment)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks.values())
        self._tasks.clear()
        self._again.clear()
