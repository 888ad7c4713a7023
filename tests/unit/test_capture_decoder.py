"""PcapStreamDecoder, synth builders, formatting and the pcap writer."""

from __future__ import annotations

import io
import re
import struct
import subprocess
import sys

import pytest

from fabrictui.capture import CaptureError
from fabrictui.capture.format import (
    describe_inner,
    format_time,
    frame_to_json,
    frame_to_line,
    shorten_name,
)
from fabrictui.capture.pcap import (
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_RAW,
    PcapStreamDecoder,
    decode_pcap_bytes,
)
from fabrictui.capture.pcap_writer import PcapWriter, write_pcap
from fabrictui.capture.synth import (
    build_pcap,
    build_vxlan_frame,
    build_vxlan_icmp_frame,
    calico_vtep_mac,
    ethernet_header,
    inet_checksum,
    ipv4_header,
    pcap_global_header,
    pcap_record,
    seed_ping_exchange,
)
from fabrictui.model import VxlanFrame
from fabrictui.parsers import ParseError

# The seed's capture on k8s-node-l2-1 (tcpdump -i eth0 -ne udp port 4789), first 4 frames.
SEED_TCPDUMP = """\
08:57:12.688881 08:00:27:53:73:c7 > 08:00:27:91:d4:66, ethertype IPv4 (0x0800), length 148: 10.0.102.101.41553 > 10.0.101.102.4789: VXLAN, flags [I] (0x08), vni 4096
66:92:0a:fb:a9:be > 66:81:2e:61:22:8a, ethertype IPv4 (0x0800), length 98: 10.68.86.129 > 10.65.76.193: ICMP echo request, id 592, seq 1, length 64
08:57:12.690316 08:00:27:91:d4:66 > 08:00:27:53:73:c7, ethertype IPv4 (0x0800), length 148: 10.0.101.102.32779 > 10.0.102.101.4789: VXLAN, flags [I] (0x08), vni 4096
66:81:2e:61:22:8a > 66:92:0a:fb:a9:be, ethertype IPv4 (0x0800), length 98: 10.65.76.193 > 10.68.86.129: ICMP echo reply, id 592, seq 1, length 64
08:57:13.690925 08:00:27:53:73:c7 > 08:00:27:91:d4:66, ethertype IPv4 (0x0800), length 148: 10.0.102.101.41553 > 10.0.101.102.4789: VXLAN, flags [I] (0x08), vni 4096
66:92:0a:fb:a9:be > 66:81:2e:61:22:8a, ethertype IPv4 (0x0800), length 98: 10.68.86.129 > 10.65.76.193: ICMP echo request, id 592, seq 2, length 64
08:57:13.692672 08:00:27:91:d4:66 > 08:00:27:53:73:c7, ethertype IPv4 (0x0800), length 148: 10.0.101.102.32779 > 10.0.102.101.4789: VXLAN, flags [I] (0x08), vni 4096
66:81:2e:61:22:8a > 66:92:0a:fb:a9:be, ethertype IPv4 (0x0800), length 98: 10.65.76.193 > 10.68.86.129: ICMP echo reply, id 592, seq 2, length 64
"""  # noqa: E501

SEED_NODES = {"10.0.102.101": "k8s-node-l2-1", "10.0.101.102": "k8s-node-l1-2"}
SEED_PODS = {
    "10.68.86.129": "nginx-deployment-55457b9d87-z9pl9",
    "10.65.76.193": "nginx-deployment-55457b9d87-nnzz5",
}

