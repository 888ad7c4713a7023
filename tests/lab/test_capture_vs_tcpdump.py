"""fabrictui's decoder against tcpdump's own decoding of a REAL capture.

The live test builds two Calico-style nodes in network namespaces (ftc-n1 =
k8s-node-l2-1, ftc-n2 = k8s-node-l1-2, joined by a veth), each with a
`vxlan.calico` device (VNI 4096, port 4789, Calico's VTEP MAC), a pod namespace
(ftc-p1 10.68.86.129, ftc-p2 10.65.76.193) on a veth with proxy ARP, remote
pod blocks routed `via <tunnel ip> dev vxlan.calico onlink` with neighbour and
FDB entries as Felix programs them. It pings pod to pod, captures with
`tcpdump -i eth0 -U -w` in the sender node (and `-i any`, LINUX_SLL2) and
compares fabrictui's decoding field by field with `tcpdump -nne -r`.
Every address exists only inside those namespaces; they are deleted on teardown.

The offline test does the same comparison on the capture kept in tests/data,
without root or tcpdump. The live test rewrites that pair (pcap + tcpdump text)
when run with FABRICTUI_REGENERATE_FIXTURES=1.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrictui.capture.pcap import PcapStreamDecoder, decode_pcap_bytes
from fabrictui.capture.synth import calico_vtep_mac
from fabrictui.model import VxlanFrame
from tests._paths import TEST_DATA
from tests._require import require

DATA = TEST_DATA
FIXTURE_PCAP = DATA / "calico-vxlan-ping.pcap"
FIXTURE_TEXT = DATA / "calico-vxlan-ping.tcpdump.txt"

N1, N2, P1, P2 = "ftc-n1", "ftc-n2", "ftc-p1", "ftc-p2"
NODE1 = {"name": "k8s-node-l2-1", "ip": "10.0.102.101", "mac": "08:00:27:53:73:c7",
         "net": "10.0.102.0/24", "tunnel": "10.68.86.128", "block": "10.68.86.128/26",
         "pod": "10.68.86.129", "ns": N1, "pod_ns": P1}  # fmt: skip
NODE2 = {"name": "k8s-node-l1-2", "ip": "10.0.101.102", "mac": "08:00:27:91:d4:66",
         "net": "10.0.101.0/24", "tunnel": "10.65.76.192", "block": "10.65.76.192/26",
         "pod": "10.65.76.193", "ns": N2, "pod_ns": P2}  # fmt: skip

# tcpdump -tt -nne -r FILE -T vxlan (4.9 and 4.99 print VXLAN the same way)
_OUTER = re.compile(
    r"^(?P<time>\d+\.\d{6}) (?P<smac>[0-9a-f:]{17}) > (?P<dmac>[0-9a-f:]{17}), "
    r"ethertype IPv4 \(0x0800\), length (?P<len>\d+): "
    r"(?P<src>[\d.]+)\.(?P<sport>\d+) > (?P<dst>[\d.]+)\.(?P<dport>\d+): "
    r"VXLAN, flags \[(?P<flagnames>[A-Z]*)\] \(0x(?P<flags>[0-9a-f]{2})\), vni (?P<vni>\d+)$"
)
# the same from `-i any` (LINUX_SLL2): "eth0 Out ifindex 2 08:00:27:53:73:c7 ethertype ..."
_OUTER_SLL2 = re.compile(
    r"^(?P<time>\d+\.\d{6}) (?P<ifname>\S+) +(?P<dir>In|Out|B|M|P) +ifindex \d+ "
    r"(?P<smac>[0-9a-f:]{17}) ethertype IPv4 \(0x0800\), length (?P<len>\d+): "
    r"(?P<src>[\d.]+)\.(?P<sport>\d+) > (?P<dst>[\d.]+)\.(?P<dport>\d+): "
    r"VXLAN, flags \[(?P<flagnames>[A-Z]*)\] \(0x(?P<flags>[0-9a-f]{2})\), vni (?P<vni>\d+)$"
)
_INNER = re.compile(
    r"^(?P<smac>[0-9a-f:]{17}) > (?P<dmac>[0-9a-f:]{17}), ethertype IPv4 \(0x0800\), "
    r"length (?P<len>\d+): (?P<src>[\d.]+) > (?P<dst>[\d.]+): "
    r"ICMP echo (?P<kind>request|reply), id (?P<id>\d+), seq (?P<seq>\d+), length \d+$"
)


_INNER_ANY = re.compile(
    r"^(?P<smac>[0-9a-f:]{17}) > (?P<dmac>[0-9a-f:]{17}), ethertype IPv4 \(0x0800\), "
    r"length (?P<len>\d+): (?P<rest>.*)$"
)
_UDP_TCP = re.compile(
    r"^(?P<src>[\d.]+)\.(?P<sport>\d+) > (?P<dst>[\d.]+)\.(?P<dport>\d+): "
    r"(?P<what>UDP, length \d+|VXLAN.*|Flags \[[^\]]*\].*)$"
)  # with -T vxlan tcpdump reads every UDP payload as VXLAN: "VXLAN (invalid)" is UDP
_ICMP_OTHER = re.compile(r"^(?P<src>[\d.]+) > (?P<dst>[\d.]+): ICMP .* unreachable, length \d+$")


def parse_tcpdump_mixed(text: str) -> list[dict[str, object]]:
    """Like parse_tcpdump, for inner UDP, TCP and ICMP unreachable frames."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    out = []
    for outer_line, inner_line in zip(lines[::2], lines[1::2], strict=True):
        o = _OUTER.match(outer_line)
        i = _INNER_ANY.match(inner_line)
        assert o, outer_line
        assert i, inner_line
        row: dict[str, object] = {
            "time_text": o["time"],
            "udp_src": int(o["sport"]),
            "vni": int(o["vni"]),
            "length": int(o["len"]),
            "inner_src_mac": i["smac"],
            "inner_dst_mac": i["dmac"],
            "inner_length": int(i["len"]),
        }
        if m := _UDP_TCP.match(i["rest"]):
            row.update(
                inner_src=m["src"],
                inner_dst=m["dst"],
                inner_sport=int(m["sport"]),
                inner_dport=int(m["dport"]),
                proto="TCP" if m["what"].startswith("Flags") else "UDP",
                icmp_type=None,
            )
        elif m := _ICMP_OTHER.match(i["rest"]):
            row.update(inner_src=m["src"], inner_dst=m["dst"], proto="ICMP", icmp_type=3)
            row.update(icmp_id=None, icmp_seq=None, inner_sport=None)
        else:
            row["unparsed"] = i["rest"]
        out.append(row)
    return out


