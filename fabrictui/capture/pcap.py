"""Incremental pcap stream decoder: bytes in arbitrary chunks -> `VxlanFrame`s.

Feed it what `tcpdump -U -w -` writes (or a pcap file read in pieces); every
complete record becomes one `VxlanFrame`, in order. Bytes of an incomplete
record wait for the next chunk.

Speed: the common shape of a Calico capture (Ethernet, or LINUX_SLL/SLL2 from
`-i any` / IPv4 without options / UDP to a VXLAN port / VXLAN / Ethernet / IPv4
/ ICMP echo) is decoded by one precompiled fixed-offset `struct.Struct` (plus
one for the cooked link header) and MAC/IP strings come from caches
keyed by the raw bytes; everything else takes the generic path
(`fabrictui.capture.packet.decode_frame`), which checks every length and never
raises for an odd packet. Feed chunks of about 64 KiB
(what a pipe delivers): with 1 MiB chunks the frames of one chunk no longer
stay in the CPU cache and decoding is ~30% slower.

Errors: only the stream structure raises `CaptureError` (bad magic, unknown
link type, a record length no capture produces, a stream cut mid-record at
`finish()`). A packet that is not VXLAN, or is truncated or malformed, decodes
to a frame with `is_vxlan=False` and a `note` saying what it is.

Raw records: with `keep_raw=True`, after each `feed()` the attribute
`raw_records` holds one `RawRecord` per returned frame (same order, same
length), which `fabrictui.capture.pcap_writer` writes back out as a pcap.

Printing: `feed_printed(chunk, printer)` runs the same stream handling but hands
the records to a `fabrictui.capture.printer.RecordPrinter`, which returns output
lines instead of frames (what `fabrictui capture` prints, at wire speed).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterable
from functools import partial
from typing import NamedTuple, Protocol, TypeVar

from fabrictui.capture import CaptureError
from fabrictui.capture.packet import (
    DEFAULT_VXLAN_PORTS,
    ECHO_TYPES,
    FAST_ETH,
    FAST_ETH_LEN,
    FAST_IP,
    IPV4_SIG,
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_RAW,
    SLL2_L2,
    SLL_L2,
    SUPPORTED_LINKTYPES,
    decode_frame,
    format_ip,
    format_mac,
    not_vxlan,
    proto_name,
)
from fabrictui.model import VxlanFrame

_T = TypeVar("_T")

# Names that lived here before the packet headers got their own module; importers keep working.
__all__ = [
    "CACHE_LIMIT",
    "DEFAULT_VXLAN_PORTS",
    "LINKTYPE_ETHERNET",
    "LINKTYPE_IPV4",
    "LINKTYPE_IPV6",
    "LINKTYPE_LINUX_SLL",
    "LINKTYPE_LINUX_SLL2",
    "LINKTYPE_RAW",
    "MAX_RECORD_LEN",
    "SUPPORTED_LINKTYPES",
    "PcapStreamDecoder",
    "RawRecord",
    "decode_frame",
    "decode_pcap_bytes",
    "format_ip",
    "format_mac",
    "proto_name",
]

#: No capture tool writes records this big (libpcap's largest snaplen is 256 KiB);
#: a bigger length means the stream is not pcap or is out of step.
MAX_RECORD_LEN = 262144 * 4
#: Size bound of each string cache; cleared when full (captures see few hosts).
CACHE_LIMIT = 65536

# Record header (per-file byte order).
_REC_LE = struct.Struct("<IIII")
_REC_BE = struct.Struct(">IIII")


class RawRecord(NamedTuple):
    """One pcap record as captured: what `pcap_writer` needs to write it back.

    `ts_frac` is micro- or nanoseconds as in the source stream (see the
    decoder's `nanosecond`)."""

    ts_sec: int
    ts_frac: int
    orig_len: int
    data: bytes


class RecordPrinting(Protocol):
    """What `PcapStreamDecoder.feed_printed` asks of a printer (`capture.printer.RecordPrinter`
    is the one): described here so the decoder does not import the printer, which imports it."""

    def print_records(
        self, decoder: PcapStreamDecoder, data: bytes, off: int
    ) -> tuple[list[bytes], int]: ...


class PcapStreamDecoder:
    """Decode a pcap byte stream fed in arbitrary chunks.

    `vxlan_ports`: UDP ports that mean VXLAN (either direction, as tcpdump does).
    `node`: copied into every frame's `node` field.
    `keep_raw`: keep each returned frame's `RawRecord` in `raw_records`.
    `fast_path`: False forces the generic path for every frame (tests compare both).
    """

    def __init__(
        self,
        *,
        vxlan_ports: Iterable[int] = DEFAULT_VXLAN_PORTS,
        keep_raw: bool = False,
        node: str = "",
        max_record_len: int = MAX_RECORD_LEN,
        fast_path: bool = True,
    ) -> None:
        self.fast_path = fast_path
        self.vxlan_ports = frozenset(vxlan_ports)
        self.keep_raw = keep_raw
        self.node = node
        self.max_record_len = max_record_len
        self.linktype: int | None = None
        self.snaplen: int | None = None
        self.nanosecond = False
        self.big_endian = False
        self.frames_decoded = 0
        self.bytes_fed = 0
        self.raw_records: list[RawRecord] = []
        self._pending: list[bytes] = []  # bytes of an incomplete header or record
        self._pending_len = 0
        self._need = 0  # how many pending bytes complete it
        self._broken = ""  # set once the stream is found broken: every later call raises
        self._rec: struct.Struct = _REC_LE
        self._scale = 1e-6
        self._mac_pairs: dict[bytes, tuple[str, str]] = {}
        self._ip_pairs: dict[bytes, tuple[str, str]] = {}

    # -- stream ------------------------------------------------------------------

    @property
    def header_seen(self) -> bool:
        return self.linktype is not None

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[VxlanFrame]:
        """Decode every complete record now available; keep the rest for later."""
        return self._feed(chunk, self._decode_records)

    def feed_printed(
        self, chunk: bytes | bytearray | memoryview, printer: RecordPrinting
    ) -> list[bytes]:
        """Like `feed`, but every complete record goes straight to `printer`, which returns
        one output line (bytes) per record; the common shape builds no `VxlanFrame` on
        the way. A broken stream raises `CaptureError` with the lines before the break
        in its `lines`. `keep_raw` does not apply (no raw records are kept)."""
        return self._feed(chunk, partial(printer.print_records, self))

    def _feed(
        self,
        chunk: bytes | bytearray | memoryview,
        records: Callable[[bytes, int], tuple[list[_T], int]],
    ) -> list[_T]:
        if self._broken:
            raise CaptureError(self._broken)
        if not isinstance(chunk, bytes):
            chunk = bytes(chunk)
        self.bytes_fed += len(chunk)
        if self.keep_raw:
            self.raw_records = []
        if self._pending_len:
            # bytes wait in pieces until the record they start is complete, so a
            # big record arriving in small chunks is joined once, not once per chunk
            self._pending.append(chunk)
            self._pending_len += len(chunk)
            if self._pending_len < self._need:
                return []
            data = b"".join(self._pending)
        else:
            data = chunk
        off = 0
        if self.linktype is None:
            if len(data) < 24:
                self._keep(data, 24)
                return []
            try:
                self._read_global_header(data)
            except CaptureError as err:
                self._broken = str(err)
                raise
            off = 24
        results, off = records(data, off)
        if off < len(data):
            rest = data[off:]
            need = 16 + self._rec.unpack_from(rest, 0)[2] if len(rest) >= 16 else 16
            self._keep(rest, need)
        else:
            self._keep(b"", 0)
        self.frames_decoded += len(results)
        return results

    def _keep(self, rest: bytes, need: int) -> None:
        self._pending = [rest] if rest else []
        self._pending_len = len(rest)
        self._need = need

    def finish(self) -> None:
        """Declare the end of the stream; raises CaptureError if it ended mid-record."""
        if self._broken:
            raise CaptureError(self._broken)
        if self.linktype is None:
            if not self._pending_len:
                raise CaptureError("empty stream: no pcap header")
            raise CaptureError(
                f"stream ended inside the pcap header ({self._pending_len} of 24 bytes)"
            )
        if self._pending_len:
            raise CaptureError(
                f"stream ended mid-record: {self._pending_len} bytes of an incomplete record "
                f"after {self.frames_decoded} frames"
            )

    # -- for record printers (fabrictui.capture.printer) ---------------------------

    @property
    def record_header(self) -> struct.Struct:
        """The record header's layout in this stream's byte order (valid once the global
        header is read): seconds, fraction, captured length, original length."""
        return self._rec

    @property
    def time_scale(self) -> float:
        """Seconds per unit of a record's fraction field (1e-6, or 1e-9 when nanosecond)."""
        return self._scale

    def out_of_step(self, incl: int, decoded: int) -> str:
        """Mark the stream broken at a record that claims `incl` bytes, `decoded` records
        into the current chunk; returns the message every later call raises."""
        self.frames_decoded += decoded
        self._broken = (
            f"record {self.frames_decoded + 1} claims {incl} bytes "
            f"(more than {self.max_record_len}): not a pcap stream or out of step"
        )
        return self._broken

    def decode_generic(self, frame: bytes, t: float, orig: int) -> VxlanFrame:
        """One record's bytes through the generic path (never raises)."""
        try:
            return decode_frame(frame, t, orig, self.linktype or 1, self.vxlan_ports, self.node)
        except (struct.error, IndexError, ValueError, OSError) as err:  # defensive
            return not_vxlan(t, orig, f"malformed packet ({err})", self.node)

    # -- internals ---------------------------------------------------------------

    def _read_global_header(self, data: bytes) -> None:
        (magic,) = struct.unpack_from("<I", data, 0)
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            order, self.big_endian = "<", False
        elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
            order, self.big_endian = ">", True
        elif magic == 0x0A0D0D0A:
            raise CaptureError(
                "pcapng is not supported: capture with tcpdump -w, or convert with "
                "`editcap -F pcap in.pcapng out.pcap`"
            )
        elif magic in (0xA1B2CD34, 0x34CDB2A1):
            raise CaptureError("modified (Kuznetzov) pcap format is not supported")
        else:
            raise CaptureError(f"not a pcap stream (magic 0x{magic:08x})")
        self.nanosecond = magic in (0xA1B23C4D, 0x4D3CB2A1)
        major, minor, _zone, _sigfigs, snaplen, linktype = struct.unpack_from(
            order + "HHiIII", data, 4
        )
        if major != 2:
            raise CaptureError(f"unsupported pcap version {major}.{minor}")
        linktype &= 0x03FFFFFF  # upper bits may describe an FCS
        if linktype not in SUPPORTED_LINKTYPES:
            names = ", ".join(f"{name} ({num})" for num, name in SUPPORTED_LINKTYPES.items())
            raise CaptureError(f"unsupported pcap link type {linktype} (supported: {names})")
        self.snaplen = snaplen
        self.linktype = linktype
        self._rec = _REC_BE if self.big_endian else _REC_LE
        self._scale = 1e-9 if self.nanosecond else 1e-6

    def _decode_records(self, data: bytes, off: int) -> tuple[list[VxlanFrame], int]:
        out: list[VxlanFrame] = []
        append = out.append
        raws: list[RawRecord] = []
        keep_raw = self.keep_raw
        n = len(data)
        rec_unpack = self._rec.unpack_from
        fast_unpack = FAST_ETH.unpack_from
        ip_unpack = FAST_IP.unpack_from
        linktype = self.linktype
        fast = self.fast_path and linktype in (
            LINKTYPE_ETHERNET,
            LINKTYPE_LINUX_SLL,
            LINKTYPE_LINUX_SLL2,
        )
        cooked = linktype != LINKTYPE_ETHERNET
        sll2 = linktype == LINKTYPE_LINUX_SLL2
        l2_len = 20 if sll2 else 16
        l2_unpack = (SLL2_L2 if sll2 else SLL_L2).unpack_from
        fast_len = l2_len + FAST_IP.size if cooked else FAST_ETH_LEN
        scale = self._scale
        max_len = self.max_record_len
        ports = self.vxlan_ports
        node = self.node
        mac_pairs = self._mac_pairs
        ip_pairs = self._ip_pairs
        new = tuple.__new__
        cls = VxlanFrame
        sig = IPV4_SIG
        echo = ECHO_TYPES
        generic = self.decode_generic
        while off + 16 <= n:
            sec, frac, incl, orig = rec_unpack(data, off)
            if incl > max_len:
                if keep_raw:
                    self.raw_records = raws
                raise CaptureError(self.out_of_step(incl, len(out)), out)
            start = off + 16
            end = start + incl
            if end > n:
                break
            off = end
            if keep_raw:
                raws.append(RawRecord(sec, frac, orig, data[start:end]))
            # the Calico shape test, inlined for speed; printer.py repeats it (keep in step)
            if fast and incl >= fast_len:
                if cooked:
                    if sll2:
                        l2type, halen, macs = l2_unpack(data, start)
                    else:
                        halen, macs, l2type = l2_unpack(data, start)
                    (
                        verihl, tlen, ipid, frag, proto, ips, sport, dport, ulen, flags, vni,
                        imacs, s2, itlen, ifrag, iproto, iips, itype, iid, iseq,
                    ) = ip_unpack(data, start + l2_len)  # fmt: skip
                    s1 = sig if l2type == 0x0800 and verihl == 0x45 and halen == 6 else None
                else:
                    (
                        macs, s1, tlen, ipid, frag, proto, ips, sport, dport, ulen, flags, vni,
                        imacs, s2, itlen, ifrag, iproto, iips, itype, iid, iseq,
                    ) = fast_unpack(data, start)  # fmt: skip
                if (
                    s1 == sig
                    and s2 == sig
                    and proto == 17
                    and iproto == 1
                    and dport in ports
                    and tlen - ulen == 20
                    and ulen - itlen == 30
                    and itlen >= 28
                    and itype in echo
                    and not frag & 0x3FFF
                    and not ifrag & 0x1FFF
                ):
                    pair = mac_pairs.get(macs)
                    if pair is None:
                        pair = self._mac_pair(macs)
                    dst_mac, src_mac = pair
                    pair = ip_pairs.get(ips)
                    if pair is None:
                        pair = self._ip_pair(ips)
                    src, dst = pair
                    pair = mac_pairs.get(imacs)
                    if pair is None:
                        pair = self._mac_pair(imacs)
                    idst_mac, isrc_mac = pair
                    pair = ip_pairs.get(iips)
                    if pair is None:
                        pair = self._ip_pair(iips)
                    isrc, idst = pair
                    row = (
                        sec + frac * scale, src_mac, dst_mac, src, dst, sport, dport, vni >> 8,
                        flags, isrc_mac, idst_mac, isrc, idst, "ICMP", itype, iid, iseq, orig,
                        ulen - 16, True, "", node, None, None, ipid,
                    )  # fmt: skip
                    append(new(cls, row))
                    continue
            append(generic(data[start:end], sec + frac * scale, orig))
        if keep_raw:
            self.raw_records = raws
        return out, off

    def _mac_pair(self, raw: bytes) -> tuple[str, str]:
        """(dst, src) MAC strings of 12 raw bytes, or ("", src) of a cooked header's 6."""
        if len(self._mac_pairs) >= CACHE_LIMIT:
            self._mac_pairs.clear()
        pair = ("", raw.hex(":")) if len(raw) == 6 else (raw[:6].hex(":"), raw[6:].hex(":"))
        self._mac_pairs[raw] = pair
        return pair

    def _ip_pair(self, raw: bytes) -> tuple[str, str]:
        if len(self._ip_pairs) >= CACHE_LIMIT:
            self._ip_pairs.clear()
        pair = (socket.inet_ntoa(raw[:4]), socket.inet_ntoa(raw[4:]))
        self._ip_pairs[raw] = pair
        return pair


def decode_pcap_bytes(data: bytes, **kwargs: object) -> list[VxlanFrame]:
    """Decode a whole in-memory pcap (tests, small files); raises CaptureError."""
    decoder = PcapStreamDecoder(**kwargs)  # type: ignore[arg-type]
    frames = decoder.feed(data)
    decoder.finish()
    return frames
