"""Write kept raw records (`RawRecord`, from `PcapStreamDecoder(keep_raw=True)`)
back out as a pcap file that tcpdump and Wireshark read: the overlay pane's `w`.

The one module of `fabrictui.capture` that does I/O, and only on a file object
or path it is given. Output is little-endian with the source's link type and
time resolution, so records are copied unchanged.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from fabrictui.capture.pcap import RawRecord
from fabrictui.capture.synth import pcap_global_header

_RECORD = struct.Struct("<IIII")


class PcapWriter:
    """Writes the global header at once, then one record per `write()`."""

    def __init__(
        self,
        stream: BinaryIO,
        linktype: int = 1,
        snaplen: int = 262144,
        *,
        nanosecond: bool = False,
    ) -> None:
        self.stream = stream
        self.count = 0
        stream.write(pcap_global_header(linktype, snaplen, nanosecond=nanosecond))

    def write(self, record: RawRecord) -> None:
        data = record.data
        self.stream.write(_RECORD.pack(record.ts_sec, record.ts_frac, len(data), record.orig_len))
        self.stream.write(data)
        self.count += 1

    def write_all(self, records: Iterable[RawRecord]) -> int:
        for record in records:
            self.write(record)
        return self.count


def write_pcap(
    path: str | os.PathLike[str],
    records: Iterable[RawRecord],
    linktype: int = 1,
    snaplen: int = 262144,
    *,
    nanosecond: bool = False,
) -> int:
    """Write `records` to `path` (replacing it); returns how many were written.

    Pass the decoder's `linktype` and `nanosecond` so times and headers mean what
    they meant in the source stream."""
    with Path(path).open("wb") as stream:
        writer = PcapWriter(stream, linktype, snaplen, nanosecond=nanosecond)
        return writer.write_all(records)
