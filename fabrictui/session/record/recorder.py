"""Recording a session: a listener on what `LabState` receives, and a tap on
the capture bytes, both handing their items to one writer thread.

On the loop each item costs one queue put: a state change (objects that are
already immutable), or a capture chunk as read (never a frame: the loop does
no per-frame work). The writer thread encodes, cuts the capture bytes into
whole pcap records, inserts, and commits every COMMIT_SECONDS, so a `kill -9`
loses at most that much.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fabrictui import __version__
from fabrictui.actions.trace_model import TraceResult
from fabrictui.model import CheckResult, LabInfo, PingResult
from fabrictui.session.record.format import FORMAT_VERSION, connect, dumps
from fabrictui.session.record.marks import MARKED, Marker
from fabrictui.session.state import LabState

COMMIT_SECONDS = 0.5  # kill -9 loses at most this much (the issue asks for a second)
SNAPSHOT_SECONDS = 60.0  # a whole-state snapshot this often: a seek replays at most this
SNAPSHOT_EVENTS = 2000  # ... or after this many events (a busy cluster), whichever comes first
MARK_GAP = 1.0  # marks of one level closer than this are kept as one (a flood of restarts)
OVERLAY_SECONDS = 1.0  # the capture counters, at most this often
BLOCK_BYTES = 256 * 1024  # pcap records of one stream gathered into one row
MAX_BACKLOG = 64 * 1024 * 1024  # capture bytes queued for the writer; past it, a gap
PCAP_HEADER = 24
MAX_RECORD = 262144 * 4  # a record longer than this means the stream is not pcap

_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}


class CaptureSink(Protocol):
    def start(self) -> None: ...
    async def feed(self, chunk: bytes) -> None: ...
    def end(self, clean: bool = True) -> None: ...


@dataclass(slots=True)
class _Stream:
    """One capture stream as the writer cuts it into whole records."""

    node: str
    address: str | None
    db_id: int | None = None
    pending: bytearray | None = None
    block: bytearray | None = None
    rec: struct.Struct | None = None
    scale: float = 1e-6
    t0: float = 0.0
    t1: float = 0.0
    count: int = 0
    broken: bool = False


class Recorder:
    """Writes one session to `path`. `attach(state)` listens to it; `tap()` wraps
    a capture sink; `log()` records an action-log line; `close()` ends it."""

    def __init__(self, path: Path, lab: LabInfo, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.lab = lab
        self.clock = clock
        self.started = clock()
        self.error: str | None = None  # the writer's failure, once (recording stopped)
        # told that error, from the writer thread (the app hands it to its loop)
        self.on_error: Callable[[str], None] | None = None
        self.state: LabState | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._put_bytes = 0  # capture bytes queued (written on the loop only)
        self._done_bytes = 0  # capture bytes the writer took (written by the writer only)
        self._last_snapshot = 0.0
        self._since_snapshot = 0  # events queued since the last snapshot
        self._last_mark: dict[str, float] = {}  # level -> time of the last mark kept (writer)
        self._last_overlay = 0.0
        self._next_stream = 0
        self._gaps = 0
        self._marker = Marker()  # used by the writer thread only
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(str(self.path))  # fail here, in the caller, when the file is unusable
        self._thread = threading.Thread(
            target=self._run, args=(conn,), name="fabrictui-recorder", daemon=True
        )
        self._thread.start()
        self._queue.put(("meta", None, None))

    # -- on the loop -----

    def attach(self, state: LabState) -> None:
        self.state = state
        state.listeners.append(self.received)
        self._snapshot(self.clock())

    def received(self, kind: str, data: Any) -> None:
        """A listener of `LabState`: one queue put, nothing else on the loop."""
        if self.error is not None:
            return  # the writer stopped: queueing more would only grow memory
        now = self.clock()
        if kind == "overlay":
            if now - self._last_overlay < OVERLAY_SECONDS:
                return
            self._last_overlay = now
        self._queue.put(("event", now, (kind, data)))
        self._since_snapshot += 1
        # a snapshot costs as much as the pods it holds: never more often than the
        # events since the last one add up to as many, so snapshots at most double the file
        every = max(SNAPSHOT_EVENTS, len(self.state.pods) if self.state else 0)
        if now - self._last_snapshot >= SNAPSHOT_SECONDS or self._since_snapshot >= every:
            self._snapshot(now)

    def log(self, level: str, line: str) -> None:
        if self.error is None:
            self._queue.put(("event", self.clock(), ("log", [level, line])))

    def result(self, action: str, result: Any) -> None:
        """A listener of the action runner: verify's checks, the ping mesh's
        results and a trace are kept (what replay and reports show as the latest,
        with its time)."""
        if isinstance(result, list) and result and all(isinstance(r, CheckResult) for r in result):
            self._queue.put(("event", self.clock(), ("verify", list(result))))
            return
        if isinstance(result, TraceResult):
            self._queue.put(("event", self.clock(), ("trace", result)))
            return
        results = getattr(result, "results", None)
        if isinstance(results, dict) and all(isinstance(r, PingResult) for r in results.values()):
            self._queue.put(("event", self.clock(), ("ping", dict(results))))

    def _snapshot(self, now: float) -> None:
        state = self.state
        if state is None:
            return
        self._last_snapshot = now
        self._since_snapshot = 0
        whole = {
            "hosts": list(state.hosts),
            "fabric": dict(state.readings),
            "nodes": tuple(state.nodes.values()),
            "pods": tuple(state.pods.values()),
            "problems": dict(state.problems),
            "answers": dict(state.last_answer),
            "overlay": state.overlay.counters,
            "bgp": [state.calico_mode, dict(state.node_bgp)],
        }
        self._queue.put(("event", now, ("snapshot", whole)))

    def tap(self, node: str, address: str | None, sink: CaptureSink) -> CaptureSink:
        return _TapSink(self, node, address, sink)

    def _chunk(self, stream: int, chunk: bytes) -> bool:
        """Queue a capture chunk; False when the writer is too far behind (a gap)."""
        if self.error is not None:
            return False
        if self._put_bytes - self._done_bytes > MAX_BACKLOG:
            self._gaps += 1
            self._queue.put(("drop", stream, None))
            self._queue.put(("event", self.clock(), ("gap", "the recorder fell behind")))
            return False
        self._put_bytes += len(chunk)
        self._queue.put(("chunk", stream, chunk))
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, mark the end, commit, close (blocks: call it off
        the loop, or at exit)."""
        if self._thread.is_alive():
            self._queue.put(("close", self.clock(), None))
            self._thread.join(timeout)

    # -- the writer thread -----

    def _run(self, conn: sqlite3.Connection) -> None:
        streams: dict[int, _Stream] = {}
        last_commit = time.monotonic()
        try:
            while True:
                wait = max(0.0, COMMIT_SECONDS - (time.monotonic() - last_commit))
                try:
                    item = self._queue.get(timeout=wait)
                except queue.Empty:
                    item = None
                if item is not None:
                    what, a, b = item
                    if what == "close":
                        self._flush(conn, streams)
                        self._meta(conn, "ended", repr(a))
                        conn.commit()
                        return
                    self._write(conn, streams, what, a, b)
                if time.monotonic() - last_commit >= COMMIT_SECONDS:
                    self._flush(conn, streams)
                    conn.commit()
                    last_commit = time.monotonic()
        except (sqlite3.Error, OSError) as err:
            self.error = f"recording stopped: {self.path}: {err}"
            if self.on_error is not None:
                with contextlib.suppress(Exception):  # the app may be ending
                    self.on_error(self.error)
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _write(
        self, conn: sqlite3.Connection, streams: dict[int, _Stream], what: str, a: Any, b: Any
    ) -> None:
        if what == "event":
            kind, data = b
            conn.execute(
                "INSERT INTO events (t, kind, data) VALUES (?, ?, ?)", (a, kind, dumps(data))
            )
            if kind in MARKED:
                mark = self._marker.see(a, kind, data)
                if mark is not None and a - self._last_mark.get(mark.level, -MARK_GAP) >= MARK_GAP:
                    self._last_mark[mark.level] = a
                    conn.execute(
                        "INSERT INTO marks (t, level, text) VALUES (?, ?, ?)",
                        (mark.t, mark.level, mark.text),
                    )
        elif what == "chunk":
            self._done_bytes += len(b)
            stream = streams.get(a)
            if stream is not None and not stream.broken:
                self._cut(conn, stream, b)
        elif what == "start":
            streams[a] = _Stream(b[0], b[1], pending=bytearray(), block=bytearray())
        elif what in ("end", "drop"):
            stream = streams.pop(a, None)
            if stream is not None:
                self._flush_stream(conn, stream)
        elif what == "meta":
            self._meta(conn, "format", str(FORMAT_VERSION))
            self._meta(conn, "version", __version__)
            self._meta(conn, "lab", dumps(self.lab))
            self._meta(conn, "started", repr(self.started))
            conn.commit()

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _cut(self, conn: sqlite3.Connection, stream: _Stream, chunk: bytes) -> None:
        """Keep the whole pcap records of `chunk` (with what was left over)."""
        buf = stream.pending
        assert buf is not None and stream.block is not None
        buf += chunk
        off = 0
        if stream.rec is None:
            if len(buf) < PCAP_HEADER:
                return
            header = bytes(buf[:PCAP_HEADER])
            form = _MAGICS.get(header[:4])
            if form is None:
                stream.broken = True
                return
            stream.rec = struct.Struct(form[0] + "IIII")
            stream.scale = form[1]
            cur = conn.execute(
                "INSERT INTO streams (node, address, header) VALUES (?, ?, ?)",
                (stream.node, stream.address, header),
            )
            stream.db_id = cur.lastrowid
            off = PCAP_HEADER
            del buf[:off]
            off = 0
        unpack = stream.rec.unpack_from
        size = len(buf)
        scale = stream.scale
        first = stream.count == 0
        t = 0.0
        count = 0
        while size - off >= 16:
            sec, frac, incl, _orig = unpack(buf, off)
            if incl > MAX_RECORD:
                stream.broken = True
                break
            end = off + 16 + incl
            if end > size:
                break
            t = sec + frac * scale
            if first and count == 0:
                stream.t0 = t
            count += 1
            off = end
        if count:
            stream.block += buf[:off]
            stream.t1 = t
            stream.count += count
            del buf[:off]
            if len(stream.block) >= BLOCK_BYTES:
                self._flush_stream(conn, stream)

    def _flush(self, conn: sqlite3.Connection, streams: dict[int, _Stream]) -> None:
        for stream in streams.values():
            self._flush_stream(conn, stream)

    @staticmethod
    def _flush_stream(conn: sqlite3.Connection, stream: _Stream) -> None:
        if not stream.count or stream.block is None:
            return
        conn.execute(
            "INSERT INTO frames (stream, t0, t1, count, records) VALUES (?, ?, ?, ?, ?)",
            (stream.db_id, stream.t0, stream.t1, stream.count, bytes(stream.block)),
        )
        stream.block = bytearray()
        stream.count = 0


class _TapSink:
    """A capture sink that hands each chunk to the recorder, then to `inner`."""

    def __init__(self, recorder: Recorder, node: str, address: str | None, inner: CaptureSink):
        self.recorder = recorder
        self.node = node
        self.address = address
        self.inner = inner
        self._stream: int | None = None

    def start(self) -> None:
        self.inner.start()
        self.recorder._next_stream += 1
        self._stream = self.recorder._next_stream
        self.recorder._queue.put(("start", self._stream, (self.node, self.address)))

    async def feed(self, chunk: bytes) -> None:
        if self._stream is not None and not self.recorder._chunk(self._stream, chunk):
            self._stream = None  # recorded again from the next stream on
        await self.inner.feed(chunk)

    def end(self, clean: bool = True) -> None:
        if self._stream is not None:
            self.recorder._queue.put(("end", self._stream, None))
            self._stream = None
        self.inner.end(clean)
