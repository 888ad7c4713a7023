"""One captured packet's headers: link layer, IPv4/IPv6, UDP, VXLAN and the inner frame.

`decode_frame` is the generic path: it checks every length and never raises
for an odd packet (it returns a frame with `is_vxlan=False` and a note). Pod
traffic in Calico's BGP mode is plain IP: such a packet decodes to a native frame
(`model.is_native`), its inner fields read from the packet itself.
The fixed-offset layouts (`FAST_ETH`, `FAST_IP`, ...) describe the common
shape of a Calico capture in one `struct` each; the stream decoder
(`fabrictui.capture.pcap`) and the line printer (`fabrictui.capture.printer`)
read records with them and hand anything else to `decode_frame`.
"""

from __future__ import annotations

import socket
import struct

from fabrictui.constants import VXLAN_PORT
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

DEFAULT_VXLAN_PORTS = frozenset({VXLAN_PORT})  # when the lab's is not known

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
#: The inner ICMP types the fast path accepts (echo reply and request).
ECHO_TYPES = frozenset({0, 8})

IPV4_SIG = b"\x08\x00\x45"  # ethertype IPv4 + version 4, IHL 5

# Fast path over the first 92 bytes of an Ethernet frame:
#   0 dst+src MAC | 12 ethertype + version/IHL | 16 total length | 18 IP id | 20 flags/fragment
#  23 protocol | 26 src+dst IP | 34 UDP sport, dport, length | 42 VXLAN flags
#  46 VNI (+ reserved byte) | 50 inner dst+src MAC | 62 inner ethertype + version/IHL
#  66 inner total length | 70 inner flags/fragment | 73 inner protocol
#  76 inner src+dst IP | 84 ICMP type | 88 ICMP id, seq
FAST_ETH = struct.Struct("!12s3sxHHHxB2x8sHHH2xB3xI12s3sxH2xHxB2x8sB3xHH")
FAST_ETH_LEN = FAST_ETH.size  # 92
# The same from the IPv4 header on (version/IHL first), after a LINUX_SLL/SLL2 header
# (`tcpdump -i any`): the link header gives the protocol and the sender's address.
FAST_IP = struct.Struct("!BxHHHxB2x8sHHH2xB3xI12s3sxH2xHxB2x8sB3xHH")
SLL_L2 = struct.Struct("!4xH6s2xH")  # halen, address, protocol (16 bytes)
SLL2_L2 = struct.Struct("!H9xB6s2x")  # protocol, halen, address (20 bytes)

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


def format_mac(raw: bytes) -> str:
    return raw.hex(":")


def format_ip(raw: bytes) -> str:
    if len(raw) == 4:
        return socket.inet_ntoa(raw)
    return socket.inet_ntop(socket.AF_INET6, raw)


def proto_name(proto: int) -> str:
    return _PROTO_NAMES.get(proto, str(proto))


def not_vxlan(
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
    ip_id: int | None = None,
) -> VxlanFrame:
    return VxlanFrame(
        t, src_mac, dst_mac, src, dst, sport, dport, None, None, "", "", "", "", "", None,
        None, None, orig, 0, False, note, node, None, None, ip_id,
    )  # fmt: skip


def _native(
    t: float,
    orig: int,
    note: str,
    node: str,
    src_mac: str,
    dst_mac: str,
    src: str,
    dst: str,
    sport: int,
    dport: int,
    ip_id: int | None,
    ip_len: int,
    proto: str,
    icmp_type: int | None,
    icmp_id: int | None,
    icmp_seq: int | None,
    inner_sport: int | None,
    inner_dport: int | None,
) -> VxlanFrame:
    """A plain IP packet (pod traffic in Calico's BGP mode): not VXLAN, and the packet is
    its own inner packet, so the inner fields hold what a VXLAN frame's inner IP would
    (`model.is_native`). `note` keeps the description a not-VXLAN frame has."""
    return VxlanFrame(
        t, src_mac, dst_mac, src, dst, sport, dport, None, None, "", "", src, dst, proto,
        icmp_type, icmp_id, icmp_seq, orig, ip_len, False, note, node, inner_sport,
        inner_dport, ip_id,
    )  # fmt: skip


