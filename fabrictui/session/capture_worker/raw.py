"""The raw frames kept for `w`, without a Python object per frame.

Asking the decoder for a `RawRecord` per frame (`keep_raw=True`) costs about as
much as decoding the frame. Only the newest few thousand are ever written, so
the worker keeps the captured chunks themselves with where their first record
starts (`RecordLocator`), and finds the records and builds `RawRecord`s only
when `w` asks (`RawChunks.records`).
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

from fabrictui.capture.pcap import RawRecord
from fabrictui.model import VxlanFrame

PCAP_HEADER = 24
_LE = struct.Struct("<IIII")
_BE = struct.Struct(">IIII")
_LENGTH = attrgetter("length")
SPARSE = 4  # a chunk with fewer than 1 in SPARSE records kept has them copied out


def _walk(rec: struct.Struct, data: bytes, off: int, count: int | None = None) -> list[int]:
    """Offsets of the complete records in `data` from `off` (at most `count`)."""
    offsets: list[int] = []
    unpack = rec.unpack_from
    n = len(data)
    while off + 16 <= n and (count is None or len(offsets) < count):
        end = off + 16 + unpack(data, off)[2]
        if end > n:
            break
        offsets.append(off)
        off = end
    return offsets


@dataclass(frozen=True, slots=True)
class Located:
    """The records a chunk completed: `count` of them from `start` to `end` in `data`."""

    data: bytes
    start: int
    count: int
    rec: struct.Struct
    end: int

    def only(self, kept: Sequence[int]) -> Located:
        """The records at the indexes `kept`, copied out on their own (so a chunk
        from which few were kept does not hold all its bytes)."""
        data, unpack = self.data, self.rec.unpack_from
        offsets = _walk(self.rec, data, self.start, self.count)
        parts = [data[off : off + 16 + unpack(data, off)[2]] for off in (offsets[i] for i in kept)]
        joined = b"".join(parts)
        return Located(joined, 0, len(parts), self.rec, len(joined))


class RecordLocator:
    """Follows a pcap stream fed in chunks, as `PcapStreamDecoder` splits it
    (same carry of an incomplete record in front of the next chunk), knowing
    where each chunk's complete records start."""

    def __init__(self) -> None:
        self._carry = b""
        self._skip = PCAP_HEADER  # the stream's global header comes first
        self.rec = _LE
        self.header = b""  # the stream's pcap global header, once read
        self.walked = 0  # chunks whose records had to be walked one by one

    def locate(
        self, chunk: bytes, frames: list[VxlanFrame], snaplen: int, big_endian: bool
    ) -> Located:
        """Where the records of `frames` (what the decoder returned for `chunk`) are."""
        data = self._carry + chunk if self._carry else chunk
        start = 0
        if self._skip:
            if len(data) < self._skip:
                self._carry = data
                return Located(data, 0, 0, self.rec, 0)
            self.header = bytes(data[: self._skip])
            start, self._skip = self._skip, 0
            self.rec = _BE if big_endian else _LE
        end = self._end(data, start, frames, snaplen)
        self._carry = data[end:]
        return Located(data, start, len(frames), self.rec, end)

    def _end(self, data: bytes, start: int, frames: list[VxlanFrame], snaplen: int) -> int:
        if not frames:
            return start
        lengths = list(map(_LENGTH, frames))
        unpack = self.rec.unpack_from
        if max(lengths) <= snaplen and len(data) >= start + 16:
            # nothing was cut by the snap length: each record is its header and
            # its frame's length, so the end needs no walk (checked at both ends)
            end = start + 16 * len(frames) + sum(lengths)
            _, _, incl, orig = unpack(data, start)
            if incl == orig == lengths[0] and end <= len(data):
                rest = len(data) - end
                if rest < 16 or 16 + unpack(data, end)[2] > rest:
                    return end
        self.walked += 1
        offsets = _walk(self.rec, data, start, len(frames))
        last = offsets[-1] if offsets else start
        return last + 16 + unpack(data, last)[2] if offsets else start


class RawChunks:
    """The newest `capacity` kept frames, as located chunks (and which of a
    chunk's records were kept, when some were not)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._chunks: deque[tuple[Located, Sequence[int] | None]] = deque()
        self._count = 0
        self.linktype = 1
        self.nanosecond = False

    def __len__(self) -> int:
        return min(self._count, self.capacity)

    @property
    def held_bytes(self) -> int:
        """Bytes of captured chunks held (what the buffer costs)."""
        return sum(len(located.data) for located, _ in self._chunks)

    def add(self, located: Located, kept: Sequence[int] | None = None) -> None:
        """Keep `located`'s records (only those at the indexes `kept`, when given).
        A chunk is held whole only when at least 1 in SPARSE of its records is
        kept: the bytes held stay within SPARSE times those of the frames kept."""
        if kept is not None and len(kept) * SPARSE < located.count:
            located, kept = located.only(kept), None
        count = located.count if kept is None else len(kept)
        if not count:
            return
        chunks = self._chunks
        chunks.append((located, kept))
        self._count += count
        while self._count - _kept_count(chunks[0]) >= self.capacity:
            self._count -= _kept_count(chunks.popleft())

    def records(self) -> list[RawRecord]:
        """The newest `capacity` records, oldest first (found and built now, for `w`)."""
        out: list[RawRecord] = []
        for located, kept in self._chunks:
            data = located.data
            unpack = located.rec.unpack_from
            offsets = _walk(located.rec, data, located.start, located.count)
            for off in offsets if kept is None else [offsets[i] for i in kept]:
                sec, frac, incl, orig = unpack(data, off)
                out.append(RawRecord(sec, frac, orig, data[off + 16 : off + 16 + incl]))
        return out[-self.capacity :]


def _kept_count(entry: tuple[Located, Sequence[int] | None]) -> int:
    located, kept = entry
    return located.count if kept is None else len(kept)
