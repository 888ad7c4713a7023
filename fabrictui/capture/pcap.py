"""Incremental pcap stream decoder: bytes in arbitrary chunks -> `VxlanFrame`s.

Feed it what `tcpdump -U -w -` writes (or a pcap file read in pieces); every
complete record becomes one `VxlanFrame`, in order. Bytes of an incomplete
record wait for the next chunk.

Speed: the common shape of a Calico capture (Ethernet, or LINUX_SLL/SLL2 from
`-i any` / IPv4 without options / UDP to a VXLAN port / VXLAN / Ethernet / IPv4
/ ICMP echo) is decoded by one precompiled fixed-offset `struct.Struct` (plus
one for the cooked link header) and MAC/IP strings come from caches
keyed by the raw bytes; everything else takes the generic path, which checks
every length and never raises for an odd packet. Feed chunks of about 64 KiB
(what a pipe delivers): with 1 MiB chunks the frames of one chunk no longer
stay in the CPU cache and decoding is ~30% slower.

Errors: only the stream structure raises `CaptureError` (bad magic, unknown
link type, a record length no capture produces, a stream cut mid-record at
`finish()`). A packet that is not VXLAN, or is truncated or malformed, decodes
to a frame with `is_vxlan=False` and a `note` saying what it is.

Raw records: with `keep_raw=True`, after each `feed()` the attribute
`raw_records` holds one `RawRecord` per returned frame (same order, same
length), which `fabrictui.capture.pcap_writer` writes back out as a pcap.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from typing import NamedTuple

from fabrictui.capture import CaptureError
from fabrictui.model import VxlanFrame

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
SUPPORTED_LINKTYPES = {
    LINKTYPE_ETHERNET: "Ethernet",
    LINKTYPE_RAW: "raw IP",
    LINKTYPE_LINUX_SLL: "LINUX_SLL",
    LINKTYPE_IPV4: "IPv4",
    LINKTYPE_IPV6: "IPv6",
    LINKTYPE_LINUX_SLL2: "LINUX_SLL2",
}

#: No capture tool writes records this big (libpcap's largest snaplen is 256 KiB);
#: a bigger length means the stream is not pcap or is out of step.
MAX_RECORD_LEN = 262144 * 4
#: Size bound of each string cache; cleared when full (captures see few hosts).
CACHE_LIMIT = 65536

DEFAULT_VXLAN_PORTS = frozenset({4789})

_ETHERTYPE_NAMES = {
    0x0806: "ARP",
    0x8035: "RARP",
    0x88CC: "LLDP",
    0x8809: "slow protocols (LACP)",
    0x88E5: "MACsec",
    0x8847: "MPLS",
    0x8863: "PPPoE discovery",
    0x8864: "PPPoE session",
}
_VLAN_TYPES = frozenset({0x8100, 0x88A8, 0x9100})
_PROTO_NAMES = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMP6", 2: "IGMP", 47: "GRE", 50: "ESP"}
# ICMP types whose header carries identifier and sequence number (echo, timestamp,
# information, address mask), as tcpdump prints them.
_ICMP_ID_SEQ = frozenset({0, 8, 13, 14, 15, 16, 17, 18})
_ICMP6_ID_SEQ = frozenset({128, 129})
_ECHO_TYPES = frozenset({0, 8})

_IPV4_SIG = b"\x08\x00\x45"  # ethertype IPv4 + version 4, IHL 5

# Record header (per-file byte order) and the fast path (network byte order).
_REC_LE = struct.Struct("<IIII")
_REC_BE = struct.Struct(">IIII")
# Fast path over the first 92 bytes of an Ethernet frame:
#   0 dst+src MAC | 12 ethertype + version/IHL | 16 total length | 20 flags/fragment
#  23 protocol | 26 src+dst IP | 34 UDP sport, dport, length | 42 VXLAN flags
#  46 VNI (+ reserved byte) | 50 inner dst+src MAC | 62 inner ethertype + version/IHL
#  66 inner total length | 70 inner flags/fragment | 73 inner protocol
#  76 inner src+dst IP | 84 ICMP type | 88 ICMP id, seq
_FAST = struct.Struct("!12s3sxH2xHxB2x8sHHH2xB3xI12s3sxH2xHxB2x8sB3xHH")
_FAST_LEN = _FAST.size  # 92
# The same from the IPv4 header on (version/IHL first), after a LINUX_SLL/SLL2 header
# (`tcpdump -i any`): the link header gives the protocol and the sender's address.
_FAST_IP = struct.Struct("!BxH2xHxB2x8sHHH2xB3xI12s3sxH2xHxB2x8sB3xHH")
_SLL_L2 = struct.Struct("!4xH6s2xH")  # halen, address, protocol (16 bytes)
_SLL2_L2 = struct.Struct("!H9xB6s2x")  # protocol, halen, address (20 bytes)

_ETH = struct.Struct("!6s6sH")
_H = struct.Struct("!H")
_HH = struct.Struct("!HH")
_UDP = struct.Struct("!HHH")
_VXLAN = struct.Struct("!B3xI")
_IPV4 = struct.Struct("!BxHxxHxBxx4s4s")
_IPV6 = struct.Struct("!I HBx16s16s")
_ICMP = struct.Struct("!BxxxHH")
_SLL = struct.Struct("!HHH8sH")
_SLL2 = struct.Struct("!HxxxxxxHBB8s")


class RawRecord(NamedTuple):
    """One pcap record as captured: what `pcap_writer` needs to write it back.

    `ts_frac` is micro- or nanoseconds as in the source stream (see the
    decoder's `nanosecond`)."""

    ts_sec: int
    ts_frac: int
    orig_len: int
    data: bytes


def format_mac(raw: bytes) -> str:
    return raw.hex(":")


def format_ip(raw: bytes) -> str:
    if len(raw) == 4:
        return socket.inet_ntoa(raw)
    return socket.inet_ntop(socket.AF_INET6, raw)


def proto_name(proto: int) -> str:
    return _PROTO_NAMES.get(proto, str(proto))


def _not_vxlan(
    t: float,
    orig: int,
    note: str,
    node: str,
    src_mac: str = "",
    dst_mac: str = "",
    src: str = "",
    dst: str = "",
    sport: int = 0,
    dport: int = 0,
) -> VxlanFrame:
    return VxlanFrame(
        t, src_mac, dst_mac, src, dst, sport, dport, None, None, "", "", "", "", "", None,
        None, None, orig, 0, False, note, node,
    )  # fmt: skip


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
        frames, off = self._decode_records(data, off)
        if off < len(data):
            rest = data[off:]
            need = 16 + self._rec.unpack_from(rest, 0)[2] if len(rest) >= 16 else 16
            self._keep(rest, need)
        else:
            self._keep(b"", 0)
        self.frames_decoded += len(frames)
        return frames

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
        fast_unpack = _FAST.unpack_from
        ip_unpack = _FAST_IP.unpack_from
        linktype = self.linktype
        fast = self.fast_path and linktype in (
            LINKTYPE_ETHERNET,
            LINKTYPE_LINUX_SLL,
            LINKTYPE_LINUX_SLL2,
        )
        cooked = linktype != LINKTYPE_ETHERNET
        sll2 = linktype == LINKTYPE_LINUX_SLL2
        l2_len = 20 if sll2 else 16
        l2_unpack = (_SLL2_L2 if sll2 else _SLL_L2).unpack_from
        fast_len = l2_len + _FAST_IP.size if cooked else _FAST_LEN
        scale = self._scale
        max_len = self.max_record_len
        ports = self.vxlan_ports
        node = self.node
        mac_pairs = self._mac_pairs
        ip_pairs = self._ip_pairs
        new = tuple.__new__
        cls = VxlanFrame
        sig = _IPV4_SIG
        echo = _ECHO_TYPES
        generic = self._decode_generic
        while off + 16 <= n:
            sec, frac, incl, orig = rec_unpack(data, off)
            if incl > max_len:
                self.frames_decoded += len(out)
                self._broken = (
                    f"record {self.frames_decoded + 1} claims {incl} bytes "
                    f"(more than {max_len}): not a pcap stream or out of step"
                )
                if keep_raw:
                    self.raw_records = raws
                raise CaptureError(self._broken, out)
            start = off + 16
            end = start + incl
            if end > n:
                break
            off = end
            if keep_raw:
                raws.append(RawRecord(sec, frac, orig, data[start:end]))
            if fast and incl >= fast_len:
                if cooked:
                    if sll2:
                        l2type, halen, macs = l2_unpack(data, start)
                    else:
                        halen, macs, l2type = l2_unpack(data, start)
                    (
                        verihl, tlen, frag, proto, ips, sport, dport, ulen, flags, vni,
                        imacs, s2, itlen, ifrag, iproto, iips, itype, iid, iseq,
                    ) = ip_unpack(data, start + l2_len)  # fmt: skip
                    s1 = sig if l2type == 0x0800 and verihl == 0x45 and halen == 6 else None
                else:
                    (
                        macs, s1, tlen, frag, proto, ips, sport, dport, ulen, flags, vni,
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
                        ulen - 16, True, "", node, None, None,
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

    def _decode_generic(self, frame: bytes, t: float, orig: int) -> VxlanFrame:
        try:
            return decode_frame(frame, t, orig, self.linktype or 1, self.vxlan_ports, self.node)
        except (struct.error, IndexError, ValueError, OSError) as err:  # defensive
            return _not_vxlan(t, orig, f"malformed packet ({err})", self.node)


# -- generic path ------------------------------------------------------------------


def decode_frame(
    frame: bytes,
    t: float,
    orig_len: int,
    linktype: int = LINKTYPE_ETHERNET,
    vxlan_ports: frozenset[int] = DEFAULT_VXLAN_PORTS,
    node: str = "",
) -> VxlanFrame:
    """Decode one captured frame by checking every header; never raises for odd
    packets (returns `is_vxlan=False` with a note instead)."""
    n = len(frame)
    src_mac = dst_mac = ""
    if linktype == LINKTYPE_ETHERNET:
        if n < 14:
            return _not_vxlan(t, orig_len, "truncated Ethernet header", node)
        dst_raw, src_raw, ethertype = _ETH.unpack_from(frame, 0)
        src_mac, dst_mac = src_raw.hex(":"), dst_raw.hex(":")
        off = 14
        while ethertype in _VLAN_TYPES:
            if n < off + 4:
                return _not_vxlan(t, orig_len, "truncated 802.1Q tag", node, src_mac, dst_mac)
            (ethertype,) = _H.unpack_from(frame, off + 2)
            off += 4
        if ethertype <= 1500:
            return _not_vxlan(t, orig_len, "802.3 LLC frame", node, src_mac, dst_mac)
    elif linktype == LINKTYPE_LINUX_SLL:
        if n < 16:
            return _not_vxlan(t, orig_len, "truncated LINUX_SLL header", node)
        _pkttype, _hatype, halen, addr, ethertype = _SLL.unpack_from(frame, 0)
        if halen == 6:
            src_mac = addr[:6].hex(":")
        off = 16
    elif linktype == LINKTYPE_LINUX_SLL2:
        if n < 20:
            return _not_vxlan(t, orig_len, "truncated LINUX_SLL2 header", node)
        ethertype, _hatype, _pkttype, halen, addr = _SLL2.unpack_from(frame, 0)
        if halen == 6:
            src_mac = addr[:6].hex(":")
        off = 20
    else:  # raw IP link types: the version nibble decides
        if n < 1:
            return _not_vxlan(t, orig_len, "empty packet", node)
        version = frame[0] >> 4
        if linktype == LINKTYPE_IPV4 or (linktype == LINKTYPE_RAW and version == 4):
            ethertype = 0x0800
        elif linktype == LINKTYPE_IPV6 or (linktype == LINKTYPE_RAW and version == 6):
            ethertype = 0x86DD
        else:
            return _not_vxlan(t, orig_len, f"raw packet with IP version {version}", node)
        off = 0
    if ethertype == 0x0800:
        ip = _parse_ipv4(frame, off, n)
    elif ethertype == 0x86DD:
        ip = _parse_ipv6(frame, off, n)
    else:
        name = _ETHERTYPE_NAMES.get(ethertype, f"ethertype 0x{ethertype:04x}")
        return _not_vxlan(t, orig_len, name, node, src_mac, dst_mac)
    if isinstance(ip, str):
        return _not_vxlan(t, orig_len, ip, node, src_mac, dst_mac)
    family, src, dst, proto, poff, plen = ip
    if proto != 17:
        if proto == 6 and poff + 4 <= n:
            sport, dport = _HH.unpack_from(frame, poff)
            note = f"{family} TCP {src}.{sport} > {dst}.{dport}"
        elif proto in (1, 58) and poff + 1 <= n:
            note = f"{family} {proto_name(proto)} {src} > {dst} type {frame[poff]}"
        else:
            note = f"{family} {proto_name(proto)} {src} > {dst}"
        return _not_vxlan(t, orig_len, note, node, src_mac, dst_mac, src, dst)
    if poff + 8 > n or plen < 8:
        note = f"{family} UDP {src} > {dst}, truncated UDP header"
        return _not_vxlan(t, orig_len, note, node, src_mac, dst_mac, src, dst)
    sport, dport, ulen = _UDP.unpack_from(frame, poff)
    if sport not in vxlan_ports and dport not in vxlan_ports:
        note = f"{family} UDP {src}.{sport} > {dst}.{dport}: UDP port {dport}, not VXLAN"
        return _not_vxlan(t, orig_len, note, node, src_mac, dst_mac, src, dst, sport, dport)
    if ulen < 8:
        note = f"{family} UDP {src}.{sport} > {dst}.{dport}: bad UDP length {ulen}"
        return _not_vxlan(t, orig_len, note, node, src_mac, dst_mac, src, dst, sport, dport)
    payload_len = min(ulen, plen) - 8
    voff = poff + 8
    if payload_len < 8 or voff + 8 > n:
        note = f"{family} UDP {src}.{sport} > {dst}.{dport}: truncated VXLAN header"
        return _not_vxlan(t, orig_len, note, node, src_mac, dst_mac, src, dst, sport, dport)
    flags, vni_word = _VXLAN.unpack_from(frame, voff)
    return _decode_inner(
        frame, voff + 8, n, payload_len - 8, t, orig_len, node,
        src_mac, dst_mac, src, dst, sport, dport, vni_word >> 8, flags,
    )  # fmt: skip


def _parse_ipv4(frame: bytes, off: int, n: int) -> tuple[str, str, str, int, int, int] | str:
    """(family, src, dst, proto, payload offset, payload length) or a note."""
    if off + 20 > n:
        return "truncated IPv4 header"
    verihl, total, frag, proto, src_raw, dst_raw = _IPV4.unpack_from(frame, off)
    src, dst = socket.inet_ntoa(src_raw), socket.inet_ntoa(dst_raw)
    ihl = (verihl & 0x0F) * 4
    if verihl >> 4 != 4 or ihl < 20:
        return f"IPv4 {src} > {dst}: bad header (version/IHL 0x{verihl:02x})"
    if total < ihl:
        return f"IPv4 {src} > {dst}: bad total length {total}"
    if frag & 0x1FFF:
        return f"IPv4 fragment {src} > {dst} proto {proto_name(proto)} offset {(frag & 0x1FFF) * 8}"
    return "IPv4", src, dst, proto, off + ihl, total - ihl


def _parse_ipv6(frame: bytes, off: int, n: int) -> tuple[str, str, str, int, int, int] | str:
    if off + 40 > n:
        return "truncated IPv6 header"
    vtf, plen, nxt, src_raw, dst_raw = _IPV6.unpack_from(frame, off)
    if vtf >> 28 != 6:
        return f"IPv6 bad version {vtf >> 28}"
    return (
        "IPv6",
        socket.inet_ntop(socket.AF_INET6, src_raw),
        socket.inet_ntop(socket.AF_INET6, dst_raw),
        nxt,
        off + 40,
        plen,
    )


def _decode_inner(
    frame: bytes,
    off: int,
    n: int,
    length: int,
    t: float,
    orig: int,
    node: str,
    src_mac: str,
    dst_mac: str,
    src: str,
    dst: str,
    sport: int,
    dport: int,
    vni: int,
    flags: int,
) -> VxlanFrame:
    """The part after the VXLAN header: inner Ethernet, IP, ICMP/TCP/UDP.

    `length` is the inner frame's length from the headers (what tcpdump prints),
    which may exceed what was captured."""
    inner_src_mac = inner_dst_mac = inner_src = inner_dst = proto = ""
    icmp_type = icmp_id = icmp_seq = inner_sport = inner_dport = None
    note = ""
    if off + 14 > n or length < 14:
        note = "truncated inner Ethernet header"
    else:
        idst_raw, isrc_raw, ethertype = _ETH.unpack_from(frame, off)
        inner_src_mac, inner_dst_mac = isrc_raw.hex(":"), idst_raw.hex(":")
        ioff = off + 14
        while ethertype in _VLAN_TYPES and ioff + 4 <= n:
            (ethertype,) = _H.unpack_from(frame, ioff + 2)
            ioff += 4
        if ethertype == 0x0800:
            ip = _parse_ipv4(frame, ioff, n)
        elif ethertype == 0x86DD:
            ip = _parse_ipv6(frame, ioff, n)
        else:
            ip = _ETHERTYPE_NAMES.get(ethertype, f"ethertype 0x{ethertype:04x}")
            proto = ip
        if isinstance(ip, str):
            note = "inner " + ip
        else:
            _family, inner_src, inner_dst, pnum, poff, _plen = ip
            proto = proto_name(pnum)
            if pnum in (1, 58):
                if poff + 8 <= n:
                    icmp_type, icmp_id, icmp_seq = _ICMP.unpack_from(frame, poff)
                    if icmp_type not in (_ICMP_ID_SEQ if pnum == 1 else _ICMP6_ID_SEQ):
                        icmp_id = icmp_seq = None
                elif poff + 1 <= n:
                    icmp_type = frame[poff]
                    note = f"truncated inner {proto} header"
                else:
                    note = f"truncated inner {proto} header"
            elif pnum in (6, 17):
                if poff + 4 <= n:
                    inner_sport, inner_dport = _HH.unpack_from(frame, poff)
                else:
                    note = f"truncated inner {proto} header"
    return VxlanFrame(
        t, src_mac, dst_mac, src, dst, sport, dport, vni, flags, inner_src_mac, inner_dst_mac,
        inner_src, inner_dst, proto, icmp_type, icmp_id, icmp_seq, orig, length, True, note,
        node, inner_sport, inner_dport,
    )  # fmt: skip


def decode_pcap_bytes(data: bytes, **kwargs: object) -> list[VxlanFrame]:
    """Decode a whole in-memory pcap (tests, small files); raises CaptureError."""
    decoder = PcapStreamDecoder(**kwargs)  # type: ignore[arg-type]
    frames = decoder.feed(data)
    decoder.finish()
    return frames
