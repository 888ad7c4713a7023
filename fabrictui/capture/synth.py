"""Build pcap streams and Calico-style VXLAN frames byte by byte.

Used by the demo lab (its "captures" are real pcap bytes that go through the
same decoder as a real capture), by the tests and by the decoding benchmark.
The frames match what Linux sends for a pod-to-pod ping over `vxlan.calico`:
outer IPv4/UDP to port 4789 with a zero UDP checksum, VXLAN flags 0x08, inner
Ethernet between the two nodes' VTEP MACs, inner IPv4 with DF and ICMP echo.
With the defaults the frame is 148 bytes, the inner Ethernet frame 98, as in
the seed's tcpdump output.
"""

from __future__ import annotations

import hashlib
import ipaddress
import struct

from fabrictui.constants import VXLAN_PORT

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_LINUX_SLL2 = 276

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_VLAN = 0x8100
CALICO_VNI = 4096

_GLOBAL = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")
_ICMP = struct.Struct("!BBHHH")


def pcap_global_header(
    linktype: int = LINKTYPE_ETHERNET, snaplen: int = 262144, *, nanosecond: bool = False
) -> bytes:
    """The 24-byte little-endian pcap file header, as tcpdump writes it on x86."""
    magic = PCAP_MAGIC_NS if nanosecond else PCAP_MAGIC_US
    return _GLOBAL.pack(magic, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(
    ts: float, frame: bytes, orig_len: int | None = None, *, nanosecond: bool = False
) -> bytes:
    """One record: 16-byte header (seconds, micro- or nanoseconds, lengths) + frame."""
    scale = 1_000_000_000 if nanosecond else 1_000_000
    ticks = round(ts * scale)
    sec, frac = divmod(ticks, scale)
    orig = len(frame) if orig_len is None else orig_len
    return _RECORD.pack(sec, frac, len(frame), orig) + frame


def calico_vtep_mac(node_name: str) -> str:
    """The VTEP MAC Calico gives a node without an explicit one: `66:` followed by
    the first five bytes of SHA-1 of the node name."""
    digest = hashlib.sha1(node_name.encode()).digest()
    return "66:" + ":".join(f"{b:02x}" for b in digest[:5])


def mac_bytes(mac: str) -> bytes:
    parts = mac.split(":")
    if len(parts) != 6:
        raise ValueError(f"not a MAC address: {mac!r}")
    return bytes(int(p, 16) for p in parts)


def inet_checksum(data: bytes) -> int:
    """RFC 1071 one's-complement sum, as used by IPv4 and ICMP headers."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethernet_header(dst_mac: str, src_mac: str, ethertype: int = ETHERTYPE_IPV4) -> bytes:
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", ethertype)


def ipv4_header(
    src: str,
    dst: str,
    proto: int,
    payload_len: int,
    *,
    ttl: int = 64,
    ident: int = 0,
    dont_fragment: bool = False,
    tos: int = 0,
) -> bytes:
    """A 20-byte IPv4 header with a correct checksum."""
    frag = 0x4000 if dont_fragment else 0
    src_b = ipaddress.IPv4Address(src).packed
    dst_b = ipaddress.IPv4Address(dst).packed
    args = (0x45, tos, 20 + payload_len, ident, frag, ttl, proto)
    header = _IPV4.pack(*args, 0, src_b, dst_b)
    return _IPV4.pack(*args, inet_checksum(header), src_b, dst_b)


def icmp_echo(icmp_type: int, icmp_id: int, icmp_seq: int, payload: bytes) -> bytes:
    """ICMP echo request (8) or reply (0) with a correct checksum."""
    header = _ICMP.pack(icmp_type, 0, 0, icmp_id, icmp_seq)
    checksum = inet_checksum(header + payload)
    return _ICMP.pack(icmp_type, 0, checksum, icmp_id, icmp_seq) + payload


def ping_payload(length: int = 56) -> bytes:
    """A deterministic payload shaped like iputils ping's (bytes counting up)."""
    return bytes((0x10 + i) & 0xFF for i in range(length))


def vxlan_header(vni: int, flags: int = 0x08) -> bytes:
    return struct.pack("!B3xI", flags, (vni & 0xFFFFFF) << 8)


def build_vxlan_frame(
    *,
    outer_src_mac: str,
    outer_dst_mac: str,
    outer_src: str,
    outer_dst: str,
    udp_src: int,
    vni: int,
    inner_frame: bytes,
    udp_dst: int = VXLAN_PORT,
    ttl: int = 64,
    ip_id: int = 0,
    flags: int = 0x08,
) -> bytes:
    """Wrap any inner Ethernet frame in Ethernet/IPv4/UDP/VXLAN (UDP checksum 0)."""
    vxlan = vxlan_header(vni, flags) + inner_frame
    udp = _UDP.pack(udp_src, udp_dst, 8 + len(vxlan), 0) + vxlan
    ip = ipv4_header(outer_src, outer_dst, 17, len(udp), ttl=ttl, ident=ip_id)
    return ethernet_header(outer_dst_mac, outer_src_mac) + ip + udp


def build_vxlan_icmp_frame(
    *,
    outer_src_mac: str,
    outer_dst_mac: str,
    outer_src: str,
    outer_dst: str,
    udp_src: int,
    vni: int,
    inner_src_mac: str,
    inner_dst_mac: str,
    inner_src: str,
    inner_dst: str,
    icmp_type: int,
    icmp_id: int,
    icmp_seq: int,
    payload_len: int = 56,
    ttl: int = 64,
    inner_ttl: int = 64,
    ip_id: int = 0,
    inner_ip_id: int = 0,
    udp_dst: int = VXLAN_PORT,
) -> bytes:
    """A pod-to-pod ping as it leaves a Calico node: 148 bytes with the defaults."""
    icmp = icmp_echo(icmp_type, icmp_id, icmp_seq, ping_payload(payload_len))
    inner_ip = ipv4_header(
        inner_src, inner_dst, 1, len(icmp), ttl=inner_ttl, ident=inner_ip_id, dont_fragment=True
    )
    inner = ethernet_header(inner_dst_mac, inner_src_mac) + inner_ip + icmp
    return build_vxlan_frame(
        outer_src_mac=outer_src_mac,
        outer_dst_mac=outer_dst_mac,
        outer_src=outer_src,
        outer_dst=outer_dst,
        udp_src=udp_src,
        udp_dst=udp_dst,
        vni=vni,
        inner_frame=inner,
        ttl=ttl,
        ip_id=ip_id,
    )


def seed_ping_exchange(
    start: float = 1573462632.688881, count: int = 4
) -> list[tuple[float, bytes]]:
    """The seed's capture on k8s-node-l2-1: `count` echo requests and replies between
    nginx pods 10.68.86.129 (k8s-node-l2-1) and 10.65.76.193 (k8s-node-l1-2).

    The default start is 2019-11-11 08:57:12.688881 UTC, the seed's first line."""
    l2_mac, l1_mac = "08:00:27:53:73:c7", "08:00:27:91:d4:66"
    l2_vtep, l1_vtep = calico_vtep_mac("k8s-node-l2-1"), calico_vtep_mac("k8s-node-l1-2")
    frames: list[tuple[float, bytes]] = []
    for seq in range(1, count + 1):
        t = start + (seq - 1) * 1.001
        request = build_vxlan_icmp_frame(
            outer_src_mac=l2_mac,
            outer_dst_mac=l1_mac,
            outer_src="10.0.102.101",
            outer_dst="10.0.101.102",
            udp_src=41553,
            vni=CALICO_VNI,
            inner_src_mac=l2_vtep,
            inner_dst_mac=l1_vtep,
            inner_src="10.68.86.129",
            inner_dst="10.65.76.193",
            icmp_type=8,
            icmp_id=592,
            icmp_seq=seq,
        )
        reply = build_vxlan_icmp_frame(
            outer_src_mac=l1_mac,
            outer_dst_mac=l2_mac,
            outer_src="10.0.101.102",
            outer_dst="10.0.102.101",
            udp_src=32779,
            vni=CALICO_VNI,
            inner_src_mac=l1_vtep,
            inner_dst_mac=l2_vtep,
            inner_src="10.65.76.193",
            inner_dst="10.68.86.129",
            icmp_type=0,
            icmp_id=592,
            icmp_seq=seq,
            inner_ttl=63,
        )
        frames.append((t, request))
        frames.append((t + 0.001435, reply))
    return frames


def build_pcap(
    frames: list[tuple[float, bytes]],
    linktype: int = LINKTYPE_ETHERNET,
    *,
    nanosecond: bool = False,
) -> bytes:
    """A whole pcap file in memory from (time, frame) pairs."""
    parts = [pcap_global_header(linktype, nanosecond=nanosecond)]
    parts.extend(pcap_record(t, f, nanosecond=nanosecond) for t, f in frames)
    return b"".join(parts)
