"""One Kubernetes watch, read by the official client in a thread of its own.

The client is synchronous: a watch runs in a daemon thread (so a long watch
never starves the default executor) that hands events to the event loop.

The hand-over is bounded (`QUEUE_SIZE` events). When it is full the thread
waits for room and meanwhile reads nothing more from the HTTP response: the
socket's buffers fill and TCP holds the API server back, whose own flow control
then applies (it ends a watcher that falls too far behind; the watch resumes
from the last resourceVersion it handed over, or lists again after 410 Gone).
No event is dropped and memory stays bounded however fast the cluster changes.
While it waits the thread looks every `STOP_POLL` seconds whether the watch
was closed, so a closed watch never leaves it blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from fabrictui.backends.base import Unreachable
from fabrictui.parsers.kube import as_dict

QUEUE_SIZE = 1024  # events between the reading thread and the event loop
STOP_POLL = 0.5  # seconds between looks at `stop` while the queue is full


async def stream_watch(
    what: str,
    list_name: str,
    rv: str,
    *,
    open_api: Callable[[], Any],
    to_error: Callable[[BaseException, str], BaseException],
    watch_timeout: int,
    request_timeout: float,
    queue_size: int = QUEUE_SIZE,
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(kind, object) of one watch from resourceVersion `rv`, read in a daemon thread.

    Kinds: ADDED/MODIFIED/DELETED, then GONE (410: list again) as the last item.
    A watch the server ends (its timeout) is reopened from the last version seen;
    a lost stream raises the BackendError `to_error` makes, or Unreachable.
    """
    loop = asyncio.get_running_loop()
    # The asyncio queue itself is unbounded; `room` is what bounds it: the thread
    # takes a slot before each event and the consumer gives it back after each get.
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    room = threading.Semaphore(max(1, queue_size))
    stop = threading.Event()
    current: dict[str, Any] = {}

    def put(item: tuple[str, Any]) -> None:
        while not room.acquire(timeout=STOP_POLL):
            if stop.is_set():
                return  # nobody reads any more
        with contextlib.suppress(RuntimeError):  # loop closed
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def work() -> None:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        version = rv
        try:
            api = open_api()
            core = client.CoreV1Api(api)
            while not stop.is_set():
                opened = time.monotonic()
                resp = getattr(core, list_name)(
                    watch=True,
                    resource_version=version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=watch_timeout,
                    _preload_content=False,
                    _request_timeout=(min(5.0, request_timeout), watch_timeout + 30),
                )
                current["resp"] = resp
                try:
                    for line in read_lines(resp):
                        if stop.is_set():
                            return
                        event = json.loads(line)
                        kind = event.get("type")
                        obj = as_dict(event.get("object"))
                        if kind == "ERROR":
                            if obj.get("code") == 410:
                                put(("GONE", {}))
                                return
                            raise ApiException(
                                status=int(obj.get("code") or 500),
                                reason=str(obj.get("reason") or "watch error"),
                            )
                        meta = as_dict(obj.get("metadata"))
                        version = str(meta.get("resourceVersion") or version)
                        if kind in ("ADDED", "MODIFIED", "DELETED"):
                            put((kind, obj))
                finally:
                    current.pop("resp", None)
                    with contextlib.suppress(Exception):
                        resp.release_conn()
                if time.monotonic() - opened < 1.0:
                    # A server that ends watches at once: do not spin on it.
                    stop.wait(1.0)
        except ApiException as exc:
            if exc.status == 410:
                put(("GONE", {}))
            else:
                put(("ERROR", to_error(exc, f"watch {what}")))
        except Exception as exc:
            if not stop.is_set():
                put(("ERROR", to_error(exc, f"watch {what}")))
        finally:
            put(("END", None))

    thread = threading.Thread(target=work, name=f"fabrictui-watch-{what}", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = await queue.get()
            room.release()
            if kind == "ERROR":
                raise value
            if kind == "END":
                raise Unreachable(f"watch {what}: stream ended")
            yield kind, value
            if kind == "GONE":
                return
    finally:
        stop.set()
        resp = current.get("resp")
        if resp is not None:
            with contextlib.suppress(Exception):
                resp.shutdown()


def read_lines(resp: Any) -> Iterable[str]:
    """Lines of a streaming HTTP response (one JSON watch event each), as they arrive.

    `read1` returns whatever has arrived, chunked or not, so an event is seen
    at once even when a server streams without chunked encoding.
    """
    buffer = b""
    while True:
        chunk = resp.read1(65536, decode_content=False)
        if not chunk:
            break
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield line.decode("utf-8", errors="replace")
    if buffer.strip():
        yield buffer.decode("utf-8", errors="replace")
