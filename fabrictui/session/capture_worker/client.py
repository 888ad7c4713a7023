"""The app's side of the capture worker: start it, move capture bytes to it,
ask it for summaries and for a pcap of its buffer, stop it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import shutil
import sys
import time
from collections import deque
from pathlib import Path

import fabrictui
from fabrictui.capture import CaptureError
from fabrictui.constants import VXLAN_PORT
from fabrictui.session.capture_worker.protocol import (
    DATA,
    END,
    END_CLEAN,
    MAX_MESSAGE,
    MODULE,
    PODS,
    RECORD,
    REPLY,
    START,
    SUMMARY,
    WRITE,
    message,
    start_payload,
)
from fabrictui.session.overlay import OverlaySummary

WRITE_HIGH = 1 << 18  # bytes the app buffers for the worker before a capture read waits
NICE = 5  # the worker's priority below the app's: keys win a contended core
STOP_WAIT = 2.0  # seconds the worker has to end after its stdin closed, before a kill


class WorkerGone(Exception):
    """The worker process ended (its last words, if any, are the message)."""


class CaptureWorker:
    def __init__(
        self, buffer_frames: int = 5000, display_batch: int = 200, vxlan_port: int = VXLAN_PORT
    ) -> None:
        self.buffer_frames = buffer_frames
        self.display_batch = display_batch
        self.vxlan_port = vxlan_port  # the lab's: what its streams decode as VXLAN
        self._proc: asyncio.subprocess.Process | None = None
        self._replies: deque[asyncio.Future] = deque()
        self._reader: asyncio.Task | None = None
        self._next_stream = 0
        self._open_streams: set[int] = set()
        self._broken: dict[int, str] = {}  # open streams the worker found broken
        self._waited = 0.0  # seconds feeds waited for the worker since the last summary
        self._gone: str | None = None
        self.record_dropped = 0  # frames the worker could not record (its disk was behind)
        self.record_error = ""  # why the worker no longer records frames, or ""

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    async def start(self) -> None:
        env = dict(os.environ)
        # the worker imports this same fabrictui, installed or not
        here = str(Path(fabrictui.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
        # started below the app's priority (`nice`, when there is one): its own
        # start-up then never delays the app's first paint on a busy host
        nice = shutil.which("nice")
        lower = [nice, "-n", str(NICE)] if nice else []
        self._proc = await asyncio.create_subprocess_exec(
            *lower, sys.executable, "-m", MODULE,
            str(os.getpid()), str(self.buffer_frames), str(self.display_batch),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            # its own session: the terminal's signals (SIGHUP when it closes, ctrl-z)
            # are the app's to handle; the worker ends when the app closes its stdin
            start_new_session=True,
        )  # fmt: skip
        assert self._proc.stdin is not None
        self._proc.stdin.transport.set_write_buffer_limits(high=WRITE_HIGH)
        self._reader = asyncio.get_running_loop().create_task(self._read_replies())

    async def close(self) -> None:
        """Close its stdin (it ends by itself), wait a little, kill if it must."""
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), STOP_WAIT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        finally:
            if self._reader is not None:
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._reader
            self._fail_waiting("capture worker stopped")

    def record(self, path: Path | None) -> None:
        """Have the worker record the frames of the streams that follow into the
        recording at `path` (None: none). Before the first stream starts."""
        self._send(message(RECORD, 0, str(path).encode() if path else b""))

    def pods(self, pod_nodes: dict[str, str]) -> None:
        """Tell the worker which node each pod IP lives on (its address): a native
        frame (BGP mode) carries pod addresses only."""
        self._send(message(PODS, 0, json.dumps(pod_nodes).encode()))

    # -- streams -----

    def sink(self, node: str, address: str | None) -> NodeSink:
        return NodeSink(self, node, address)

    def _send(self, data: bytes) -> None:
        if self._gone is not None:
            raise WorkerGone(self._gone)
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(data)

    def _open(self, node: str, address: str | None) -> int:
        self._next_stream += 1
        self._send(message(START, self._next_stream, start_payload(node, address, self.vxlan_port)))
        self._open_streams.add(self._next_stream)
        return self._next_stream

    async def _feed(self, stream: int, chunk: bytes) -> None:
        if stream in self._broken:
            raise CaptureError(self._broken.pop(stream))
        for start in range(0, len(chunk), MAX_MESSAGE):
            self._send(message(DATA, stream, chunk[start : start + MAX_MESSAGE]))
        assert self._proc is not None and self._proc.stdin is not None
        if self._proc.stdin.transport.get_write_buffer_size() > WRITE_HIGH:
            began = time.monotonic()
            await self._proc.stdin.drain()  # the worker is behind: read at its pace
            self._waited += time.monotonic() - began

    def _end(self, stream: int, clean: bool) -> None:
        self._open_streams.discard(stream)
        self._broken.pop(stream, None)
        if self._gone is None:
            self._send(message(END, stream, END_CLEAN if clean else b""))

    # -- requests -----

    async def summary(self) -> tuple[OverlaySummary, float]:
        """The worker's summary, and how long feeds waited for it since the last one."""
        kind, summary, broken, noted = await self._ask(message(SUMMARY))
        assert kind == "summary"
        self.record_dropped, self.record_error = noted
        self._broken.update((k, v) for k, v in broken.items() if k in self._open_streams)
        waited, self._waited = self._waited, 0.0
        return summary, waited

    async def write_pcap(self, path: Path) -> int:
        """Have the worker write its buffered raw frames to `path`; raises OSError."""
        kind, count, error = await self._ask(message(WRITE, 0, str(path).encode()))
        assert kind == "written"
        if error:
            raise OSError(error)
        return count

    async def _ask(self, request: bytes) -> tuple:
        answer: asyncio.Future = asyncio.get_running_loop().create_future()
        self._send(request)
        self._replies.append(answer)
        return await answer

    async def _read_replies(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        try:
            while True:
                (length,) = REPLY.unpack(await stdout.readexactly(REPLY.size))
                obj = pickle.loads(await stdout.readexactly(length))
                if self._replies:
                    answer = self._replies.popleft()
                    if not answer.done():
                        answer.set_result(obj)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        words = ""
        if self._proc.stderr is not None:
            with contextlib.suppress(Exception):
                words = (await asyncio.wait_for(self._proc.stderr.read(4096), 1.0)).decode(
                    errors="replace"
                )
        last = words.strip().splitlines()[-1] if words.strip() else "no message"
        self._fail_waiting(f"capture worker ended ({last})")

    def _fail_waiting(self, why: str) -> None:
        self._gone = self._gone or why
        while self._replies:
            answer = self._replies.popleft()
            if not answer.done():
                answer.set_exception(WorkerGone(why))


class NodeSink:
    """Where one node's capture bytes go: `start()` at each (re)opened stream,
    `feed()` its chunks (waits when the worker is behind; raises CaptureError
    when the worker found the stream broken), `end()` when it ended."""

    def __init__(self, worker: CaptureWorker, node: str, address: str | None) -> None:
        self.worker = worker
        self.node = node
        self.address = address
        self._stream: int | None = None

    def start(self) -> None:
        self._stream = self.worker._open(self.node, self.address)

    async def feed(self, chunk: bytes) -> None:
        assert self._stream is not None, "start() first"
        await self.worker._feed(self._stream, chunk)

    def end(self, clean: bool = True) -> None:
        """The stream ended (`clean`: by itself, so it must not end mid-record;
        not after an error, which was already said)."""
        if self._stream is not None:
            self.worker._end(self._stream, clean)
            self._stream = None
