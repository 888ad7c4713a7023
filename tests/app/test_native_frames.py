"""Native frames (issue 11): pod traffic in Calico's BGP mode crosses the fabric as plain
IP. The decoder reads such a packet as its own inner packet (`model.is_native`), lines show
it pod to pod with names, the counters count it apart from "not VXLAN", the capture filter
takes both modes, and the overlay pane says which mode it shows."""

from __future__ import annotations

import shlex
import struct
from pathlib import Path
from types import SimpleNamespace

import pytest

from fabrictui.backends.real.backend import RealLabBackend
from fabrictui.backends.real.capture import capture_argv
from fabrictui.backends.real.inventory import load_inventory_file
from fabrictui.backends.real.remote import remote_command
from fabrictui.capture.counters import FlowCounters
from fabrictui.capture.format import frame_to_json, frame_to_line
from fabrictui.capture.pcap import PcapStreamDecoder, decode_pcap_bytes
from fabrictui.capture.printer import RecordPrinter
from fabrictui.capture.synth import (
    build_pcap,
    build_vxlan_icmp_frame,
    ethernet_header,
    icmp_echo,
    ipv4_header,
    ping_payload,
)
from fabrictui.constants import POD_TRAFFIC_BPF, pod_traffic_bpf
from fabrictui.model import VxlanFrame, is_native
from fabrictui.render.frames import frame_lines, frame_two_lines

A, B = "10.68.86.129", "10.65.76.193"  # the seed's two pods, in two racks
NAMES = {
    A: "nginx-deployment-55457b9d87-z9pl9",
    B: "nginx-deployment-55457b9d87-nnzz5",
    "10.0.102.101": "k8s-node-l2-1",
    "10.0.101.102": "k8s-node-l1-2",
}
NODE_MAC, LEAF_MAC = "08:00:27:53:73:c7", "44:38:39:00:00:01"
T = 1573462632.688881  # 08:57:12.688881 UTC


def eth(ethertype: int = 0x0800) -> bytes:
    return ethernet_header(LEAF_MAC, NODE_MAC, ethertype)


def native_echo(icmp_type: int = 8, seq: int = 1, ident: int = 4321) -> bytes:
    """A pod's ping as it leaves its node in BGP mode: Ethernet, IPv4, ICMP echo."""
    icmp = icmp_echo(icmp_type, 592, seq, ping_payload(56))
    return eth() + ipv4_header(A, B, 1, len(icmp), ttl=63, ident=ident) + icmp


def native_tcp() -> bytes:
    tcp = struct.pack("!HHIIBBHHH", 51234, 80, 1, 0, 0x50, 0x02, 64240, 0, 0)
    return eth() + ipv4_header(A, B, 6, len(tcp)) + tcp


def native_udp(dport: int = 53) -> bytes:
    udp = struct.pack("!HHHH", 40000, dport, 8 + 4, 0) + b"abcd"
    return eth() + ipv4_header(A, B, 17, len(udp)) + udp


def ipv6(nxt: int, payload: bytes) -> bytes:
    head = struct.pack("!IHBB", 0x60000000, len(payload), nxt, 64)
    return eth(0x86DD) + head + bytes(15) + b"\x01" + bytes(15) + b"\x02" + payload


def vxlan_echo() -> bytes:
    return build_vxlan_icmp_frame(
        outer_src_mac=NODE_MAC, outer_dst_mac="08:00:27:91:d4:66", outer_src="10.0.102.101",
        outer_dst="10.0.101.102", udp_src=41553, vni=4096, inner_src_mac="66:92:0a:fb:a9:be",
        inner_dst_mac="66:81:2e:61:22:8a", inner_src=A, inner_dst=B, icmp_type=8, icmp_id=592,
        icmp_seq=1,
    )  # fmt: skip