_OUTER = re.compile(
    r"^(?P<time>\S+) (?P<smac>\S+) > (?P<dmac>\S+), ethertype IPv4 \(0x0800\), "
    r"length (?P<len>\d+): (?P<src>[\d.]+)\.(?P<sport>\d+) > (?P<dst>[\d.]+)\.(?P<dport>\d+): "
    r"VXLAN, flags \[I\] \(0x(?P<flags>[0-9a-f]+)\), vni (?P<vni>\d+)$"
)
_INNER = re.compile(
    r"^(?P<smac>\S+) > (?P<dmac>\S+), ethertype IPv4 \(0x0800\), length (?P<len>\d+): "
    r"(?P<src>[\d.]+) > (?P<dst>[\d.]+): ICMP echo (?P<kind>request|reply), "
    r"id (?P<id>\d+), seq (?P<seq>\d+), length \d+$"
)


def seed_expectations() -> list[dict[str, object]]:
    lines = SEED_TCPDUMP.splitlines()
    out = []
    for outer_line, inner_line in zip(lines[::2], lines[1::2], strict=True):
        o = _OUTER.match(outer_line)
        i = _INNER.match(inner_line)
        assert o and i
        out.append(
            {
                "time_text": o["time"],
                "outer_src_mac": o["smac"],
                "outer_dst_mac": o["dmac"],
                "outer_src": o["src"],
                "outer_dst": o["dst"],
                "udp_src": int(o["sport"]),
                "udp_dst": int(o["dport"]),
                "flags": int(o["flags"], 16),
                "vni": int(o["vni"]),
                "length": int(o["len"]),
                "inner_src_mac": i["smac"],
                "inner_dst_mac": i["dmac"],
                "inner_length": int(i["len"]),
                "inner_src": i["src"],
                "inner_dst": i["dst"],
                "proto": "ICMP",
                "icmp_type": 8 if i["kind"] == "request" else 0,
                "icmp_id": int(i["id"]),
                "icmp_seq": int(i["seq"]),
            }
        )
    return out


def seed_pcap() -> bytes:
    """The seed's frames, rebuilt byte by byte with the seed's own timestamps."""
    day = 1573430400  # 2019-11-11 00:00:00 UTC
    frames = []
    for (_t, frame), exp in zip(seed_ping_exchange(count=2), seed_expectations(), strict=True):
        h, m, s = str(exp["time_text"]).split(":")
        frames.append((day + int(h) * 3600 + int(m) * 60 + float(s), frame))
    return build_pcap(frames)


def vxlan_icmp(**overrides: object) -> bytes:
    args: dict[str, object] = {
        "outer_src_mac": "08:00:27:53:73:c7",
        "outer_dst_mac": "08:00:27:91:d4:66",
        "outer_src": "10.0.102.101",
        "outer_dst": "10.0.101.102",
        "udp_src": 41553,
        "vni": 4096,
        "inner_src_mac": "66:92:0a:fb:a9:be",
        "inner_dst_mac": "66:81:2e:61:22:8a",
        "inner_src": "10.68.86.129",
        "inner_dst": "10.65.76.193",
        "icmp_type": 8,
        "icmp_id": 592,
        "icmp_seq": 1,
    }
    args.update(overrides)
    return build_vxlan_icmp_frame(**args)  # type: ignore[arg-type]


def one(frame: bytes, linktype: int = 1, orig_len: int | None = None, **kw: object) -> VxlanFrame:
    data = pcap_global_header(linktype) + pcap_record(1000.5, frame, orig_len)
    frames = decode_pcap_bytes(data, **kw)
    assert len(frames) == 1
    return frames[0]


# -- synth ---------------------------------------------------------------------------


def test_calico_vtep_mac_rule_matches_the_seed() -> None:
    assert calico_vtep_mac("k8s-node-l2-1") == "66:92:0a:fb:a9:be"
    assert calico_vtep_mac("k8s-node-l1-2") == "66:81:2e:61:22:8a"


def test_synth_frame_is_the_seeds_shape_with_valid_checksums() -> None:
    frame = vxlan_icmp()
    assert len(frame) == 148
    assert inet_checksum(frame[14:34]) == 0  # outer IPv4 header
    assert frame[40:42] == b"\x00\x00"  # UDP checksum 0, as Linux VXLAN sends
    assert inet_checksum(frame[64:84]) == 0  # inner IPv4 header
    assert inet_checksum(frame[84:148]) == 0  # ICMP header + payload
    assert len(vxlan_icmp(payload_len=1000)) == 148 - 56 + 1000


