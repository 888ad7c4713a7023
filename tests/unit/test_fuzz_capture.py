"""Fuzzing the pcap decoder: whatever the bytes, only CaptureError escapes, chunking
never changes the result, and the fast path agrees with the generic one; the lines
printed straight from the records (RecordPrinter) are the lines of the frames.

Profiles: "ci" (300 examples, the default) and "long" (10,000): FABRICTUI_FUZZ=long.
"""

from __future__ import annotations

import itertools
import json
import struct

from hypothesis import given
from hypothesis import strategies as st

from fabrictui.capture import CaptureError
from fabrictui.capture.format import describe_inner, frame_to_json, frame_to_line
from fabrictui.capture.pcap import PcapStreamDecoder
from fabrictui.capture.printer import RecordPrinter
from fabrictui.capture.synth import (
    build_pcap,
    build_vxlan_icmp_frame,
    pcap_global_header,
    pcap_record,
    seed_ping_exchange,
)
from fabrictui.model import VxlanFrame
from tests._fuzz import fuzz_settings
from tests._paths import TEST_DATA

FUZZ = fuzz_settings()

DATA = TEST_DATA


def _corpus() -> list[bytes]:
    seeds = [build_pcap(seed_ping_exchange(count=2))]
    mixed = [
        build_vxlan_icmp_frame(
            outer_src_mac="02:00:00:00:00:01",
            outer_dst_mac="02:00:00:00:00:02",
            outer_src="10.0.0.1",
            outer_dst="10.0.0.2",
            udp_src=50000 + i,
            vni=i,
            inner_src_mac="66:00:00:00:00:01",
            inner_dst_mac="66:00:00:00:00:02",
            inner_src="10.64.0.1",
            inner_dst="10.64.0.66",
            icmp_type=8,
            icmp_id=i,
            icmp_seq=i,
            payload_len=i * 7,
        )
        for i in range(4)
    ]
    seeds.append(build_pcap([(1.0 + i, f) for i, f in enumerate(mixed)]))
    real = DATA / "calico-vxlan-ping.pcap"
    if real.is_file():
        seeds.append(real.read_bytes())
    return seeds


CORPUS = _corpus()


def decode_all(data: bytes, cuts: list[int], **kw: object) -> tuple[list[VxlanFrame], str]:
    """Feed `data` split at `cuts`; returns (frames, error message or "")."""
    decoder = PcapStreamDecoder(**kw)  # type: ignore[arg-type]
    frames: list[VxlanFrame] = []
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    try:
        for a, b in itertools.pairwise(bounds):
            frames += decoder.feed(data[a:b])
        decoder.finish()
    except CaptureError as err:
        return frames + err.frames, str(err)
    return frames, ""


def check_frames(frames: list[VxlanFrame]) -> None:
    for f in frames:
        assert isinstance(f, VxlanFrame)
        assert isinstance(f.outer_src, str) and isinstance(f.note, str)
        assert isinstance(f.length, int) and isinstance(f.inner_length, int)
        assert f.is_vxlan or f.note
        frame_to_line(f, {"10.0.0.1": "n1"})
        describe_inner(f)
        json.dumps(frame_to_json(f))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(0, 6))):
        kinds = ["flip", "header", "header", "truncate", "linktype", "incl", "insert", "delete"]
        kind = draw(st.sampled_from(kinds))
        if not data:
            break
        if kind == "flip":
            pos = draw(st.integers(0, len(data) - 1))
            data[pos] = draw(st.integers(0, 255))
        elif kind == "header":  # a byte of the first record's headers (where the fast path looks)
            pos = 40 + draw(st.integers(0, 91))
            if pos < len(data):
                data[pos] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[draw(st.integers(0, len(data))) :]
        elif kind == "linktype" and len(data) >= 24:
            lt = draw(st.sampled_from([0, 1, 101, 105, 113, 127, 228, 229, 276, 0xFFFFFFFF]))
            data[20:24] = struct.pack("<I", lt)
        elif kind == "incl" and len(data) >= 40:
            huge = st.integers(0, 0xFFFFFFFF)
            data[32:36] = struct.pack("<I", draw(st.one_of(st.integers(0, 300), huge)))
        elif kind == "insert":
            pos = draw(st.integers(0, len(data)))
            data[pos:pos] = draw(st.binary(max_size=40))
        elif kind == "delete":
            pos = draw(st.integers(0, len(data) - 1))
            del data[pos : pos + draw(st.integers(1, 40))]
    return bytes(data)


@FUZZ
@given(st.binary(max_size=2000), st.lists(st.integers(0, 2000), max_size=5))
def test_random_bytes_only_raise_capture_error(data: bytes, cuts: list[int]) -> None:
    frames, _error = decode_all(data, cuts)
    check_frames(frames)


