"""The frames of a recording, written by the capture worker process (which
already holds the bytes and knows where each pcap record starts): the app's
process does no per-frame or per-record work for recording.

The worker's loop hands each decoded chunk's whole records (`add`: one queue
put, no copy) to a thread of its own that gathers them per stream into blocks
and writes the `streams` and `frames` tables of the session's file (the app's
`Recorder` writes the rest of the same file: SQLite in WAL mode takes the two
writers, one commit at a time, each waiting up to BUSY_SECONDS for the other).
It commits every COMMIT_SECONDS, so a `kill -9` loses at most that much.

A slow disk never blocks decoding: past MAX_BACKLOG bytes waiting for the
thread, a chunk's records are dropped and counted (`dropped`, the frames not
recorded), which the app writes into the recording as a `gap` event.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from dataclasses import dataclass, field

from fabrictui.session.record.format import connect, write_queued

BUSY_SECONDS = 60.0  # how long a write waits for the app's recorder (decoding never does)
BLOCK_BYTES = 256 * 1024  # pcap records of one stream gathered into one row
MAX_BACKLOG = 32 * 1024 * 1024  # bytes queued for the thread; past it, records are dropped


@dataclass(slots=True)
class _Stream:
    node: str
    address: str | None
    header: bytes
    db_id: int | None = None
    block: bytearray = field(default_factory=bytearray)
    t0: float = 0.0
    t1: float = 0.0
    count: int = 0


class FrameWriter:
    """Writes whole pcap records of capture streams into the recording at `path`
    (its schema made by the app's `Recorder`, or here when it is not there yet)."""

    def __init__(self, path: str, max_backlog: int = MAX_BACKLOG) -> None:
        self.path = path
        self.max_backlog = max_backlog
        self.dropped = 0  # frames not recorded because the disk was behind
        self.error: str | None = None  # the thread's failure (frames no longer recorded)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._put = 0  # bytes queued (the caller's thread only)
        self._done = 0  # bytes the thread took (the thread only)
        conn = connect(path, busy_seconds=BUSY_SECONDS)  # fails here when the file is unusable
        self._thread = threading.Thread(
            target=self._run, args=(conn,), name="fabrictui-frames", daemon=True
        )
        self._thread.start()

    def add(
        self,
        stream: int,
        node: str,
        address: str | None,
        header: bytes,
        data: bytes,
        start: int,
        end: int,
        count: int,
        t0: float,
        t1: float,
    ) -> bool:
        """Queue `count` whole records (`data[start:end]`, first at `t0`, last at
        `t1`) of `stream`, whose pcap global header is `header`; False when they
        were dropped (the thread is behind, or stopped)."""
        if self.error is not None:
            return False
        size = end - start
        if self._put - self._done + size > self.max_backlog:
            self.dropped += count
            return False
        self._put += size
        self._queue.put(((stream, node, address, header), data, start, end, count, t0, t1))
        return True

    def end(self, stream: int) -> None:
        """The stream ended: its last block is written."""
        self._queue.put(("end", stream))

    def close(self, timeout: float = 1.5) -> None:
        """Write what is queued, commit, close (blocks up to `timeout`)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    # -- the thread -----

    def _run(self, conn: sqlite3.Connection) -> None:
        streams: dict[int, _Stream] = {}

        def take(item: tuple | None) -> bool:
            if item is None:
                return False
            if len(item) == 2:
                ended = streams.pop(item[1], None)
                if ended is not None:
                    self._flush(conn, ended)
            else:
                self._take(conn, streams, *item)
            return True

        def flush_all() -> None:  # the blocks still gathering reach the file at each commit
            for stream in streams.values():
                self._flush(conn, stream)

        try:
            write_queued(conn, self._queue, take, flush_all)
        except (sqlite3.Error, OSError) as err:
            self.error = f"frames not recorded: {self.path}: {err}"
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _take(
        self,
        conn: sqlite3.Connection,
        streams: dict[int, _Stream],
        source: tuple[int, str, str | None, bytes],
        data: bytes,
        start: int,
        end: int,
        count: int,
        t0: float,
        t1: float,
    ) -> None:
        self._done += end - start
        number, node, address, header = source
        stream = streams.get(number)
        if stream is None:
            stream = streams[number] = _Stream(node, address, header)
        if not stream.count:
            stream.t0 = t0
        stream.block += memoryview(data)[start:end]
        stream.t1 = t1
        stream.count += count
        if len(stream.block) >= BLOCK_BYTES:
            self._flush(conn, stream)

    @staticmethod
    def _flush(conn: sqlite3.Connection, stream: _Stream) -> None:
        if not stream.count:
            return
        if stream.db_id is None:  # the stream's row, once it has records
            cur = conn.execute(
                "INSERT INTO streams (node, address, header) VALUES (?, ?, ?)",
                (stream.node, stream.address, stream.header),
            )
            stream.db_id = cur.lastrowid
        conn.execute(
            "INSERT INTO frames (stream, t0, t1, count, records) VALUES (?, ?, ?, ?, ?)",
            (stream.db_id, stream.t0, stream.t1, stream.count, bytes(stream.block)),
        )
        stream.block = bytearray()
        stream.count = 0
