"""A live view of nodes and pods kept current from the backend's watches,
for actions that wait for the cluster to reach a state."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.model import KubeNode, KubePod, WatchEvent


class ClusterView:
    """`async with ClusterView(backend) as view:` then `await view.wait_for(pred, timeout)`."""

    def __init__(self, backend: LabBackend) -> None:
        self.backend = backend
        self.nodes: dict[str, KubeNode] = {}
        self.pods: dict[str, KubePod] = {}
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._synced = {"node": asyncio.Event(), "pod": asyncio.Event()}
        self.on_pod: Callable[[KubePod | None, KubePod | None], None] | None = None
        self.on_node: Callable[[KubeNode | None, KubeNode | None], None] | None = None

    async def __aenter__(self) -> ClusterView:
        self._tasks = [
            asyncio.create_task(self._follow("node", self.backend.watch_nodes())),
            asyncio.create_task(self._follow("pod", self.backend.watch_pods())),
        ]
        try:
            await self.wait_for(lambda: all(e.is_set() for e in self._synced.values()), 30.0)
        except BaseException:  # cancelled or timed out while listing: leave no watch behind
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, BackendError):
                await task

    async def _follow(self, kind: str, stream: AsyncIterator[WatchEvent[Any]]) -> None:
        store: dict[str, Any] = self.nodes if kind == "node" else self.pods
        try:
            async for event in stream:
                callback = self.on_node if kind == "node" else self.on_pod
                if event.type == "RELIST":
                    old = dict(store)
                    store.clear()
                    for item in event.items:
                        store[_key(item)] = item
                    if callback is not None:
                        for key in old.keys() | store.keys():
                            if old.get(key) != store.get(key):
                                callback(old.get(key), store.get(key))
                    self._synced[kind].set()
                elif event.obj is not None:
                    key = _key(event.obj)
                    before = store.get(key)
                    if event.type == "DELETED":
                        store.pop(key, None)
                        after = None
                    else:
                        store[key] = event.obj
                        after = event.obj
                    if callback is not None and before != after:
                        callback(before, after)
                self._changed.set()
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()  # type: ignore[attr-defined]
            self._changed.set()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """True once predicate() holds; False after `timeout` seconds. Raises the
        watch's BackendError if a watch broke."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for task in self._tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            if predicate():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 1.0)):
                    await self._changed.wait()


def _key(obj: KubeNode | KubePod) -> str:
    return obj.key if isinstance(obj, KubePod) else obj.name