def decode(frame: bytes, *, fast_path: bool = True, node: str = "") -> VxlanFrame:
    frames = decode_pcap_bytes(build_pcap([(T, frame)]), fast_path=fast_path, node=node)
    assert len(frames) == 1
    return frames[0]


# -- decoder --------------------------------------------------------------------------


@pytest.mark.parametrize("fast_path", [True, False])
def test_a_native_echo_fills_outer_and_inner_fields(fast_path: bool) -> None:
    f = decode(native_echo(), fast_path=fast_path, node="k8s-node-l2-1")
    assert not f.is_vxlan and is_native(f)
    assert (f.vni, f.flags) == (None, None)
    assert (f.outer_src_mac, f.outer_dst_mac) == (NODE_MAC, LEAF_MAC)
    assert (f.outer_src, f.outer_dst, f.inner_src, f.inner_dst) == (A, B, A, B)
    assert (f.proto, f.icmp_type, f.icmp_id, f.icmp_seq) == ("ICMP", 8, 592, 1)
    assert (f.udp_src, f.udp_dst, f.inner_sport, f.inner_dport) == (0, 0, None, None)
    assert (f.length, f.inner_length, f.ip_id, f.node) == (98, 84, 4321, "k8s-node-l2-1")
    # the note keeps the description every not-VXLAN frame has (verify reads its type)
    assert f.note == f"IPv4 ICMP {A} > {B} type 8"
    assert frame_to_json(f)["is_vxlan"] is False and frame_to_json(f)["inner_src"] == A


def test_tcp_udp_and_ipv6_native_frames() -> None:
    t = decode(native_tcp())
    assert is_native(t) and (t.proto, t.inner_sport, t.inner_dport) == ("TCP", 51234, 80)
    assert (t.udp_src, t.udp_dst, t.inner_length, t.icmp_type) == (0, 0, 40, None)
    assert t.note == f"IPv4 TCP {A}.51234 > {B}.80"
    u = decode(native_udp())
    assert is_native(u) and (u.proto, u.inner_sport, u.inner_dport) == ("UDP", 40000, 53)
    assert (u.udp_src, u.udp_dst, u.inner_length) == (40000, 53, 32)
    assert "UDP port 53, not VXLAN" in u.note
    echo6 = decode(ipv6(58, struct.pack("!BBHHH", 128, 0, 0, 7, 3) + bytes(8)))
    assert is_native(echo6) and (echo6.inner_src, echo6.inner_dst) == ("::1", "::2")
    assert (echo6.proto, echo6.icmp_type, echo6.icmp_id, echo6.icmp_seq) == ("ICMP6", 128, 7, 3)
    assert (echo6.inner_length, echo6.ip_id) == (56, None)
    # types without identifier and sequence carry none, as in an inner packet
    ns = decode(ipv6(58, struct.pack("!BBHI", 135, 0, 0, 0) + bytes(16)))
    assert is_native(ns) and (ns.icmp_type, ns.icmp_id, ns.icmp_seq) == (135, None, None)
    unreachable = eth() + ipv4_header(A, B, 1, 8) + struct.pack("!BBHI", 3, 1, 0, 0)
    u3 = decode(unreachable)
    assert is_native(u3) and (u3.icmp_type, u3.icmp_id) == (3, None)


def test_what_stays_not_native() -> None:
    """VXLAN, other protocols, malformed and truncated plain IP: as before."""
    vx = decode(vxlan_echo())
    assert vx.is_vxlan and not is_native(vx)
    arp = decode(eth(0x0806) + bytes(28))
    assert not is_native(arp) and arp.note == "ARP"
    gre = decode(eth() + ipv4_header(A, B, 47, 8) + bytes(8))
    assert not is_native(gre) and gre.note == f"IPv4 GRE {A} > {B}"
    bad_udp = bytearray(native_udp())
    bad_udp[38:40] = b"\x00\x04"  # UDP length 4: less than its own header
    f = decode(bytes(bad_udp))
    assert not is_native(f) and f.note == f"IPv4 UDP {A}.40000 > {B}.53: UDP port 53, not VXLAN"
    # an IP length that leaves no room for the ICMP header: the bytes after it are padding
    short = eth() + ipv4_header(A, B, 1, 4) + bytes(8)
    f = decode(short)
    assert not is_native(f) and f.note == f"IPv4 ICMP {A} > {B} type 0"
    fragment = bytearray(native_echo())
    fragment[20:22] = b"\x00\x10"
    f = decode(bytes(fragment))
    assert not is_native(f) and f.note.startswith("IPv4 fragment")