def decode_frame(
    frame: bytes,
    t: float,
    orig_len: int,
    linktype: int = LINKTYPE_ETHERNET,
    vxlan_ports: frozenset[int] = DEFAULT_VXLAN_PORTS,
    node: str = "",
) -> VxlanFrame:
    """Decode one captured frame by checking every header; never raises for odd
    packets (returns `is_vxlan=False` with a note instead). A whole plain IP packet
    carrying ICMP/ICMP6/TCP/UDP (UDP not to a VXLAN port) is a native frame: its inner
    fields are filled from the packet itself (`_native`)."""
    n = len(frame)
    src_mac = dst_mac = ""
    if linktype == LINKTYPE_ETHERNET:
        if n < 14:
            return not_vxlan(t, orig_len, "truncated Ethernet header", node)
        dst_raw, src_raw, ethertype = _ETH.unpack_from(frame, 0)
        src_mac, dst_mac = src_raw.hex(":"), dst_raw.hex(":")
        off = 14
        while ethertype in _VLAN_TYPES:
            if n < off + 4:
                return not_vxlan(t, orig_len, "truncated 802.1Q tag", node, src_mac, dst_mac)
            (ethertype,) = _H.unpack_from(frame, off + 2)
            off += 4
        if ethertype <= 1500:
            return not_vxlan(t, orig_len, "802.3 LLC frame", node, src_mac, dst_mac)
    elif linktype == LINKTYPE_LINUX_SLL:
        if n < 16:
            return not_vxlan(t, orig_len, "truncated LINUX_SLL header", node)
        _pkttype, _hatype, halen, addr, ethertype = _SLL.unpack_from(frame, 0)
        if halen == 6:
            src_mac = addr[:6].hex(":")
        off = 16
    elif linktype == LINKTYPE_LINUX_SLL2:
        if n < 20:
            return not_vxlan(t, orig_len, "truncated LINUX_SLL2 header", node)
        ethertype, _hatype, _pkttype, halen, addr = _SLL2.unpack_from(frame, 0)
        if halen == 6:
            src_mac = addr[:6].hex(":")
        off = 20
    else:  # raw IP link types: the version nibble decides
        if n < 1:
            return not_vxlan(t, orig_len, "empty packet", node)
        version = frame[0] >> 4
        if linktype == LINKTYPE_IPV4 or (linktype == LINKTYPE_RAW and version == 4):
            ethertype = 0x0800
        elif linktype == LINKTYPE_IPV6 or (linktype == LINKTYPE_RAW and version == 6):
            ethertype = 0x86DD
        else:
            return not_vxlan(t, orig_len, f"raw packet with IP version {version}", node)
        off = 0
    if ethertype == 0x0800:
        ip = _parse_ipv4(frame, off, n)
    elif ethertype == 0x86DD:
        ip = _parse_ipv6(frame, off, n)
    else:
        name = _ETHERTYPE_NAMES.get(ethertype, f"ethertype 0x{ethertype:04x}")
        return not_vxlan(t, orig_len, name, node, src_mac, dst_mac)
    if isinstance(ip, str):
        return not_vxlan(t, orig_len, ip, node, src_mac, dst_mac)
    family, src, dst, proto, poff, plen = ip
    ip_id = _H.unpack_from(frame, off + 4)[0] if family == "IPv4" else None
    ip_len = poff - off + plen  # the IP packet's length from its header
    if proto != 17:
        if proto == 6 and poff + 4 <= n:
            sport, dport = _HH.unpack_from(frame, poff)
            note = f"{family} TCP {src}.{sport} > {dst}.{dport}"
            if plen >= 4:
                return _native(
                    t, orig_len, note, node, src_mac, dst_mac, src, dst, 0, 0, ip_id, ip_len,
                    "TCP", None, None, None, sport, dport,
                )  # fmt: skip
        elif proto in (1, 58) and poff + 1 <= n:
            note = f"{family} {proto_name(proto)} {src} > {dst} type {frame[poff]}"
            if poff + 8 <= n and plen >= 8:
                icmp_type, icmp_id, icmp_seq = _icmp_header(frame, poff, proto)
                return _native(
                    t, orig_len, note, node, src_mac, dst_mac, src, dst, 0, 0, ip_id, ip_len,
                    proto_name(proto), icmp_type, icmp_id, icmp_seq, None, None,
                )  # fmt: skip
        else:
            note = f"{family} {proto_name(proto)} {src} > {dst}"
        return not_vxlan(t, orig_len, note, node, src_mac, dst_mac, src, dst, ip_id=ip_id)
    if poff + 8 > n or plen < 8:
        note = f"{family} UDP {src} > {dst}, truncated UDP header"
        return not_vxlan(t, orig_len, note, node, src_mac, dst_mac, src, dst, ip_id=ip_id)
    sport, dport, ulen = _UDP.unpack_from(frame, poff)
    if sport not in vxlan_ports and dport not in vxlan_ports:
        note = f"{family} UDP {src}.{sport} > {dst}.{dport}: UDP port {dport}, not VXLAN"
        if ulen < 8:  # malformed: described as before, not shown as pod traffic
            return not_vxlan(
                t, orig_len, note, node, src_mac, dst_mac, src, dst, sport, dport, ip_id
            )
        return _native(
            t, orig_len, note, node, src_mac, dst_mac, src, dst, sport, dport, ip_id, ip_len,
            "UDP", None, None, None, sport, dport,
        )  # fmt: skip
    if ulen < 8:
        note = f"{family} UDP {src}.{sport} > {dst}.{dport}: bad UDP length {ulen}"
        return not_vxlan(t, orig_len, note, node, src_mac, dst_mac, src, dst, sport, dport, ip_id)
    payload_len = min(ulen, plen) - 8
    voff = poff + 8
    if payload_len < 8 or voff + 8 > n:
        note = f"{family} UDP {src}.{sport} > {dst}.{dport}: truncated VXLAN header"
        return not_vxlan(t, orig_len, note, node, src_mac, dst_mac, src, dst, sport, dport, ip_id)
    flags, vni_word = _VXLAN.unpack_from(frame, voff)
    return _decode_inner(
        frame, voff + 8, n, payload_len - 8, t, orig_len, node,
        src_mac, dst_mac, src, dst, sport, dport, vni_word >> 8, flags, ip_id,
    )  # fmt: skip


def _icmp_header(frame: bytes, off: int, proto: int) -> tuple[int, int | None, int | None]:
    """(type, id, seq) of the ICMP (proto 1) or ICMPv6 header at `off`, 8 bytes of it
    there; id and seq only for the types whose header carries them."""
    icmp_type, icmp_id, icmp_seq = _ICMP.unpack_from(frame, off)
    if icmp_type not in (_ICMP_ID_SEQ if proto == 1 else _ICMP6_ID_SEQ):
        return icmp_type, None, None
    return icmp_type, icmp_id, icmp_seq


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
    ip_id: int | None,
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
                    icmp_type, icmp_id, icmp_seq = _icmp_header(frame, poff, pnum)
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
        node, inner_sport, inner_dport, ip_id,
    )  # fmt: skip