def test_pcap_record_rounds_time_to_microseconds() -> None:
    rec = pcap_record(1573462632.688881, b"ab", 60)
    assert struct.unpack("<IIII", rec[:16]) == (1573462632, 688881, 2, 60)
    rec = pcap_record(1.9999996, b"")
    assert struct.unpack("<II", rec[:8]) == (2, 0)


# -- the decoder against the seed ----------------------------------------------------


@pytest.mark.parametrize("fast_path", [True, False])
def test_decodes_the_seed_capture_field_by_field(fast_path: bool) -> None:
    frames = decode_pcap_bytes(seed_pcap(), fast_path=fast_path)
    expected = seed_expectations()
    assert len(frames) == len(expected)
    for frame, exp in zip(frames, expected, strict=True):
        assert frame.is_vxlan and frame.note == ""
        assert format_time(frame.time) == exp["time_text"]
        for key, value in exp.items():
            if key != "time_text":
                assert getattr(frame, key) == value, key


def test_fast_and_generic_paths_agree_on_varied_frames() -> None:
    variants = [
        vxlan_icmp(),
        vxlan_icmp(icmp_type=0, icmp_seq=65535, icmp_id=0),
        vxlan_icmp(payload_len=0),
        vxlan_icmp(payload_len=1400, vni=1),
        vxlan_icmp(vni=0xFFFFFF, udp_src=65535),
        vxlan_icmp(udp_dst=8472),  # not a VXLAN port by default
        vxlan_icmp(icmp_type=13),  # timestamp: generic path only, has id/seq
    ]
    data = build_pcap([(1.0 + i, f) for i, f in enumerate(variants)])
    fast = decode_pcap_bytes(data)
    slow = decode_pcap_bytes(data, fast_path=False)
    assert fast == slow
    assert [f.is_vxlan for f in fast] == [True] * 5 + [False, True]
    assert fast[3].inner_length == 98 - 56 + 1400
    assert fast[4].vni == 0xFFFFFF
    assert "UDP port 8472" in fast[5].note
    assert (fast[6].icmp_type, fast[6].icmp_id, fast[6].icmp_seq) == (13, 592, 1)


def test_every_chunk_boundary_gives_identical_frames() -> None:
    data = seed_pcap()
    expected = decode_pcap_bytes(data)
    for cut in range(len(data) + 1):
        decoder = PcapStreamDecoder()
        frames = decoder.feed(data[:cut]) + decoder.feed(data[cut:])
        decoder.finish()
        assert frames == expected, cut
    decoder = PcapStreamDecoder()
    frames = []
    for i in range(len(data)):
        frames += decoder.feed(memoryview(data)[i : i + 1])
    decoder.finish()
    assert frames == expected


def test_big_records_in_small_chunks() -> None:
    big = vxlan_icmp(payload_len=60000)
    data = build_pcap([(1.0, big), (2.0, vxlan_icmp()), (3.0, big)])
    decoder = PcapStreamDecoder(keep_raw=True)
    frames, raws = [], []
    for i in range(0, len(data), 97):
        frames += decoder.feed(data[i : i + 97])
        raws += decoder.raw_records
    decoder.finish()
    assert frames == decode_pcap_bytes(data)
    assert [f.inner_length for f in frames] == [60042, 98, 60042]
    assert [r.data for r in raws] == [big, vxlan_icmp(), big]


def test_three_way_split_and_counters() -> None:
    data = seed_pcap()
    expected = decode_pcap_bytes(data)
    for a in range(0, len(data), 7):
        for b in range(a, len(data), 53):
            decoder = PcapStreamDecoder()
            frames = decoder.feed(data[:a]) + decoder.feed(data[a:b]) + decoder.feed(data[b:])
            decoder.finish()
            assert frames == expected
            assert decoder.frames_decoded == 4 and decoder.bytes_fed == len(data)