FRAMES = {
    "echo": native_echo(),
    "tcp": native_tcp(),
    "udp": native_udp(),
    "echo6": ipv6(58, struct.pack("!BBHHH", 129, 0, 0, 7, 3) + bytes(8)),
}
# captured bytes from which the transport header is whole (a native frame), per frame
WHOLE_FROM = {"echo": 42, "tcp": 38, "udp": 42, "echo6": 62}


@pytest.mark.parametrize("name", list(FRAMES))
@pytest.mark.parametrize("fast_path", [True, False])
def test_truncations_never_raise_and_native_needs_whole_headers(name: str, fast_path: bool) -> None:
    frame = FRAMES[name]
    for k in range(len(frame) + 1):
        f = decode(frame[:k], fast_path=fast_path)
        assert not f.is_vxlan and f.note, (k, f)
        assert is_native(f) == (k >= WHOLE_FROM[name]), (k, f)
        assert f.length == k  # pcap_record's orig_len is the bytes given
        frame_to_line(f, NAMES)
        frame_two_lines(f, NAMES)


def test_fast_and_generic_paths_and_the_printer_agree() -> None:
    mixed = [native_echo(seq=s) for s in range(3)] + [vxlan_echo(), native_tcp(), native_udp()]
    mixed += [native_echo(icmp_type=0), eth(0x0806) + bytes(28), native_udp(4789)[:40]]
    data = build_pcap([(T + i, frame) for i, frame in enumerate(mixed)])
    fast = PcapStreamDecoder(node="k8s-node-l2-1").feed(data)
    generic = PcapStreamDecoder(node="k8s-node-l2-1", fast_path=False).feed(data)
    assert fast == generic and len(fast) == len(mixed)
    assert [is_native(f) for f in fast] == [True] * 3 + [False, True, True, True, False, False]
    for kind in ({}, {"names": NAMES}, {"as_json": True}):
        printer = RecordPrinter(**kind)  # type: ignore[arg-type]
        dec = PcapStreamDecoder(node="k8s-node-l2-1")
        assert dec.feed_printed(data, printer) == printer.frame_lines(fast)


# -- lines ----------------------------------------------------------------------------


def test_native_lines_with_and_without_names() -> None:
    f = decode(native_echo(), node="k8s-node-l2-1")
    assert frame_to_line(f, NAMES) == (
        "08:57:12.688881 native on k8s-node-l2-1  nginx-…-z9pl9(10.68.86.129) > "
        "nginx-…-nnzz5(10.65.76.193) ICMP echo request id 592 seq 1"
    )
    bare = decode(native_echo())  # no capture point known (a file read)
    assert frame_to_line(bare) == (
        "08:57:12.688881 native  10.68.86.129 > 10.65.76.193 ICMP echo request id 592 seq 1"
    )
    assert frame_to_line(decode(native_tcp()), NAMES).endswith("(10.65.76.193) TCP 51234 > 80")
    # VXLAN lines are what they were
    assert frame_to_line(decode(vxlan_echo()), NAMES) == (
        "08:57:12.688881 k8s-node-l2-1(10.0.102.101) > k8s-node-l1-2(10.0.101.102) vni 4096  "
        "nginx-…-z9pl9(10.68.86.129) > nginx-…-nnzz5(10.65.76.193) "
        "ICMP echo request id 592 seq 1"
    )


