"""Opening a recording: its events in memory (small), its frames by index
(their bytes read only when asked), and how far it could be read.

A damaged file (truncated, garbled, a crash mid-write) opens up to the damage:
`Recording.damage` says what was wrong and from when on nothing could be read.
A file that is no recording at all raises `RecordingError`.
"""

from __future__ import annotations

import bisect
import json
import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fabrictui.model import LabInfo
from fabrictui.session.record.format import FORMAT_VERSION, SUFFIX, RecordingError, loads


@dataclass(frozen=True, slots=True)
class Event:
    """One recorded event; its data stays in the file until asked for (an hour
    of a busy cluster is hundreds of thousands of pod events)."""

    id: int
    t: float
    kind: str
    recording: Recording = field(repr=False, compare=False)

    @property
    def data(self) -> Any:
        return self.recording.event_data(self.id)


@dataclass(frozen=True, slots=True)
class FrameBlock:
    id: int
    stream: int
    t0: float
    t1: float
    count: int


@dataclass(frozen=True, slots=True)
class Stream:
    id: int
    node: str
    address: str | None
    header: bytes


class Recording:
    """A recording opened read-only. `events` and `times` are in order."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise RecordingError(f"{self.path}: no such recording")
        self.damage: str | None = None  # what could not be read, for the user
        self._salvage: tempfile._TemporaryFileWrapper | None = None
        try:
            meta = self._open(_uri(self.path))
        except sqlite3.DatabaseError as err:
            meta = self._open_damaged(err)
        if meta.get("format") != str(FORMAT_VERSION):
            raise RecordingError(
                f"{self.path}: recording format {meta.get('format')!r} "
                f"(this fabrictui reads {FORMAT_VERSION})"
            )
        try:
            self.lab: LabInfo = loads(meta["lab"])
            self.started = float(meta["started"])
        except (KeyError, ValueError, TypeError, json.JSONDecodeError) as err:
            raise RecordingError(f"{self.path}: its description is damaged ({err})") from None
        self.ended: float | None = float(meta["ended"]) if "ended" in meta else None
        self.version = meta.get("version", "")
        self.events: list[Event] = []
        self.blocks: list[FrameBlock] = []
        self.streams: dict[int, Stream] = {}
        self._read_events()
        self._read_frames()
        self.times = [e.t for e in self.events]
        if self.events:
            self.started = min(self.started, self.events[0].t)
        # the latest end so far at each block (blocks of several streams interleave,
        # so their own ends are not in order; this is, and can be bisected)
        self.block_ends: list[float] = []
        latest = float("-inf")
        for block in self.blocks:
            latest = max(latest, block.t1)
            self.block_ends.append(latest)

    def close(self) -> None:
        self._conn.close()
        if self._salvage is not None:
            self._salvage.close()

    def _open(self, uri: str) -> dict[str, str]:
        self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        return dict(self._conn.execute("SELECT key, value FROM meta").fetchall())

    def _open_damaged(self, first: sqlite3.DatabaseError) -> dict[str, str]:
        """Open a copy whose header no longer claims more pages than the file has
        (a truncated file): SQLite then reads what is there, and fails only on the
        pages that are missing or garbled, which the reading stops at."""
        with open(self.path, "rb") as file:
            head = file.read(100)
        if len(head) < 100 or not head.startswith(b"SQLite format 3\0"):
            raise RecordingError(f"{self.path}: not a fabrictui recording ({first})") from None
        self._salvage = tempfile.NamedTemporaryFile(suffix=SUFFIX)  # noqa: SIM115 - kept open
        shutil.copyfile(self.path, self._salvage.name)
        with open(self._salvage.name, "r+b") as file:
            file.seek(18)
            file.write(b"\x01\x01")  # not WAL: the copy has no write-ahead log
            counter = int.from_bytes(head[24:28], "big")
            file.seek(92)
            file.write(((counter + 1) & 0xFFFFFFFF).to_bytes(4, "big"))  # size: from the file
        try:
            meta = self._open(f"file:{self._salvage.name}?mode=ro")
        except sqlite3.DatabaseError as err:
            raise RecordingError(f"{self.path}: not a fabrictui recording ({err})") from None
        self.damage = f"{self.path}: damaged ({first}); read up to the damage"
        return meta

    @property
    def end(self) -> float:
        last = [self.started]
        if self.events:
            last.append(self.events[-1].t)
        if self.blocks:
            last.append(max(b.t1 for b in self.blocks[-8:]))
        return self.ended if self.ended is not None and not self.damage else max(last)

    def _damaged(self, what: str, after: float | None, err: Exception) -> None:
        when = f"after {after:.3f}" if after is not None else "from the start"
        note = f"{self.path}: damaged {what} {when}: {err}; read up to the damage"
        self.damage = f"{self.damage}; {note}" if self.damage else note

    def _rows(self, sql: str) -> Iterator[tuple]:
        """Rows in id order, one at a time: a damaged page raises there, after the
        rows before it were handed out."""
        yield from self._conn.execute(sql)

    def _read_events(self) -> None:
        events = self.events
        try:
            # length(data) reads every value (overflow pages too) without copying it
            # here: damage is found now, not in the middle of a seek
            for row in self._rows("SELECT id, t, kind, length(data) FROM events ORDER BY id"):
                events.append(Event(row[0], row[1], row[2], self))
        except sqlite3.DatabaseError as err:
            self._damaged("events", events[-1].t if events else None, err)

    def _read_frames(self) -> None:
        try:
            for row in self._conn.execute("SELECT id, node, address, header FROM streams"):
                self.streams[row[0]] = Stream(*row)
            for row in self._rows("SELECT id, stream, t0, t1, count FROM frames ORDER BY id"):
                self.blocks.append(FrameBlock(*row))
        except sqlite3.DatabaseError as err:
            self._damaged("frames", self.blocks[-1].t1 if self.blocks else None, err)

    # -- questions -----

    def event_data(self, event_id: int) -> Any:
        """One event's data; RecordingError when it is missing or damaged."""
        try:
            row = self._conn.execute("SELECT data FROM events WHERE id = ?", (event_id,)).fetchone()
            if row is None:
                raise RecordingError(f"{self.path}: event {event_id} is missing")
            return loads(row[0])
        except (sqlite3.DatabaseError, ValueError, TypeError) as err:
            raise RecordingError(f"{self.path}: event {event_id} is damaged ({err})") from None

    def data_between(self, first: int, end: int) -> list[Any]:
        """The data of events[first:end], read in one query. An event found
        damaged here (a page cut short reads as zeros) ends the recording there:
        the list stops before it, and `damage` says so."""
        if first >= end:
            return []
        found: list[Any] = []
        try:
            rows = self._conn.execute(
                # a snapshot met on the way is not needed (the events before it built the
                # same state): its data, the largest there is, is not read
                "SELECT CASE kind WHEN 'snapshot' THEN 'null' ELSE data END FROM events"
                " WHERE id >= ? AND id <= ? ORDER BY id",
                (self.events[first].id, self.events[end - 1].id),
            ).fetchall()
            for row in rows:
                found.append(loads(row[0]))
        except (sqlite3.DatabaseError, ValueError, TypeError) as err:
            self.cut(first + len(found), err)
        return found

    def cut(self, index: int, err: Exception) -> None:
        """Nothing from events[index] on can be read: the recording ends before it."""
        if index >= len(self.events):
            return
        self._damaged("events", self.events[index - 1].t if index else None, err)
        del self.events[index:]
        del self.times[index:]

    def index_at(self, t: float) -> int:
        """How many events happened at or before `t`."""
        return bisect.bisect_right(self.times, t)

    def frame_count(self) -> int:
        return sum(b.count for b in self.blocks)

    def records(self, t0: float, t1: float) -> Iterator[tuple[Stream, bytes]]:
        """The pcap records of frames captured between t0 and t1, block by block
        (whole records; each block of one stream), oldest block first."""
        for block in self.blocks_between(t0, t1):
            stream = self.streams.get(block.stream)
            if stream is None:
                continue
            try:
                row = self._conn.execute(
                    "SELECT records FROM frames WHERE id = ?", (block.id,)
                ).fetchone()
            except sqlite3.DatabaseError as err:
                self._damaged("frames", block.t0, err)
                return
            if row is not None:
                yield stream, _trim(stream.header, row[0], t0, t1)

    def blocks_between(self, t0: float, t1: float) -> list[FrameBlock]:
        first = bisect.bisect_left(self.block_ends, t0)
        end = bisect.bisect_right(self.block_ends, t1, lo=first)
        # a block after `end` may still start before t1 (it ends later): a few more
        tail = self.blocks[end : end + 64]
        chosen = [b for b in self.blocks[first:end] if b.t1 >= t0 and b.t0 <= t1]
        return chosen + [b for b in tail if b.t0 <= t1]

    def export_pcap(self, out: Path, t0: float, t1: float) -> int:
        """Write the frames between t0 and t1 as one pcap file; the count written.
        Streams with another link type or time resolution than the first are left
        out (one pcap file has one of each)."""
        count = 0
        header: bytes | None = None
        with open(out, "wb") as file:
            for stream, records in self.records(t0, t1):
                if header is None:
                    header = stream.header
                    file.write(header)
                if stream.header[:4] != header[:4] or stream.header[20:] != header[20:]:
                    continue
                file.write(records)
                count += _count(stream.header, records)
            if header is None:
                file.write(_EMPTY_HEADER)
        return count


def _uri(path: Path) -> str:
    """Read-only; a file without a write-ahead log (closed cleanly, or copied) is
    opened as immutable, so reading it creates no -wal / -shm beside it."""
    if Path(f"{path}-wal").exists():
        return f"file:{path}?mode=ro"
    return f"file:{path}?mode=ro&immutable=1"


_EMPTY_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)


def _record_struct(header: bytes) -> tuple[struct.Struct, float]:
    little = header[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
    nanos = header[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    return struct.Struct(("<" if little else ">") + "IIII"), 1e-9 if nanos else 1e-6


def _trim(header: bytes, records: bytes, t0: float, t1: float) -> bytes:
    """The records of a block captured between t0 and t1."""
    rec, scale = _record_struct(header)
    out = bytearray()
    off = 0
    while off + 16 <= len(records):
        sec, frac, incl, _orig = rec.unpack_from(records, off)
        end = off + 16 + incl
        if t0 <= sec + frac * scale <= t1:
            out += records[off:end]
        off = end
    return bytes(out)


def _count(header: bytes, records: bytes) -> int:
    rec, _scale = _record_struct(header)
    count = off = 0
    while off + 16 <= len(records):
        off += 16 + rec.unpack_from(records, off)[2]
        count += 1
    return count