def test_big_endian_and_nanosecond_headers() -> None:
    frame = vxlan_icmp()
    be = struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    be += struct.pack(">IIII", 1573462632, 688881, len(frame), len(frame)) + frame
    (f,) = decode_pcap_bytes(be)
    assert format_time(f.time) == "08:57:12.688881" and f.icmp_seq == 1

    ns = pcap_global_header(nanosecond=True) + pcap_record(
        1573462632.688881, frame, nanosecond=True
    )
    decoder = PcapStreamDecoder()
    (g,) = decoder.feed(ns)
    assert decoder.nanosecond and format_time(g.time) == "08:57:12.688881"
    assert g._replace(time=0) == f._replace(time=0)


def _sll(frame: bytes) -> bytes:
    return struct.pack("!HHH8sH", 4, 1, 6, frame[6:12] + b"\0\0", 0x0800) + frame[14:]


def _sll2(frame: bytes) -> bytes:
    return struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 4, 6, frame[6:12] + b"\0\0") + frame[14:]


@pytest.mark.parametrize(
    ("linktype", "wrap", "dst_mac"),
    [
        (LINKTYPE_LINUX_SLL, _sll, ""),
        (LINKTYPE_LINUX_SLL2, _sll2, ""),
        (LINKTYPE_RAW, lambda f: f[14:], ""),
        (1, lambda f: f[:12] + b"\x81\x00\x00\x64" + f[12:], "08:00:27:91:d4:66"),  # 802.1Q
        (1, lambda f: f[:12] + b"\x88\xa8\x00\x01\x81\x00\x00\x64" + f[12:], "08:00:27:91:d4:66"),
    ],
)
def test_link_types_and_vlan_tags(linktype: int, wrap: object, dst_mac: str) -> None:
    frame = vxlan_icmp()
    wrapped = wrap(frame)  # type: ignore[operator]
    f = one(wrapped, linktype)
    ref = one(frame)
    assert f.is_vxlan, f.note
    expected_src_mac = "" if linktype == LINKTYPE_RAW else ref.outer_src_mac
    assert f == ref._replace(
        outer_src_mac=expected_src_mac, outer_dst_mac=dst_mac, length=len(wrapped)
    )


def test_other_vxlan_ports_and_source_port_match() -> None:
    f = one(vxlan_icmp(udp_dst=8472), vxlan_ports={8472})
    assert f.is_vxlan and f.udp_dst == 8472
    g = one(vxlan_icmp(udp_src=4789, udp_dst=33000))
    assert g.is_vxlan and g.udp_src == 4789 and g.icmp_seq == 1


def test_inner_tcp_udp_arp_and_flags() -> None:
    def wrapped(inner: bytes, flags: int = 0x08) -> bytes:
        return build_vxlan_frame(
            outer_src_mac="02:00:00:00:00:01",
            outer_dst_mac="02:00:00:00:00:02",
            outer_src="10.0.0.1",
            outer_dst="10.0.0.2",
            udp_src=50000,
            vni=4096,
            inner_frame=inner,
            flags=flags,
        )

    eth = ethernet_header("66:00:00:00:00:02", "66:00:00:00:00:01")
    tcp = struct.pack("!HHIIBBHHH", 51234, 80, 1, 0, 0x50, 0x02, 64240, 0, 0)
    f = one(wrapped(eth + ipv4_header("10.64.0.1", "10.64.0.66", 6, len(tcp)) + tcp))
    assert (f.proto, f.inner_sport, f.inner_dport, f.icmp_type) == ("TCP", 51234, 80, None)
    assert f.inner_length == 14 + 20 + 20
    assert describe_inner(f) == "TCP 51234 > 80"
    udp = struct.pack("!HHHH", 53, 40000, 8, 0)
    g = one(wrapped(eth + ipv4_header("10.64.0.1", "10.64.0.66", 17, 8) + udp, flags=0x0C))
    assert (g.proto, g.inner_sport, g.inner_dport, g.flags) == ("UDP", 53, 40000, 0x0C)
    assert "flags 0x0c" in frame_to_line(g)
    arp = ethernet_header("ff:ff:ff:ff:ff:ff", "66:00:00:00:00:01", 0x0806) + bytes(28)
    h = one(wrapped(arp))
    assert h.is_vxlan and h.proto == "ARP" and h.inner_src == ""
    assert h.inner_dst_mac == "ff:ff:ff:ff:ff:ff"
    unreachable = struct.pack("!BBHI", 3, 1, 0, 0) + bytes(28)
    u = one(wrapped(eth + ipv4_header("10.64.0.1", "10.64.0.66", 1, 36) + unreachable))
    assert (u.icmp_type, u.icmp_id, u.icmp_seq) == (3, None, None)
    assert describe_inner(u) == "ICMP unreachable"