def test_narrow_pane_lines_fit_76_columns_with_both_pod_names() -> None:
    f = decode(native_echo(seq=65535), node="k8s-node-l2-1")
    lines = frame_two_lines(f, NAMES)
    assert lines == [
        "08:57:12.688881 native on k8s-node-l2-1",
        "  z9pl9(10.68.86.129) > nnzz5(10.65.76.193) ICMP echo req id 592 seq 65535",
    ]
    assert max(map(len, lines)) <= 76
    vx = decode(vxlan_echo())
    assert frame_two_lines(vx, NAMES) == [
        "08:57:12.688881 k8s-node-l2-1 > k8s-node-l1-2 vni 4096",
        "  z9pl9(10.68.86.129) > nnzz5(10.65.76.193) ICMP echo req id 592 seq 1",
    ]
    assert frame_lines([f], NAMES, 200) == [frame_to_line(f, NAMES)]
    assert frame_two_lines(decode(eth(0x0806) + bytes(28)), NAMES) == [
        "08:57:12.688881 not VXLAN: ARP"
    ]


# -- counters -------------------------------------------------------------------------


def test_counters_count_native_frames_apart() -> None:
    frames = [decode(native_echo(seq=s)) for s in range(3)] + [decode(native_tcp())]
    frames += [decode(vxlan_echo()), decode(eth(0x0806) + bytes(28))]
    c = FlowCounters()
    c.add_many(frames)
    assert (c.total, c.vxlan, c.native, c.other) == (6, 1, 4, 1)
    snap = c.snapshot()
    assert (snap.vxlan, snap.native, snap.other) == (1, 4, 1)
    assert snap.per_vni == {4096: 1}
    # a VXLAN frame under its node pair, a native one under its pod pair
    assert snap.per_pair == {(A, B): 4, ("10.0.102.101", "10.0.101.102"): 1}
    assert snap.per_proto == {"ICMP": 4, "TCP": 1}


# -- the capture filter ---------------------------------------------------------------


async def test_the_filter_takes_both_modes_from_the_labs_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert POD_TRAFFIC_BPF == "udp port 4789 or (src net 10.64.0.0/12 and dst net 10.64.0.0/12)"
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(
        'name = "bench"\npod_pool = "10.244.0.0/16"\nvxlan_port = 8472\n'
        '[[hosts]]\nname = "k8s-node-l2-1"\nhost = "192.0.2.21"\nuser = "vagrant"\n'
    )
    backend = RealLabBackend.for_inventory(load_inventory_file(inventory))
    want = "udp port 8472 or (src net 10.244.0.0/16 and dst net 10.244.0.0/16)"
    assert backend.capture_filter() == want == pod_traffic_bpf("10.244.0.0/16", 8472)
    opened: list[tuple[str, str, str]] = []

    async def fake_open(pool, node, interface, bpf, sudo=True):  # type: ignore[no-untyped-def]
        opened.append((node, interface, bpf))
        return SimpleNamespace(stopped=True)

    async def has_tcpdump(node: str) -> bool:  # never ask 192.0.2.21 (no traffic leaves)
        return True

    monkeypatch.setattr("fabrictui.backends.real.backend.open_ssh_capture", fake_open)
    monkeypatch.setattr(backend.taps, "has_tcpdump", has_tcpdump)
    await backend.open_capture("k8s-node-l2-1")  # what the capture feed calls
    await backend.open_capture("k8s-node-l2-1", "eth0", "icmp")
    assert opened == [("k8s-node-l2-1", "eth0", want), ("k8s-node-l2-1", "eth0", "icmp")]
    # the remote command carries the filter as one argument, after `--`
    argv = capture_argv("eth0", want)
    assert argv[-2:] == ["--", want]
    remote = shlex.split(remote_command(argv, sudo=True))
    assert remote[-2:] == ["--", want] and remote[:3] == ["sudo", "-n", "--"]


