"""Run the lab API server in a background thread, for tests and tools that
drive it with blocking clients (kubectl, the kubernetes Python client)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fabrictui.lab.calico_dataplane import Dataplane
from fabrictui.lab.kubeapi.api.serve import RunningServer, start_server
from fabrictui.lab.kubeapi.cluster import Cluster
from fabrictui.lab.kubeapi.controllers.parts import Timing
from fabrictui.lab.kubeapi.inventory import parse_inventory, reference_inventory
from fabrictui.lab.kubeapi.versions import DEFAULT_VERSION, profile
from fabrictui.lab.memory_dataplane import MemoryDataplane

T = TypeVar("T")


class ServerThread:
    """`with ServerThread(tmp_path) as srv:` serves the lab API until the block ends.

    Without `inventory` the reference lab's five Kubernetes hosts are used and
    written to `lab_dir/inventory.json`; without `dataplane` a MemoryDataplane. The
    server claims `kube_version` and serves what that version serves.
    """

    def __init__(
        self,
        lab_dir: Path,
        inventory: dict[str, Any] | None = None,
        dataplane: Dataplane | None = None,
        timing: Timing | None = None,
        history: int = 10000,
        port: int = 0,
        kube_version: str = DEFAULT_VERSION,
    ) -> None:
        self.profile = profile(kube_version)
        self.lab_dir = lab_dir
        self.inventory_doc = inventory or reference_inventory()
        self.dataplane: Dataplane = dataplane if dataplane is not None else MemoryDataplane()
        self.timing = timing or Timing.fast()
        self.history = history
        self.port = port
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: RunningServer | None = None

    def __enter__(self) -> ServerThread:
        self.lab_dir.mkdir(parents=True, exist_ok=True)
        (self.lab_dir / "inventory.json").write_text(json.dumps(self.inventory_doc, indent=2))
        inventory = parse_inventory(self.inventory_doc)
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            start_server(
                self.lab_dir,
                inventory,
                self.dataplane,
                port=self.port,
                timing=self.timing,
                history=self.history,
                profile=self.profile,
            ),
            self.loop,
        )
        try:
            self.server = future.result(timeout=30)
        except BaseException:
            self._shutdown()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.server is not None:
                asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=30)
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        async def cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(cancel_rest(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self.loop.is_running():
            self.loop.close()

    # -- access from the test's thread -------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        assert self.server is not None
        return self.server.kubeconfig

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    @property
    def token(self) -> str:
        assert self.server is not None
        return self.server.token

    @property
    def cluster(self) -> Cluster:
        assert self.server is not None
        return self.server.cluster

    def call(self, fn: Callable[[], T], timeout: float = 10) -> T:
        """Run fn() on the server's loop (to read or change cluster state safely)."""

        async def wrapper() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout)

    def wait_for(self, predicate: Callable[[Cluster], bool], timeout: float = 10) -> None:
        """Block until predicate(cluster) holds, re-checked after every store change."""

        async def waiter() -> None:
            cluster = self.cluster
            changed = asyncio.Event()

            def listener(_event: object) -> None:
                changed.set()

            cluster.store.add_listener(listener)
            try:
                while not predicate(cluster):
                    changed.clear()
                    await changed.wait()
            finally:
                cluster.store.remove_listener(listener)

        future = asyncio.run_coroutine_threadsafe(waiter(), self.loop)
        try:
            future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"condition not met within {timeout} s") from None