def test_non_vxlan_frames_are_reported_not_raised() -> None:
    mac = ethernet_header("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", 0x0806)
    arp = one(mac + bytes(28))
    assert not arp.is_vxlan and arp.note == "ARP"
    assert arp.outer_src_mac == "02:00:00:00:00:01"
    tcp = struct.pack("!HHIIBBHHH", 22, 5555, 1, 0, 0x50, 0x18, 100, 0, 0)
    eth = ethernet_header("02:00:00:00:00:02", "02:00:00:00:00:01")
    t = one(eth + ipv4_header("10.0.0.1", "10.0.0.2", 6, len(tcp)) + tcp)
    assert not t.is_vxlan and t.note == "IPv4 TCP 10.0.0.1.22 > 10.0.0.2.5555"
    dns = struct.pack("!HHHH", 40000, 53, 8, 0)
    d = one(eth + ipv4_header("10.0.0.1", "10.0.0.2", 17, 8) + dns)
    assert not d.is_vxlan and "UDP port 53" in d.note and d.udp_dst == 53
    # plain IP between two addresses is shown as native traffic (Calico's BGP mode)
    assert frame_to_line(d).endswith(" native  10.0.0.1 > 10.0.0.2 UDP 40000 > 53")
    assert frame_to_line(arp).endswith(" not VXLAN: " + arp.note)
    v6 = ethernet_header("33:33:00:00:00:01", "02:00:00:00:00:01", 0x86DD)
    v6 += struct.pack("!IHBB", 0x60000000, 8, 17, 64) + bytes(15) + b"\x01" + bytes(15) + b"\x02"
    v6 += struct.pack("!HHHH", 1000, 53, 8, 0)
    s = one(v6)
    assert not s.is_vxlan and s.note == "IPv6 UDP ::1.1000 > ::2.53: UDP port 53, not VXLAN"
    lldp = one(ethernet_header("01:80:c2:00:00:0e", "02:00:00:00:00:01", 0x88CC) + bytes(30))
    assert lldp.note == "LLDP"


def test_outer_ipv6_vxlan() -> None:
    inner = vxlan_icmp()[50:]
    udp_payload = struct.pack("!B3xI", 8, 4096 << 8) + inner
    udp = struct.pack("!HHHH", 40000, 4789, 8 + len(udp_payload), 0) + udp_payload
    ip6 = struct.pack("!IHBB", 0x60000000, len(udp), 17, 64)
    ip6 += bytes.fromhex("fd000000000000000000000000000001" + "fd000000000000000000000000000002")
    f = one(ethernet_header("02:00:00:00:00:02", "02:00:00:00:00:01", 0x86DD) + ip6 + udp)
    assert f.is_vxlan and (f.outer_src, f.outer_dst) == ("fd00::1", "fd00::2")
    assert (f.inner_src, f.icmp_seq, f.inner_length) == ("10.68.86.129", 1, 98)


