"""Bounded watch queues in the lab's API server: a watch whose reader falls
`watch_queue_limit` events behind is ended (as a real API server ends an unresponsive
watcher), and the official client resumes from its last resourceVersion without losing
an event."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config, watch

from fabrictui.lab.kubeapi.harness import ServerThread
from fabrictui.lab.kubeapi.store import WATCH_QUEUE_LIMIT, Store


def _configmap(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": {"n": name},
    }


async def test_a_watch_that_falls_behind_is_ended_and_holds_no_more() -> None:
    store = Store(watch_queue=4)
    behind, _ = store.watch("configmaps", None, None)
    other_type, _ = store.watch("secrets", None, None)
    for i in range(10):
        store.create("configmaps", _configmap(f"cm-{i}"))
    assert behind.overflowed and store.watches_overflowed == 1
    # the queued events were dropped: the stream ends at once, memory stays bounded
    assert behind.queue.qsize() == 1 and behind.queue.get_nowait() is None
    assert store.watch_count == 1  # the secrets watch saw nothing and stays
    assert not other_type.overflowed and other_type.queue.empty()
    store.close_watches()
    assert await asyncio.wait_for(other_type.queue.get(), 1) is None


async def test_a_reader_that_keeps_up_is_never_ended() -> None:
    store = Store(watch_queue=4)
    watcher, _ = store.watch("configmaps", "default", None)
    seen = []
    for i in range(50):
        store.create("configmaps", _configmap(f"cm-{i}"))
        while not watcher.queue.empty():
            event = watcher.queue.get_nowait()
            assert event is not None
            seen.append(event.obj["metadata"]["name"])
    assert seen == [f"cm-{i}" for i in range(50)] and not watcher.overflowed
    assert WATCH_QUEUE_LIMIT >= 100  # room for a burst such as a large scale-up


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[ServerThread]:
    with ServerThread(tmp_path / "lab") as server:
        yield server


def test_the_client_resumes_after_its_watch_is_ended(lab: ServerThread) -> None:
    store = lab.cluster.store
    lab.call(lambda: setattr(store, "watch_queue_limit", 5))
    api = config.new_client_from_config(config_file=str(lab.kubeconfig))
    core = client.CoreV1Api(api)
    start_rv = core.list_namespaced_config_map("default").metadata.resource_version
    names: list[str] = []
    stream = watch.Watch()

    def read() -> None:
        # no timeout_seconds: the client re-watches from the last resourceVersion it saw
        # whenever a stream ends, as fabrictui's own watch thread does
        for event in stream.stream(
            core.list_namespaced_config_map, "default", resource_version=start_rv
        ):
            names.append(event["object"].metadata.name)
            if len(names) >= 30:
                stream.stop()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 10
        while lab.call(lambda: store.watch_count) == 0:
            assert time.monotonic() < deadline, "the watch never started"
            time.sleep(0.02)

        def burst() -> None:  # 30 events in one go: the reader cannot run in between
            for i in range(30):
                store.create("configmaps", _configmap(f"burst-{i:02d}"))

        lab.call(burst)
        reader.join(timeout=15)
        assert not reader.is_alive(), f"only {len(names)} events arrived"
        assert lab.call(lambda: store.watches_overflowed) >= 1
        assert names == [f"burst-{i:02d}" for i in range(30)]
    finally:
        stream.stop()
        api.close()