# -- headless -------------------------------------------------------------------------


def test_capture_command_prints_native_lines_and_counts_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fabrictui.cli import main

    path = tmp_path / "bgp.pcap"
    path.write_bytes(
        build_pcap([(T, native_echo()), (T + 1, native_echo(0)), (T + 2, vxlan_echo())])
    )
    assert main(["capture", "-r", str(path), "--summary"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == (
        "08:57:12.688881 native  10.68.86.129 > 10.65.76.193 ICMP echo request id 592 seq 1"
    )
    assert lines[1].startswith(
        "08:57:13.688881 native  10.68.86.129 > 10.65.76.193 ICMP echo reply"
    )
    assert " vni 4096  " in lines[2]
    assert err.startswith("3 frames: 1 VXLAN, 2 native, 0 other\n")
    assert f"  {A} > {B}: 2" in err


# -- the overlay pane on the demo lab -------------------------------------------------


async def test_the_overlay_pane_follows_a_migration_to_bgp_mode() -> None:
    """Deploy BGP mode from the TUI (D, bgp, y) on the demo lab: the captures keep
    running, the pane's title says BGP mode, and the pings' plain IP frames show pod to
    pod with both pods' names, counted as native (no "not VXLAN" warning)."""
    from fabrictui.ui.screens.confirm import ChoiceScreen, ConfirmScreen
    from fabrictui.ui.widgets.overlay_pane import OverlayPane
    from tests.app.test_app_demo import finish_action, loaded, wait_for
    from tests.app.test_bgp_tui import demo_app

    app = demo_app("ready")
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        pane = app.query_one(OverlayPane)
        assert pane.border_title == "4 Overlay (VXLAN)"
        await wait_for(pilot, lambda: any(f.is_vxlan for f in app.state.overlay.buffer))
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await finish_action(app, pilot, timeout=90)
        await wait_for(pilot, lambda: pane.border_title == "4 Pod traffic (native, BGP mode)")
        pods = {p.ip: p.name for p in app.state.kube_state()[1] if p.ip}

        def native_pairs() -> list[VxlanFrame]:
            return [
                f for f in app.state.overlay.buffer
                if is_native(f) and f.inner_src in pods and f.inner_dst in pods
            ]  # fmt: skip

        await wait_for(pilot, native_pairs, timeout=60)
        frame = native_pairs()[-1]
        await wait_for(pilot, lambda: f"native on {frame.node}" in log_text(app))
        text = log_text(app)
        # a narrow pane: the capture point, then both pods by name with their addresses
        src, dst = pods[frame.inner_src].rsplit("-", 1)[1], pods[frame.inner_dst].rsplit("-", 1)[1]
        assert f"  {src}({frame.inner_src}) > {dst}({frame.inner_dst}) ICMP echo " in text
        await wait_for(pilot, lambda: "native " in counters_text(app))
        assert "not VXLAN" not in counters_text(app)
        assert pane.waiting_text() == "capturing on 5 nodes, no pod traffic yet"


def log_text(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(app.query_one("#frame-log").lines)


def counters_text(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.query_one("#overlay-counters").render())


async def test_a_narrow_screens_tabs_name_the_mode() -> None:
    """Below 120x34 one pane shows at a time under a row of tabs: the overlay's tab follows
    the mode too (the demo `ready-bgp` lab's mode is read after the screen is up)."""
    from tests.app.test_app_demo import loaded, wait_for
    from tests.app.test_bgp_tui import demo_app

    app = demo_app("ready-bgp")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app, pilot)

        def tabs() -> str:
            return str(app.query_one("#pane-tabs").render())

        await wait_for(pilot, lambda: app.state.calico_mode == "bgp")
        await wait_for(pilot, lambda: "4 Pod traffic (native, BGP mode)" in tabs())
        assert "Overlay (VXLAN)" not in tabs()
