"""`RecordPrinter`: the lines `fabrictui capture` prints straight from the records are,
byte for byte, the lines built field by field from the decoded frames (`frame_line`),
for every frame shape, time, chunking and option; and the common shape really takes
the fast way (one generic decode per flow, not per frame)."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fabrictui.capture import CaptureError, printer
from fabrictui.capture.pcap import PcapStreamDecoder
from fabrictui.capture.printer import RecordPrinter
from fabrictui.capture.synth import (
    build_pcap,
    build_vxlan_frame,
    build_vxlan_icmp_frame,
    calico_vtep_mac,
    ethernet_header,
    ipv4_header,
    pcap_global_header,
    seed_ping_exchange,
)
from tests._fuzz import fuzz_settings
from tests._paths import TEST_DATA

FUZZ = fuzz_settings()
DATA = TEST_DATA

NODES = [
    ("k8s-node-l1-1", "10.0.101.101", "08:00:27:00:01:01", "10.67.209.2"),
    ("k8s-node-l1-2", "10.0.101.102", "08:00:27:91:d4:66", "10.65.76.193"),
    ("k8s-node-l2-1", "10.0.102.101", "08:00:27:53:73:c7", "10.68.86.129"),
]
NAMES = {
    "10.0.102.101": "k8s-node-l2-1",
    "10.0.101.102": "k8s-node-l1-2",
    "10.68.86.129": "nginx-deployment-55457b9d87-z9pl9",
    "10.65.76.193": "100%-odd-name",  # a % in a name must print as itself
}


def ping(i: int, *, flags: int = 0x08, vni: int = 4096, udp_dst: int = 4789) -> bytes:
    src, dst = NODES[i % 3], NODES[(i + 1) % 3]
    if flags != 0x08:
        icmp = build_vxlan_icmp_frame(
            outer_src_mac=src[2], outer_dst_mac=dst[2], outer_src=src[1], outer_dst=dst[1],
            udp_src=40000 + i, vni=vni, inner_src_mac=calico_vtep_mac(src[0]),
            inner_dst_mac=calico_vtep_mac(dst[0]), inner_src=src[3], inner_dst=dst[3],
            icmp_type=8, icmp_id=7, icmp_seq=i,
        )  # fmt: skip
        return icmp[:42] + struct.pack("!B", flags) + icmp[43:]
    return build_vxlan_icmp_frame(
        outer_src_mac=src[2], outer_dst_mac=dst[2], outer_src=src[1], outer_dst=dst[1],
        udp_src=40000 + i, vni=vni, inner_src_mac=calico_vtep_mac(src[0]),
        inner_dst_mac=calico_vtep_mac(dst[0]), inner_src=src[3], inner_dst=dst[3],
        icmp_type=0 if i % 2 else 8, icmp_id=592 + i % 3, icmp_seq=i, udp_dst=udp_dst,
    )  # fmt: skip


def inner_tcp(i: int) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", 51234 + i, 80, 0, 0, 0x50, 0x02, 1000, 0, 0)
    inner = ethernet_header("66:00:00:00:00:02", "66:00:00:00:00:01")
    inner += ipv4_header("10.64.0.1", "10.64.0.66", 6, len(tcp)) + tcp
    return build_vxlan_frame(
        outer_src_mac="02:00:00:00:00:01", outer_dst_mac="02:00:00:00:00:02",
        outer_src="10.0.0.1", outer_dst="10.0.0.2", udp_src=50000, vni=4096, inner_frame=inner,
    )  # fmt: skip


ARP = ethernet_header("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", 0x0806) + bytes(28)


def cooked(frame: bytes, linktype: int) -> bytes:
    """The Ethernet frame as `tcpdump -i any` records it (LINUX_SLL or LINUX_SLL2)."""
    if linktype == 113:
        return struct.pack("!HHH8sH", 4, 1, 6, frame[6:12] + b"\0\0", 0x0800) + frame[14:]
    header = struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 4, 6, frame[6:12] + b"\0\0")
    return header + frame[14:]


def big_endian(frames: list[tuple[int, int, bytes]]) -> bytes:
    head = struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
    return head + b"".join(
        struct.pack(">IIII", sec, usec, len(f), len(f)) + f for sec, usec, f in frames
    )


def records(frames: list[tuple[int, int, bytes]], linktype: int = 1) -> bytes:
    """A little-endian microsecond pcap from (seconds, microseconds, frame)."""
    return pcap_global_header(linktype) + b"".join(
        struct.pack("<IIII", sec, usec, len(f), len(f)) + f for sec, usec, f in frames
    )


T0 = 1573462632
MIXED = [(T0, 688880 + i * 7, ping(i)) for i in range(12)]  # fractions ending in 0 and not
MIXED += [(T0 + 1, 5, ARP), (T0 + 1, 6, inner_tcp(0)), (T0 + 1, 7, ping(3, flags=0x0C))]
MIXED += [(T0 + 2, 0, ping(5)), (T0 + 2, 999999, ping(6)), (T0 + 2, 10, ping(7, vni=7))]
MIXED += [(T0 + 3, 1, ping(8)[:60]), (T0 + 3, 2, ping(9, udp_dst=8472))]

SHAPES: dict[str, tuple[bytes, dict[str, object]]] = {
    "seed": (build_pcap(seed_ping_exchange(count=40)), {}),
    "mixed": (records(MIXED), {}),
    "mixed, node and port 8472": (records(MIXED), {"node": "k8s-node-l2-1",
                                                   "vxlan_ports": (4789, 8472)}),
    "LINUX_SLL": (records([(s, u, cooked(f, 113)) for s, u, f in MIXED], 113), {}),
    "LINUX_SLL2": (records([(s, u, cooked(f, 276)) for s, u, f in MIXED], 276), {}),
    "big-endian": (big_endian(MIXED), {}),
    "nanosecond": (build_pcap([(T0 + i * 1e-4, ping(i)) for i in range(20)], nanosecond=True),
                   {}),
    "early times": (records([(0, 10, ping(0)), (0, 7, ping(0)), (1, 5, ping(1)),
                             (65535, 3, ping(2)), (65536, 3, ping(3)),
                             (2**32 - 1, 999999, ping(4))]), {}),
    "fractions past a second": (records([(T0, 1_000_000, ping(0)), (T0, 17_466_097, ping(1)),
                                         (T0, 2**32 - 1, ping(2))]), {}),
    "generic path only": (records(MIXED), {"fast_path": False}),
}  # fmt: skip
if (DATA / "calico-vxlan-ping.pcap").is_file():
    SHAPES["real capture"] = ((DATA / "calico-vxlan-ping.pcap").read_bytes(), {})


def reference(
    data: bytes, cuts: list[int], out: RecordPrinter, **decoder: object
) -> tuple[list[bytes], str]:
    """Frames decoded as ever, each printed field by field."""
    dec = PcapStreamDecoder(**decoder)  # type: ignore[arg-type]
    lines: list[bytes] = []
    try:
        for a, b in itertools.pairwise(_bounds(data, cuts)):
            lines += out.frame_lines(dec.feed(data[a:b]))
        dec.finish()
    except CaptureError as err:
        return lines + out.frame_lines(err.frames), str(err)
    return lines, ""


def printed(
    data: bytes, cuts: list[int], out: RecordPrinter, **decoder: object
) -> tuple[list[bytes], str]:
    """The same stream through `feed_printed`."""
    dec = PcapStreamDecoder(**decoder)  # type: ignore[arg-type]
    lines: list[bytes] = []
    try:
        for a, b in itertools.pairwise(_bounds(data, cuts)):
            lines += dec.feed_printed(data[a:b], out)
        dec.finish()
    except CaptureError as err:
        return lines + err.lines, str(err)
    return lines, ""


def _bounds(data: bytes, cuts: list[int]) -> list[int]:
    return [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]


PRINTERS = {
    "text": {},
    "text, names": {"names": NAMES},
    "text, local time": {"local_time": True},
    "json": {"as_json": True},
}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("kind", list(PRINTERS))
def test_printed_lines_are_the_reference_lines(shape: str, kind: str) -> None:
    data, decoder = SHAPES[shape]
    want, error = reference(data, [], RecordPrinter(**PRINTERS[kind]), **decoder)
    assert error == "" and want
    for cuts in ([], [100, 3000], list(range(0, len(data), 7))):
        assert printed(data, cuts, RecordPrinter(**PRINTERS[kind]), **decoder) == (want, "")


def test_lines_show_what_they_should() -> None:
    data, _ = SHAPES["mixed"]
    text, _ = printed(data, [], RecordPrinter(names=NAMES))
    assert text[0].decode() == (
        "08:57:12.688880 10.0.101.101 > k8s-node-l1-2(10.0.101.102) vni 4096  "
        "10.67.209.2 > 100%-odd-name(10.65.76.193) ICMP echo request id 592 seq 0\n"
    )
    assert text[12] == b"08:57:13.000005 not VXLAN: ARP\n"
    assert b"TCP 51234 > 80" in text[13] and b"flags 0x0c" in text[14]
    rows, _ = printed(data, [], RecordPrinter(as_json=True))
    assert rows[1].startswith(b'{"time": 1573462632.688887, ')
    assert rows[0].startswith(b'{"time": 1573462632.68888, ')  # as repr: no trailing 0


def test_the_common_shape_decodes_once_per_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    data = build_pcap(seed_ping_exchange(count=500))
    calls = 0
    generic = PcapStreamDecoder.decode_generic

    def counting(self: PcapStreamDecoder, frame: bytes, t: float, orig: int):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return generic(self, frame, t, orig)

    monkeypatch.setattr(PcapStreamDecoder, "decode_generic", counting)
    for kind in PRINTERS.values():
        calls = 0
        lines, _ = printed(data, [], RecordPrinter(**kind))
        assert len(lines) == 1000
        assert calls <= 8, f"{calls} generic decodes for 1000 frames of a few flows"


def test_a_full_template_cache_starts_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(printer, "TEMPLATE_LIMIT", 2)
    data, _ = SHAPES["mixed"]
    for kind in PRINTERS.values():
        assert printed(data, [], RecordPrinter(**kind)) == reference(
            data, [], RecordPrinter(**kind)
        )


def test_broken_stream_keeps_the_lines_before_the_break() -> None:
    data = SHAPES["seed"][0]
    broken = data + struct.pack("<IIII", 1, 0, 0x7FFFFFFF, 60) + data[24:200]
    for kind in PRINTERS.values():
        want = reference(broken, [], RecordPrinter(**kind))
        assert "claims" in want[1]
        assert printed(broken, [], RecordPrinter(**kind)) == want
        assert printed(broken, [len(data) - 50], RecordPrinter(**kind)) == want
    dec = PcapStreamDecoder()
    with pytest.raises(CaptureError) as err:
        dec.feed_printed(broken, RecordPrinter())
    assert len(err.value.lines) == 80 and err.value.frames == []
    with pytest.raises(CaptureError, match="claims"):
        dec.feed_printed(b"more", RecordPrinter())


@FUZZ
@given(
    st.integers(0, 2**32 - 1),
    st.one_of(st.integers(0, 999_999), st.integers(0, 2**32 - 1)),
    st.booleans(),
)
def test_any_time_prints_as_the_reference(sec: int, usec: int, as_json: bool) -> None:
    data = records([(sec, usec, ping(1))])
    out = RecordPrinter(as_json=as_json)
    assert printed(data, [], out) == reference(data, [], RecordPrinter(as_json=as_json))