@pytest.mark.parametrize("fast_path", [True, False])
def test_truncated_frames_never_raise(fast_path: bool) -> None:
    frame = vxlan_icmp()
    for k in range(len(frame) + 1):
        f = one(frame[:k], orig_len=148, fast_path=fast_path)
        assert f.length == 148
        if k < 50:  # VXLAN header incomplete
            assert not f.is_vxlan and f.note, k
        else:
            assert f.is_vxlan and f.vni == 4096 and f.inner_length == 98, k
            assert (f.note == "") == (k >= 92), (k, f.note)
        if k >= 92:
            assert (f.icmp_type, f.icmp_id, f.icmp_seq) == (8, 592, 1)


def test_odd_headers_give_notes() -> None:
    frame = bytearray(vxlan_icmp())
    bad_ihl = bytes(frame[:14]) + b"\x43" + bytes(frame[15:])
    assert "bad header" in one(bad_ihl).note
    fragment = bytearray(frame)
    fragment[20:22] = b"\x00\x10"  # offset 128
    f = one(bytes(fragment))
    assert not f.is_vxlan and f.note.startswith("IPv4 fragment")
    short_udp = bytearray(frame)
    short_udp[38:40] = b"\x00\x04"
    assert "bad UDP length" in one(bytes(short_udp)).note
    assert one(b"").note == "truncated Ethernet header"
    inner_total = bytearray(frame)
    inner_total[66:68] = b"\x00\x00"
    f = one(bytes(inner_total))
    assert f.is_vxlan and f.note == "inner IPv4 10.68.86.129 > 10.65.76.193: bad total length 0"


# -- stream errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty stream"),
        (b"\xd4\xc3\xb2", "inside the pcap header"),
        (b"GIF89a" + bytes(40), "not a pcap stream"),
        (b"\x0a\x0d\x0d\x0a" + bytes(40), "pcapng"),
        (pcap_global_header(linktype=105), "unsupported pcap link type 105"),
        (pcap_global_header() + pcap_record(1.0, bytes(60))[:30], "mid-record"),
        (pcap_global_header() + struct.pack("<IIII", 1, 0, 5_000_000, 60), "claims 5000000"),
        (struct.pack("<IHHiIII", 0xA1B2C3D4, 3, 0, 0, 0, 65535, 1), "version 3.0"),
    ],
)
def test_stream_errors_raise_capture_error(data: bytes, message: str) -> None:
    with pytest.raises(CaptureError, match=message) as info:
        decoder = PcapStreamDecoder()
        decoder.feed(data)
        decoder.finish()
    assert isinstance(info.value, ParseError)


def test_frames_before_a_broken_record_come_with_the_error() -> None:
    data = seed_pcap() + struct.pack("<IIII", 1, 0, 9_999_999, 60) + bytes(100)
    decoder = PcapStreamDecoder(keep_raw=True)
    with pytest.raises(CaptureError, match="record 5 claims 9999999") as info:
        decoder.feed(data)
    assert info.value.frames == decode_pcap_bytes(seed_pcap())
    assert len(decoder.raw_records) == 4
    with pytest.raises(CaptureError, match="record 5"):  # stays broken
        decoder.feed(seed_pcap())
    with pytest.raises(CaptureError, match="record 5"):
        decoder.finish()


# -- raw records and the writer ----------------------------------------------------------


def test_keep_raw_round_trips_through_the_writer(tmp_path: object) -> None:
    data = seed_pcap()
    decoder = PcapStreamDecoder(keep_raw=True)
    frames = decoder.feed(data[:300])
    raws = list(decoder.raw_records)
    assert len(raws) == len(frames) == 1
    frames += decoder.feed(data[300:])
    raws += decoder.raw_records
    assert len(raws) == len(frames) == 4
    out = io.BytesIO()
    writer = PcapWriter(out, decoder.linktype or 1, decoder.snaplen or 262144)
    assert writer.write_all(raws) == 4
    assert out.getvalue() == data
    path = tmp_path / "sel.pcap"  # type: ignore[operator]
    assert write_pcap(path, [raws[0], raws[3]]) == 2
    again = decode_pcap_bytes(path.read_bytes())
    assert again == [frames[0], frames[3]]


