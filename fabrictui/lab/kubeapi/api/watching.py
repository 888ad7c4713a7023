"""Watch streams: one JSON event per line, 410 as an ERROR event, bookmarks.

A stream ends when its timeout passes, when the server stops, or when the client reads so
slowly that its watch's bounded queue fills (`store.WATCH_QUEUE_LIMIT`): then, as on a
real API server, the stream just ends and the client re-watches from its last
resourceVersion (or re-lists after a 410)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from fabrictui.lab.kubeapi.api import tables
from fabrictui.lab.kubeapi.errors import ApiError
from fabrictui.lab.kubeapi.resources import ResourceType
from fabrictui.lab.kubeapi.store import Store

Obj = dict[str, Any]


def truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def as_version(rt: ResourceType, version: str, obj: Obj) -> Obj:
    """A shallow copy with the apiVersion asked for (stored objects are shared)."""
    return {**obj, "apiVersion": rt.api_version(version), "kind": rt.kind}


async def serve_watch(
    request: web.Request,
    store: Store,
    rt: ResourceType,
    version: str,
    namespace: str | None,
    match: Callable[[Obj], bool],
) -> web.StreamResponse:
    """Stream `{"type": ..., "object": ...}` lines until the timeout or the store closes."""
    raw_rv = request.query.get("resourceVersion", "")
    since = int(raw_rv) if raw_rv.isdigit() and raw_rv != "0" else None
    timeout = request.query.get("timeoutSeconds")
    table = wants_table(request)
    include = request.query.get("includeObject", "Metadata")
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    try:
        watcher, replay = store.watch(rt.key, namespace, since)
    except ApiError as err:
        if err.code != 410:
            raise
        await response.prepare(request)
        line = {"type": "ERROR", "object": err.status()}
        await response.write(json.dumps(line).encode() + b"\n")
        return response
    await response.prepare(request)
    bookmarks = truthy(request.query.get("allowWatchBookmarks"))
    columns_sent = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + float(timeout) if timeout else None

    async def send(events: list[Any]) -> bool:
        """Write matching events; False once the store closed the watch."""
        nonlocal columns_sent
        for event in events:
            if event is None:
                return False
            if not match(event.obj):
                continue
            obj = as_version(rt, version, event.obj)
            if table:
                obj = tables.table(
                    rt.key, [obj], obj["metadata"]["resourceVersion"], include,
                    with_columns=not columns_sent,
                )  # fmt: skip
                columns_sent = True
            await response.write(json.dumps({"type": event.type, "object": obj}).encode() + b"\n")
        return True

    def drain() -> list[Any]:
        events = []  # at most the watch's queue limit, plus its end marker
        while not watcher.queue.empty():
            events.append(watcher.queue.get_nowait())
        return events

    try:
        if not await send(list(replay)):
            return response
        while True:
            wait = None if deadline is None else max(deadline - loop.time(), 0)
            try:
                first = await asyncio.wait_for(watcher.queue.get(), wait)
            except TimeoutError:
                break
            if not await send([first, *drain()]):
                return response
        # the watch timed out: deliver what is queued, then (when the client
        # allows bookmarks) where to resume, so a quiet watch never falls
        # behind the history and hits 410 when it resumes
        if await send(drain()) and bookmarks:
            mark = {
                "kind": rt.kind,
                "apiVersion": rt.api_version(version),
                "metadata": {"resourceVersion": str(store.resource_version)},
            }
            await response.write(json.dumps({"type": "BOOKMARK", "object": mark}).encode() + b"\n")
        return response
    except (ConnectionResetError, asyncio.CancelledError):
        return response
    finally:
        store.stop_watch(watcher)
