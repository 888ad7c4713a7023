"""What `fabrictui capture` prints, a chunk of pcap records at a time, at wire speed.

`RecordPrinter` turns records into output lines (UTF-8 bytes, one per record):
the text of `format.frame_to_line` or the JSON object of `format.frame_to_json`,
byte for byte (`frame_line` is that reference, and the tests compare the two on
every frame shape). The decoder feeds it through
`PcapStreamDecoder.feed_printed(chunk, printer)`.

Why it is fast: most frames of a capture belong to a few flows, and within a flow
only a few numbers change from frame to frame (time, IP id, ICMP id and sequence, UDP
source port, lengths). For the common Calico shape (the decoder's fast path:
Ethernet or LINUX_SLL/SLL2, IPv4, UDP to a VXLAN port, VXLAN, Ethernet, IPv4,
ICMP echo) the printer reads the headers with the same fixed layouts as the
decoder, looks up the flow's template by the raw header bytes that decide
everything else (addresses, VNI, flags, ICMP type, ...) and formats only the
changing numbers into it: no `VxlanFrame`, no per-frame strings for addresses,
one `%` per line. A flow's template is made once, from the frame the generic
decoder (`PcapStreamDecoder.decode_generic`) makes of its first record, with the
same formatting functions as every other line. Every other record goes through
the generic decoder and `frame_line`.

Times: a text line's `HH:MM:SS.ffffff` comes from the record's seconds and
microseconds; the JSON `time` is `repr(seconds + fraction * scale)`, the float
the decoder makes. For a microsecond pcap from 1970-01-01T18:12:16 on (2**16
seconds) whose fraction does not end in 0, that repr is exactly `SEC.FFFFFF`
(that float is the double nearest the decimal, and no shorter decimal rounds to
it), which is formatted from the integers; other times (and nanosecond pcaps,
which take the generic path throughout) are formatted from the float itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from fabrictui.capture import CaptureError
from fabrictui.capture.format import format_time, frame_to_json, frame_to_line, line_template
from fabrictui.capture.packet import (
    ECHO_TYPES,
    FAST_ETH,
    FAST_ETH_LEN,
    FAST_IP,
    IPV4_SIG,
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    SLL2_L2,
    SLL_L2,
)
from fabrictui.model import VxlanFrame

if TYPE_CHECKING:
    from fabrictui.capture.pcap import PcapStreamDecoder

#: One frame's JSON object: the stdlib encoder, non-ASCII kept as is, default separators.
json_line = json.JSONEncoder(ensure_ascii=False).encode

#: Flows per template cache; cleared when full (a capture sees few flows).
TEMPLATE_LIMIT = 65536
#: From this many seconds on, `%d.%06d` of a microsecond time is its float's repr
#: (when the fraction does not end in 0): see the module docstring.
_EXACT_SECONDS = 1 << 16

# Stand-ins for the JSON fields that change within a flow while a template is made.
_JSON_VARYING = {
    "time": "\0time\0",
    "udp_src": "\0udp_src\0",
    "icmp_id": "\0icmp_id\0",
    "icmp_seq": "\0icmp_seq\0",
    "length": "\0length\0",
    "inner_length": "\0inner_length\0",
    "ip_id": "\0ip_id\0",
}


class RecordPrinter:
    """Output lines for pcap records: text (`names` maps IP -> node or pod name,
    `local_time` prints local time) or, with `as_json`, one JSON object per line.

    One printer per decoder: a flow's template holds what the decoder puts in every
    frame (its `node`)."""

    def __init__(
        self,
        *,
        as_json: bool = False,
        names: Mapping[str, str] | None = None,
        local_time: bool = False,
    ) -> None:
        self.as_json = as_json
        self.names = dict(names) if names else None
        self.local_time = local_time
        self._text: dict[tuple[object, ...], bytes] = {}
        self._json: dict[tuple[object, ...], tuple[bytes, bytes]] = {}
        self._stamp_sec = -1
        self._stamp = b""

    # -- the reference ----------------------------------------------------------------

    def frame_line(self, frame: VxlanFrame) -> bytes:
        """One frame's output line, built field by field: what every fast line equals."""
        if self.as_json:
            text = json_line(frame_to_json(frame))
        else:
            text = frame_to_line(frame, self.names, local_time=self.local_time)
        return (text + "\n").encode()

    def frame_lines(self, frames: Iterable[VxlanFrame]) -> list[bytes]:
        return [self.frame_line(frame) for frame in frames]

    # -- templates --------------------------------------------------------------------

    def _text_template(self, key: tuple[object, ...], frame: VxlanFrame) -> bytes:
        """The flow's line with `%s%06d` for the time stamp and `%d` for ICMP id and seq."""
        if len(self._text) >= TEMPLATE_LIMIT:
            self._text.clear()
        template = ("%s%06d " + line_template(frame, self.names) + "\n").encode()
        self._text[key] = template
        return template

    def _json_templates(self, key: tuple[object, ...], frame: VxlanFrame) -> tuple[bytes, bytes]:
        """The flow's JSON line with `%d` for the numbers that change, twice: with the
        time as `%d.%06d` (seconds, microseconds) and as `%a` (the float's repr)."""
        if len(self._json) >= TEMPLATE_LIMIT:
            self._json.clear()
        text = json_line(frame_to_json(frame) | _JSON_VARYING).replace("%", "%%") + "\n"
        for field, mark in _JSON_VARYING.items():
            if field != "time":
                text = text.replace(json_line(mark), "%d")
        head, time_mark, tail = text.partition(json_line(_JSON_VARYING["time"]))
        assert time_mark, text
        pair = ((head + "%d.%06d" + tail).encode(), (head + "%a" + tail).encode())
        self._json[key] = pair
        return pair

    def _stamp_prefix(self, sec: int) -> bytes:
        """`HH:MM:SS.` of a whole second, as `format_time` prints it."""
        return format_time(float(sec), self.local_time)[:9].encode()

    # -- the records --------------------------------------------------------------------

    def print_records(
        self, decoder: PcapStreamDecoder, data: bytes, off: int
    ) -> tuple[list[bytes], int]:
        """Lines for the complete records in `data` from `off`, and where the first
        incomplete one starts. Called by `PcapStreamDecoder.feed_printed`, which owns the
        stream (header, pieces of records, errors at the end)."""
        out: list[bytes] = []
        append = out.append
        n = len(data)
        rec_unpack = decoder.record_header.unpack_from
        linktype = decoder.linktype
        # the same choice and layouts as the decoder's fast path (PcapStreamDecoder)
        fast = (
            decoder.fast_path
            and not decoder.nanosecond
            and linktype in (LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2)
        )
        cooked = linktype != LINKTYPE_ETHERNET
        sll2 = linktype == LINKTYPE_LINUX_SLL2
        l2_len = 20 if sll2 else 16
        l2_unpack = (SLL2_L2 if sll2 else SLL_L2).unpack_from
        fast_len = l2_len + FAST_IP.size if cooked else FAST_ETH_LEN
        fast_unpack = FAST_ETH.unpack_from
        ip_unpack = FAST_IP.unpack_from
        scale = decoder.time_scale
        max_len = decoder.max_record_len
        ports = decoder.vxlan_ports
        sig = IPV4_SIG
        echo = ECHO_TYPES
        generic = decoder.decode_generic
        frame_line = self.frame_line
        text_templates, make_text = self._text, self._text_template
        json_templates, make_json = self._json, self._json_templates
        as_json = self.as_json
        exact_from = _EXACT_SECONDS
        stamp_sec, stamp = self._stamp_sec, self._stamp
        try:
            while off + 16 <= n:
                sec, frac, incl, orig = rec_unpack(data, off)
                if incl > max_len:
                    raise CaptureError(decoder.out_of_step(incl, len(out)), lines=out)
                start = off + 16
                end = start + incl
                if end > n:
                    break
                off = end
                # (a fraction of a second past 999,999 µs is no time stamp a capture
                # writes: such a record is printed the generic way, as the decoder reads it)
                # the same shape test as the decoder's fast path (pcap.py), inlined on
                # purpose: a function call per frame is what this loop exists to avoid;
                # tests/unit/test_capture_printer.py holds both to the same lines
                if fast and incl >= fast_len and frac < 1_000_000:
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
                        if as_json:
                            key = (macs, ips, dport, vni, flags, imacs, iips, itype)
                            pair = json_templates.get(key)
                            if pair is None:
                                t = sec + frac * scale
                                pair = make_json(key, generic(data[start:end], t, orig))
                            if frac % 10 and sec >= exact_from:
                                append(
                                    pair[0] % (sec, frac, sport, iid, iseq, orig, ulen - 16, ipid)
                                )
                            else:
                                t = sec + frac * scale
                                append(pair[1] % (t, sport, iid, iseq, orig, ulen - 16, ipid))
                        else:
                            key = (ips, iips, vni, flags, itype)
                            line = text_templates.get(key)
                            if line is None:
                                t = sec + frac * scale
                                line = make_text(key, generic(data[start:end], t, orig))
                            if sec != stamp_sec:
                                stamp_sec, stamp = sec, self._stamp_prefix(sec)
                            append(line % (stamp, frac, iid, iseq))
                        continue
                append(frame_line(generic(data[start:end], sec + frac * scale, orig)))
        finally:
            self._stamp_sec, self._stamp = stamp_sec, stamp
        return out, off