# -- formatting --------------------------------------------------------------------------


def test_frame_to_line_with_names_and_without() -> None:
    f = decode_pcap_bytes(seed_pcap())[0]
    names = {**SEED_NODES, **SEED_PODS}
    assert frame_to_line(f, names) == (
        "08:57:12.688881 k8s-node-l2-1(10.0.102.101) > k8s-node-l1-2(10.0.101.102) vni 4096  "
        "nginx-…-z9pl9(10.68.86.129) > nginx-…-nnzz5(10.65.76.193) "
        "ICMP echo request id 592 seq 1"
    )
    assert frame_to_line(f) == (
        "08:57:12.688881 10.0.102.101 > 10.0.101.102 vni 4096  "
        "10.68.86.129 > 10.65.76.193 ICMP echo request id 592 seq 1"
    )


def test_frame_to_json_has_every_documented_key() -> None:
    f = decode_pcap_bytes(seed_pcap())[1]
    d = frame_to_json(f)
    required = {
        "time", "outer_src_mac", "outer_dst_mac", "outer_src", "outer_dst", "udp_src",
        "udp_dst", "vni", "flags", "inner_src_mac", "inner_dst_mac", "inner_src", "inner_dst",
        "proto", "icmp_type", "icmp_id", "icmp_seq", "length", "inner_length", "is_vxlan",
        "note",
    }  # fmt: skip
    assert required <= set(d)
    assert d["icmp_type"] == 0 and d["udp_src"] == 32779 and d["inner_length"] == 98
    assert VxlanFrame(**d) == f


def test_shorten_name() -> None:
    assert shorten_name("nginx-deployment-55457b9d87-z9pl9") == "nginx-…-z9pl9"
    assert shorten_name("k8s-node-l2-1") == "k8s-node-l2-1"
    assert (
        shorten_name("averyveryverylongnamewithoutdashes") == "averyveryverylongnamewithoutdashes"
    )


def test_capture_package_does_not_import_textual() -> None:
    code = (
        "import sys, fabrictui.capture.pcap, fabrictui.capture.format, "
        "fabrictui.capture.counters, fabrictui.capture.synth, fabrictui.capture.pcap_writer; "
        "print('textual' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize("fast_path", [True, False])
def test_ip_id_is_the_outer_headers_identification(fast_path: bool) -> None:
    """The outer IP id is what tells one frame's two sightings (sending and receiving
    node) from the frames around it: both paths must read it, from the outer header."""
    frames = [
        build_vxlan_icmp_frame(**{**_SEED_ARGS, "ip_id": 4321, "inner_ip_id": 7}),
        ethernet_header("02:00:00:00:00:02", "02:00:00:00:00:01")
        + ipv4_header("10.68.86.129", "10.65.76.193", 1, 8, ident=999)
        + bytes([8, 0, 0, 0, 0, 1, 0, 1]),
    ]
    decoded = decode_pcap_bytes(build_pcap(list(enumerate(frames))), fast_path=fast_path)
    assert [f.ip_id for f in decoded] == [4321, 999]
    assert frame_to_json(decoded[0])["ip_id"] == 4321


_SEED_ARGS = dict(
    outer_src_mac="08:00:27:53:73:c7", outer_dst_mac="08:00:27:91:d4:66",
    outer_src="10.0.102.101", outer_dst="10.0.101.102", udp_src=41553, vni=4096,
    inner_src_mac="66:92:0a:fb:a9:be", inner_dst_mac="66:81:2e:61:22:8a",
    inner_src="10.68.86.129", inner_dst="10.65.76.193", icmp_type=8, icmp_id=592, icmp_seq=1,
)  # fmt: skip
