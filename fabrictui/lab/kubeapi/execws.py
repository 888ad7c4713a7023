"""`pods/exec` over WebSocket with the v4/v5 channel protocols.

Every binary message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr,
3 error/status (a `Status` JSON with the exit code), 4 resize (ignored), and in
v5 255 "close stream" from the client. When the client goes away first the
command's whole process group is killed, so nothing (a ping) is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from fabrictui.lab.kubeapi.errors import ApiError

if TYPE_CHECKING:
    from fabrictui.lab.kubeapi.cluster import Cluster

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def exit_status(code: int, argv: list[str]) -> dict[str, Any]:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": (
            f"command terminated with non-zero exit code: error executing command "
            f"{argv}, exit code {code}"
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()


async def handle_exec(
    request: web.Request, cluster: Cluster, pod: dict[str, Any]
) -> web.StreamResponse:
    argv = request.query.getall("command", [])
    if not argv:
        raise ApiError(400, "you must specify at least one command for the container")
    containers = [c.get("name") for c in pod.get("spec", {}).get("containers") or []]
    container = request.query.get("container") or (containers[0] if containers else "")
    pod_name = pod["metadata"]["name"]
    if container not in containers:
        raise ApiError(400, f"container {container} is not valid for pod {pod_name}")
    if pod.get("status", {}).get("phase") != "Running":
        phase = pod.get("status", {}).get("phase", "Pending")
        raise ApiError(400, f"pod {pod_name} is not running (phase {phase}); cannot exec")
    ws = web.WebSocketResponse(protocols=PROTOCOLS, autoping=True, max_msg_size=0)
    if not ws.can_prepare(request).ok:
        raise ApiError(
            400, "exec needs a WebSocket upgrade (v4/v5.channel.k8s.io); SPDY is not supported"
        )
    await ws.prepare(request)
    want_stdin = _truthy(request.query.get("stdin"))
    want_stdout = _truthy(request.query.get("stdout"))
    want_stderr = _truthy(request.query.get("stderr"))
    netns = cluster.kubelet.netns_of(pod)
    try:
        proc = await cluster.dataplane.spawn(netns, argv, stdin=want_stdin)
    except Exception as exc:
        await ws.send_bytes(bytes([ERROR]) + json.dumps(exit_status(126, argv) | {
            "message": f"exec failed: {exc}"}).encode())  # fmt: skip
        await ws.close()
        return ws
    cluster.exec_processes.add(proc)

    async def pump(stream: asyncio.StreamReader | None, channel: int, forward: bool) -> None:
        if stream is None:
            return
        while chunk := await stream.read(65536):
            if forward and not ws.closed:
                await ws.send_bytes(bytes([channel]) + chunk)

    async def from_client() -> None:
        async for msg in ws:
            # clients send binary frames, or text frames for text (the Python client)
            if msg.type == WSMsgType.TEXT:
                data = msg.data.encode()
            elif msg.type == WSMsgType.BINARY:
                data = msg.data
            else:
                continue
            if not data:
                continue
            channel, payload = data[0], data[1:]
            if channel == STDIN and proc.stdin is not None and payload:
                proc.stdin.write(payload)
                with contextlib.suppress(ConnectionError):
                    await proc.stdin.drain()
            elif channel == CLOSE and payload[:1] == bytes([STDIN]) and proc.stdin is not None:
                proc.stdin.close()

    async def finish() -> int:
        await asyncio.gather(
            pump(proc.stdout, STDOUT, want_stdout), pump(proc.stderr, STDERR, want_stderr)
        )
        return await proc.wait()

    done_task = asyncio.ensure_future(finish())
    client_task = asyncio.ensure_future(from_client())
    try:
        await asyncio.wait({done_task, client_task}, return_when=asyncio.FIRST_COMPLETED)
        if done_task.done():
            code = done_task.result()
            if code < 0:
                code = 128 - code
            if not ws.closed:
                await ws.send_bytes(bytes([ERROR]) + json.dumps(exit_status(code, argv)).encode())
                await ws.close()
        else:
            _kill_group(proc)
            await proc.wait()
    finally:
        _kill_group(proc)
        client_task.cancel()
        done_task.cancel()
        await asyncio.gather(client_task, done_task, return_exceptions=True)
        cluster.exec_processes.discard(proc)
    return ws
