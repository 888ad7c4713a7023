"""`GET .../pods/NAME/log` as a 1.15 API server and its kubelet answer it.

The options are the real ones (`container`, `previous`, `tailLines`, `sinceSeconds`,
`timestamps`, `follow`, `limitBytes`), and so are the refusals, each a 400 BadRequest Status
whose message `kubectl logs` prints after "Error from server (BadRequest): ":

- no container named in a pod of several: `a container name must be specified for pod NAME,
  choose one of: [A B]` (the API server's own check);
- a container the pod does not have: `container X is not valid for pod NAME`;
- a pod not yet on a node: `pod NAME does not have a host assigned`;
- a container that never ran: `container "C" in pod "P" is waiting to start: REASON` (the
  kubelet's, passed through);
- `previous` where no instance ended: `previous terminated container "C" in pod "P" not found`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiohttp import web

from fabrictui.lab.kubeapi.controllers.podlogs import PodLogs, stamp_text
from fabrictui.lab.kubeapi.errors import ApiError
from fabrictui.lab.kubeapi.store import Store

Obj = dict[str, Any]
PING_S = 1.0  # how often a follow checks that its pod still exists


def _int_option(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f'strconv.ParseInt: parsing "{raw}": invalid syntax') from None
    if value < 0 or (value == 0 and name != "tailLines"):
        # what the API server's validation says of these options
        word = "greater than or equal to 0" if name == "tailLines" else "greater than 0"
        raise ApiError(422, f"PodLogOptions.{name}: Invalid value: {value}: must be {word}")
    return value


def _truthy(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true", "yes")


def choose_container(pod: Obj, asked: str) -> str:
    """The container a log request means, or the API server's 400."""
    name = pod["metadata"]["name"]
    names = [c.get("name", "") for c in pod.get("spec", {}).get("containers") or []]
    inits = [c.get("name", "") for c in pod.get("spec", {}).get("initContainers") or []]
    if asked:
        if asked not in names and asked not in inits:
            raise ApiError(400, f"container {asked} is not valid for pod {name}")
        return asked
    if len(names) == 1:
        return names[0]
    if not names:
        raise ApiError(400, f"a container name must be specified for pod {name}")
    text = f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
    if inits:
        text += f" or one of the init containers: [{' '.join(inits)}]"
    raise ApiError(400, text)


def check_status(pod: Obj, container: str, previous: bool, logs: PodLogs) -> None:
    """The kubelet's refusals for a container that has nothing to show."""
    name, uid = pod["metadata"]["name"], pod["metadata"].get("uid", "")
    if not pod.get("spec", {}).get("nodeName"):
        raise ApiError(400, f"pod {name} does not have a host assigned")
    if previous:
        if not logs.has_previous(uid, container):
            raise ApiError(
                400, f'previous terminated container "{container}" in pod "{name}" not found'
            )
        return
    statuses = pod.get("status", {}).get("containerStatuses") or []
    status = next((s for s in statuses if s.get("name") == container), None)
    waiting = ((status or {}).get("state") or {}).get("waiting")
    ran_before = bool(logs.read(uid, container, False, 1, None)) or bool(
        ((status or {}).get("lastState") or {}).get("terminated")
    )
    if status is None or (waiting is not None and not ran_before):
        reason = (waiting or {}).get("reason") or "PodInitializing"
        raise ApiError(
            400, f'container "{container}" in pod "{name}" is waiting to start: {reason}'
        )


def _text(stamp: int, line: str, timestamps: bool) -> str:
    return f"{stamp_text(stamp)} {line}\n" if timestamps else line + "\n"


async def serve_log(
    request: web.Request, store: Store, logs: PodLogs, pod: Obj
) -> web.StreamResponse:
    container = choose_container(pod, request.query.get("container", ""))
    previous = _truthy(request, "previous")
    check_status(pod, container, previous, logs)
    tail = _int_option(request, "tailLines")
    since_s = _int_option(request, "sinceSeconds")
    limit = _int_option(request, "limitBytes")
    timestamps = _truthy(request, "timestamps")
    since_ns = time.time_ns() - since_s * 1_000_000_000 if since_s else None
    uid = pod["metadata"].get("uid", "")
    lines = logs.read(uid, container, previous, tail, since_ns)
    body = "".join(_text(stamp, line, timestamps) for stamp, line in lines)
    follow = _truthy(request, "follow") and not previous
    if not follow:
        data = body.encode()
        return web.Response(
            body=data[:limit] if limit else data, content_type="text/plain", charset="utf-8"
        )
    queue = logs.follow(uid, container)
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    sent = 0

    async def send(text: str) -> bool:
        nonlocal sent
        data = text.encode()
        if limit:
            data = data[: max(0, limit - sent)]
        if data:
            await response.write(data)
            sent += len(data)
        return not limit or sent < limit

    namespace, name = pod["metadata"].get("namespace", ""), pod["metadata"]["name"]
    try:
        more = not body or await send(body)
        while more:
            try:
                item = await asyncio.wait_for(queue.get(), PING_S)
            except TimeoutError:
                current = store.get("pods", namespace, name)
                if current is None or current["metadata"].get("uid") != uid:
                    break  # the pod is gone: the stream ends, as the kubelet's does
                continue
            if item is None:
                break
            more = await send(item + "\n" if timestamps else item.split(" ", 1)[1] + "\n")
    finally:
        logs.unfollow(uid, container, queue)
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response