@FUZZ
@given(
    st.sampled_from([1, 101, 113, 228, 229, 276]),
    st.lists(st.tuples(st.binary(max_size=200), st.integers(0, 70000)), max_size=8),
)
def test_random_packets_in_a_valid_stream_decode_to_frames(
    linktype: int, packets: list[tuple[bytes, int]]
) -> None:
    data = pcap_global_header(linktype) + b"".join(
        pcap_record(float(i), p, orig) for i, (p, orig) in enumerate(packets)
    )
    frames, error = decode_all(data, [])
    assert error == ""
    assert len(frames) == len(packets)
    assert [f.length for f in frames] == [orig for _, orig in packets]
    check_frames(frames)


@FUZZ
@given(mutated(), st.lists(st.integers(0, 5000), max_size=6))
def test_mutated_captures_chunking_and_paths_agree(data: bytes, cuts: list[int]) -> None:
    whole, error = decode_all(data, [])
    check_frames(whole)
    assert decode_all(data, cuts) == (whole, error)
    assert decode_all(data, cuts, fast_path=False) == (whole, error)


SEED_FRAME = build_vxlan_icmp_frame(
    outer_src_mac="08:00:27:53:73:c7",
    outer_dst_mac="08:00:27:91:d4:66",
    outer_src="10.0.102.101",
    outer_dst="10.0.101.102",
    udp_src=41553,
    vni=4096,
    inner_src_mac="66:92:0a:fb:a9:be",
    inner_dst_mac="66:81:2e:61:22:8a",
    inner_src="10.68.86.129",
    inner_dst="10.65.76.193",
    icmp_type=8,
    icmp_id=592,
    icmp_seq=1,
)


def _cooked(frame: bytes, linktype: int) -> bytes:
    """The Ethernet frame as `tcpdump -i any` records it (LINUX_SLL or LINUX_SLL2)."""
    if linktype == 113:
        return struct.pack("!HHH8sH", 4, 1, 6, frame[6:12] + b"\0\0", 0x0800) + frame[14:]
    if linktype == 276:
        header = struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 4, 6, frame[6:12] + b"\0\0")
        return header + frame[14:]
    return frame


@FUZZ
@given(
    st.sampled_from([1, 113, 276]),
    st.lists(st.tuples(st.integers(0, 97), st.integers(0, 255)), min_size=1, max_size=3),
)
def test_fast_path_agrees_with_generic_on_header_mutations(
    linktype: int, edits: list[tuple[int, int]]
) -> None:
    """Every byte the fast path reads (link header included), set to any value: both
    paths say the same."""
    frame = bytearray(_cooked(SEED_FRAME, linktype))
    for pos, value in edits:
        frame[pos] = value
    data = pcap_global_header(linktype) + pcap_record(1.5, bytes(frame))
    fast = decode_all(data, [])
    assert fast == decode_all(data, [], fast_path=False)
    check_frames(fast[0])


# -- the printer: lines straight from the records equal lines from the frames ------------


def print_both(data: bytes, cuts: list[int], **kw: object) -> None:
    """`feed_printed` through a RecordPrinter and `feed` + `frame_lines` say the same,
    for text (with names) and JSON, errors included."""
    for out_kw in ({"names": {"10.0.0.1": "n1", "10.64.0.1": "pod-%d"}}, {"as_json": True}):
        frames, error = decode_all(data, cuts, **kw)
        want = RecordPrinter(**out_kw).frame_lines(frames)  # type: ignore[arg-type]
        out = RecordPrinter(**out_kw)  # type: ignore[arg-type]
        decoder = PcapStreamDecoder(**kw)  # type: ignore[arg-type]
        lines: list[bytes] = []
        got_error = ""
        bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
        try:
            for a, b in itertools.pairwise(bounds):
                lines += decoder.feed_printed(data[a:b], out)
            decoder.finish()
        except CaptureError as err:
            lines += err.lines
            got_error = str(err)
        assert (lines, got_error) == (want, error)


@FUZZ
@given(mutated(), st.lists(st.integers(0, 5000), max_size=6))
def test_mutated_captures_print_as_their_frames(data: bytes, cuts: list[int]) -> None:
    print_both(data, cuts)


@FUZZ
@given(
    st.sampled_from([1, 113, 276]),
    st.lists(st.tuples(st.integers(0, 97), st.integers(0, 255)), min_size=1, max_size=3),
)
def test_printer_fast_way_agrees_on_header_mutations(
    linktype: int, edits: list[tuple[int, int]]
) -> None:
    frame = bytearray(_cooked(SEED_FRAME, linktype))
    for pos, value in edits:
        frame[pos] = value
    data = pcap_global_header(linktype) + pcap_record(1573462632.5, bytes(frame))
    print_both(data, [])
