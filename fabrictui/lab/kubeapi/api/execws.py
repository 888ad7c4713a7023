"""`pods/exec` over WebSocket with the v4/v5 channel protocols.

Every binary message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr,
3 error/status (a `Status` JSON with the exit code), 4 resize (ignored), and in
v5 255 "close stream" from the client. When the client goes away first the
command's whole process group is killed, so nothing (a ping) is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import pty
import signal
import struct
import termios
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from fabrictui.lab.kubeapi.errors import ApiError
from fabrictui.lab.kubeapi.images import not_found

if TYPE_CHECKING:
    from fabrictui.lab.kubeapi.cluster import Cluster

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
HEARTBEAT_S = 30.0  # a client that stops answering pings is gone: its command is killed
TTY_DRAIN_S = 1.0  # how long output may still trail a terminal command's exit


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


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Terminal:
    """A pseudo-terminal for `exec` with tty=true: the command gets the slave side."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        os.set_blocking(self.master, False)
        self._closed = False

    def close_slave(self) -> None:
        if self.slave >= 0:
            os.close(self.slave)
            self.slave = -1

    async def read(self) -> bytes:
        """Next output, or b"" at the end (EIO once the command's side is closed)."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                return os.read(self.master, 65536)
            except BlockingIOError:
                pass
            except OSError:
                return b""
            ready = loop.create_future()
            loop.add_reader(self.master, _wake, ready)
            try:
                await ready
            finally:
                loop.remove_reader(self.master)

    def write(self, data: bytes) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self.master, data)

    def resize(self, payload: bytes) -> None:
        """Channel 4: {"Width": w, "Height": h}."""
        try:
            size = json.loads(payload)
            rows, cols = int(size["Height"]), int(size["Width"])
        except (ValueError, KeyError, TypeError):
            return
        with contextlib.suppress(OSError):
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def close(self) -> None:
        self.close_slave()
        if not self._closed:
            self._closed = True
            os.close(self.master)


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
    ws = web.WebSocketResponse(
        protocols=PROTOCOLS, autoping=True, max_msg_size=0, heartbeat=HEARTBEAT_S
    )
    if not ws.can_prepare(request).ok:
        raise ApiError(
            400, "exec needs a WebSocket upgrade (v4/v5.channel.k8s.io); SPDY is not supported"
        )
    await ws.prepare(request)
    want_stdin = _truthy(request.query.get("stdin"))
    want_stdout = _truthy(request.query.get("stdout"))
    want_stderr = _truthy(request.query.get("stderr"))
    specs = pod["spec"]["containers"]
    image = next((str(c.get("image") or "") for c in specs if c.get("name") == container), "")
    missing = cluster.images.missing(image, argv)
    if missing is not None:  # refused as the seed's runtime refuses it (images.py)
        line, status = not_found(missing)
        if want_stdout:
            await ws.send_bytes(bytes([STDOUT]) + line)
        await ws.send_bytes(bytes([ERROR]) + json.dumps(status).encode())
        await ws.close()
        return ws
    terminal = Terminal() if _truthy(request.query.get("tty")) else None
    netns = cluster.kubelet.netns_of(pod)
    try:
        proc = await cluster.dataplane.spawn(
            netns,
            argv,
            stdin=want_stdin,
            tty_fd=terminal.slave if terminal else None,
            path=cluster.images.path_for(image),
        )
    except Exception as exc:
        if terminal is not None:
            terminal.close()
        failure = exit_status(126, argv) | {"message": f"exec failed: {exc}"}
        await ws.send_bytes(bytes([ERROR]) + json.dumps(failure).encode())
        await ws.close()
        return ws
    if terminal is not None:
        terminal.close_slave()
    cluster.exec_processes.add(proc)

    async def send(channel: int, chunk: bytes) -> None:
        if not ws.closed:
            await ws.send_bytes(bytes([channel]) + chunk)

    async def pump(stream: asyncio.StreamReader | None, channel: int, forward: bool) -> None:
        if stream is None:
            return
        while chunk := await stream.read(65536):
            if forward:
                await send(channel, chunk)

    async def pump_terminal(term: Terminal) -> None:
        while chunk := await term.read():
            await send(STDOUT, chunk)  # a terminal merges stderr into stdout

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
            if channel == STDIN and payload:
                if terminal is not None:
                    terminal.write(payload)
                elif proc.stdin is not None:
                    proc.stdin.write(payload)
                    with contextlib.suppress(ConnectionError):
                        await proc.stdin.drain()
            elif channel == RESIZE and terminal is not None:
                terminal.resize(payload)
            elif channel == CLOSE and payload[:1] == bytes([STDIN]):
                if terminal is not None:
                    terminal.write(b"\x04")  # end of input, as a terminal spells it
                elif proc.stdin is not None:
                    proc.stdin.close()

    async def finish() -> int:
        if terminal is None:
            await asyncio.gather(
                pump(proc.stdout, STDOUT, want_stdout), pump(proc.stderr, STDERR, want_stderr)
            )
            return await proc.wait()
        reader = asyncio.ensure_future(pump_terminal(terminal))
        code = await proc.wait()
        # the terminal reports EOF once every holder of its other side is gone
        done, _ = await asyncio.wait({reader}, timeout=TTY_DRAIN_S)
        if not done:
            reader.cancel()
        return code

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
        if terminal is not None:
            terminal.close()
    return ws