def parse_tcpdump(text: str, sll2: bool = False) -> list[dict[str, object]]:
    """tcpdump's two lines per VXLAN frame -> the VxlanFrame fields they show."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert len(lines) % 2 == 0, text
    out = []
    for outer_line, inner_line in zip(lines[::2], lines[1::2], strict=True):
        o = (_OUTER_SLL2 if sll2 else _OUTER).match(outer_line)
        i = _INNER.match(inner_line)
        assert o, outer_line
        assert i, inner_line
        row: dict[str, object] = {
            "time_text": o["time"],
            "outer_src_mac": o["smac"],
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
        if not sll2:
            row["outer_dst_mac"] = o["dmac"]
        out.append(row)
    return out


def assert_same(frames: list[VxlanFrame], expected: list[dict[str, object]]) -> None:
    assert len(frames) == len(expected)
    for frame, exp in zip(frames, expected, strict=True):
        assert frame.is_vxlan and frame.note == "", frame
        assert f"{frame.time:.6f}" == exp["time_text"]
        for key, value in exp.items():
            if key != "time_text":
                assert getattr(frame, key) == value, (key, frame)


# -- offline: the kept capture ---------------------------------------------------------


def test_kept_real_capture_matches_kept_tcpdump_text() -> None:
    frames = decode_pcap_bytes(FIXTURE_PCAP.read_bytes())
    expected = parse_tcpdump(FIXTURE_TEXT.read_text())
    assert len(frames) == 6
    assert_same(frames, expected)
    # what a Calico node sends: VTEP MACs from the node names, VNI 4096, 148/98 bytes
    request = frames[0]
    assert request.inner_src_mac == calico_vtep_mac("k8s-node-l2-1")
    assert request.inner_dst_mac == calico_vtep_mac("k8s-node-l1-2")
    assert (request.vni, request.length, request.inner_length) == (4096, 148, 98)
    assert [f.icmp_type for f in frames] == [8, 0] * 3


# -- live: namespaces, kernel VXLAN, tcpdump -------------------------------------------


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: {result.stderr.strip()}")
    return result


def in_ns(ns: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", ns, *argv, check=check)


def delete_namespaces() -> None:
    existing = sh("ip", "netns", "list", check=False).stdout.split()
    for ns in (P1, P2, N1, N2):
        if ns in existing:
            sh("ip", "netns", "del", ns, check=False)


def build_node(node: dict[str, str], peer: dict[str, str]) -> None:
    ns, pod_ns = node["ns"], node["pod_ns"]
    in_ns(ns, "ip", "link", "set", "lo", "up")
    in_ns(ns, "ip", "link", "set", "eth0", "address", node["mac"])
    in_ns(ns, "ip", "addr", "add", f"{node['ip']}/24", "dev", "eth0")
    in_ns(ns, "ip", "link", "set", "eth0", "up")
    in_ns(ns, "ip", "route", "add", peer["net"], "dev", "eth0")
    in_ns(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    # vxlan.calico as Felix creates it
    in_ns(ns, "ip", "link", "add", "vxlan.calico", "type", "vxlan", "id", "4096",
          "dstport", "4789", "dev", "eth0", "local", node["ip"], "nolearning")  # fmt: skip
    in_ns(ns, "ip", "link", "set", "vxlan.calico", "address", calico_vtep_mac(node["name"]))
    in_ns(ns, "ip", "link", "set", "vxlan.calico", "mtu", "1450", "up")
    in_ns(ns, "ip", "addr", "add", f"{node['tunnel']}/32", "dev", "vxlan.calico")
    peer_vtep = calico_vtep_mac(peer["name"])
    in_ns(ns, "ip", "neigh", "replace", peer["tunnel"], "lladdr", peer_vtep,
          "dev", "vxlan.calico", "nud", "permanent")  # fmt: skip
    in_ns(ns, "bridge", "fdb", "replace", peer_vtep, "dev", "vxlan.calico", "dst", peer["ip"])
    in_ns(ns, "ip", "route", "add", peer["block"], "via", peer["tunnel"],
          "dev", "vxlan.calico", "onlink")  # fmt: skip
    # the pod: a veth (caliXXXX on the node side, proxy ARP for 169.254.1.1)
    in_ns(ns, "ip", "link", "add", "calipod", "type", "veth", "peer", "name", "eth0",
          "netns", pod_ns)  # fmt: skip
    in_ns(ns, "ip", "link", "set", "calipod", "address", "ee:ee:ee:ee:ee:ee", "up")
    in_ns(ns, "sysctl", "-qw", "net.ipv4.conf.calipod.proxy_arp=1")
    in_ns(ns, "ip", "route", "add", f"{node['pod']}/32", "dev", "calipod")
    in_ns(pod_ns, "ip", "link", "set", "lo", "up")
    in_ns(pod_ns, "ip", "addr", "add", f"{node['pod']}/32", "dev", "eth0")
    in_ns(pod_ns, "ip", "link", "set", "eth0", "mtu", "1450", "up")
    in_ns(pod_ns, "ip", "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
    in_ns(pod_ns, "ip", "route", "add", "default", "via", "169.254.1.1", "dev", "eth0")
    # Calico answers for 169.254.1.1 by proxy ARP through the host's default route;
    # these nodes have no default route, so the pod gets the answer statically.
    in_ns(pod_ns, "ip", "neigh", "replace", "169.254.1.1", "lladdr", "ee:ee:ee:ee:ee:ee",
          "dev", "eth0", "nud", "permanent")  # fmt: skip


@pytest.fixture
def calico_overlay() -> Iterator[None]:
    require(os.geteuid() == 0, "needs root for network namespaces")
    for tool in ("ip", "bridge", "tcpdump", "ping", "sysctl"):
        require(tool)
    delete_namespaces()
    try:
        for ns in (N1, N2, P1, P2):
            sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", "eth0", "netns", N1, "type", "veth", "peer", "eth0", "netns", N2)
        build_node(NODE1, NODE2)
        build_node(NODE2, NODE1)
        yield
    finally:
        delete_namespaces()


def start_tcpdump(path: Path, interface: str, count: int = 6) -> subprocess.Popen[str]:
    """tcpdump in the sender node, stopping by itself after `count` frames; returns
    once it listens (it says so on stderr)."""
    proc = subprocess.Popen(
        ["ip", "netns", "exec", N1, "tcpdump", "-i", interface, "-U", "-n", "-Z", "root",
         "-c", str(count), "-w", str(path), "udp", "port", "4789"],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # "data link type LINUX_SLL2" may come first
        seen.append(line)
        if "listening on" in line:
            return proc
    proc.wait()
    raise AssertionError("tcpdump did not start: " + "".join(seen))


def tcpdump_text(path: Path) -> str:
    return sh("tcpdump", "-tt", "-nne", "-T", "vxlan", "-r", str(path)).stdout


def test_real_calico_vxlan_capture_matches_tcpdump(calico_overlay: None, tmp_path: Path) -> None:
    eth0 = tmp_path / "eth0.pcap"
    anyif = tmp_path / "any.pcap"
    procs: list[subprocess.Popen[str]] = []
    try:
        procs.append(start_tcpdump(eth0, "eth0"))
        procs.append(start_tcpdump(anyif, "any"))
        ping = in_ns(P1, "ping", "-c", "3", "-i", "0.2", "-W", "2", NODE2["pod"], check=False)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        assert "ttl=62" in ping.stdout  # two forwarding hops, as in the seed
        for proc in procs:
            assert proc.wait(timeout=20) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    # Ethernet (linktype 1): every field tcpdump prints
    text = tcpdump_text(eth0)
    expected = parse_tcpdump(text)
    assert len(expected) == 6
    data = eth0.read_bytes()
    frames = decode_pcap_bytes(data)
    assert_same(frames, expected)
    assert_same(decode_pcap_bytes(data, fast_path=False), expected)
    # fed in small pieces, as a live stream arrives
    decoder = PcapStreamDecoder()
    pieces = [f for i in range(0, len(data), 61) for f in decoder.feed(data[i : i + 61])]
    decoder.finish()
    assert pieces == frames
    # what Calico's data plane put on the wire
    assert frames[0].outer_src == NODE1["ip"] and frames[0].inner_src == NODE1["pod"]
    assert frames[0].inner_src_mac == calico_vtep_mac(NODE1["name"])
    assert (frames[0].length, frames[0].inner_length, frames[0].flags) == (148, 98, 0x08)

    # the CLI's JSON carries the same
    cli = subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", "capture", "--read", str(eth0), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    rows = [json.loads(line) for line in cli.stdout.splitlines()]
    assert [VxlanFrame(**row) for row in rows] == frames

    # -i any (LINUX_SLL2 with libpcap 1.10+, LINUX_SLL before): same frames
    any_frames = decode_pcap_bytes(anyif.read_bytes())
    linktype = PcapStreamDecoder()
    linktype.feed(anyif.read_bytes()[:24])
    if linktype.linktype == 276:
        assert_same(any_frames, parse_tcpdump(tcpdump_text(anyif), sll2=True))
    assert [f._replace(time=0, length=0, outer_dst_mac="") for f in any_frames] == [
        f._replace(time=0, length=0, outer_dst_mac="") for f in frames
    ]

    if os.environ.get("FABRICTUI_REGENERATE_FIXTURES") == "1":
        FIXTURE_PCAP.write_bytes(data)
        FIXTURE_TEXT.write_text(text)


POKE = """
import socket, sys
target = sys.argv[1]
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("0.0.0.0", 40001))
udp.sendto(b"hello", (target, 9999))  # answered by ICMP port unreachable
udp.settimeout(2)
try:
    udp.recv(100)
except OSError:
    pass
tcp = socket.socket()
tcp.bind(("0.0.0.0", 40002))
tcp.settimeout(5)
try:
    tcp.connect((target, 9998))  # answered by RST
except OSError:
    pass
"""


def test_real_udp_tcp_and_unreachable_frames_match_tcpdump(
    calico_overlay: None, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.pcap"
    proc = start_tcpdump(path, "eth0", count=4)
    try:
        poke = in_ns(P1, sys.executable, "-c", POKE, NODE2["pod"], check=False)
        assert poke.returncode == 0, poke.stderr
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    expected = parse_tcpdump_mixed(tcpdump_text(path))
    assert [row.get("proto") for row in expected] == ["UDP", "ICMP", "TCP", "TCP"], expected
    frames = decode_pcap_bytes(path.read_bytes())
    assert_same(frames, expected)
    assert (frames[0].inner_sport, frames[0].inner_dport) == (40001, 9999)
    assert (frames[2].inner_sport, frames[2].inner_dport) == (40002, 9998)
    assert (frames[3].inner_sport, frames[3].inner_dport) == (9998, 40002)
