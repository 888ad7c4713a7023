"""Decoding speed: Calico VXLAN ICMP frames from a pcap, fabrictui vs its peers.

Writes a pcap of N (default 200,000) 148-byte Calico-style VXLAN ping frames
(several node pairs and pods, made with fabrictui.capture.synth) to a temporary
directory, then times, in the same run, the median of several runs of:

- fabrictui: the pcap byte stream read from a pipe (`cat FILE |`) in 1 MiB
  chunks into `PcapStreamDecoder`, every frame a full `VxlanFrame` (the fields
  `fabrictui capture --json` prints); also from the file directly (64 KiB
  reads, as `fabrictui capture --read FILE` does) and with the generic path only;
- dpkt: `dpkt.pcap.Reader` + Ethernet/IP/UDP, the VXLAN header by hand, inner
  Ethernet/IP/ICMP, producing the same fields as strings/ints;
- tshark: `tshark -r FILE -T fields -e ...` with the same fields, wall time
  including its start-up;
- tcpdump: `tcpdump -nne -r FILE -T vxlan` (text only: a reference line).

Each decoder's frame count is checked; dpkt's fields are compared with
fabrictui's for the first frames.

With `--native`, also the same echoes as Calico's BGP mode carries them (plain
Ethernet/IPv4/ICMP, 98 bytes, no encapsulation) through fabrictui's pipe: the
fast path handles VXLAN only, so these take the generic decoder (`native` in
the report, beside the VXLAN fast path of the same run: the machine's rate).

    python benchmarks/decode.py [--frames N] [--runs 5] [--smoke] [--json] [--native]

Targets: fabrictui >= 400k frames/s, >= 5x tshark and >= 5x dpkt.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fabrictui.capture.pcap import PcapStreamDecoder
from fabrictui.capture.synth import (
    build_vxlan_icmp_frame,
    calico_vtep_mac,
    ethernet_header,
    icmp_echo,
    ipv4_header,
    pcap_global_header,
    pcap_record,
    ping_payload,
)
from fabrictui.model import VxlanFrame, is_native

TARGET_RATE = 400_000
# Below this the native (BGP mode) decode would want a fast path of its own.
NATIVE_FLOOR = 150_000
TARGET_RATIO = 5.0
CHUNK = 1 << 16  # what a pipe delivers per read; also the CLI's file chunk

# the lab's four workers, their eth0 and one pod each (LAB.md)
NODES = [
    ("k8s-node-l1-1", "10.0.101.101", "08:00:27:00:01:01", "10.67.209.2"),
    ("k8s-node-l1-2", "10.0.101.102", "08:00:27:91:d4:66", "10.65.76.193"),
    ("k8s-node-l2-1", "10.0.102.101", "08:00:27:53:73:c7", "10.68.86.129"),
    ("k8s-node-l2-2", "10.0.102.102", "08:00:27:00:02:02", "10.76.172.132"),
]

TSHARK_FIELDS = [
    "frame.time_epoch",
    "eth.src",
    "eth.dst",
    "ip.src",
    "ip.dst",
    "udp.srcport",
    "udp.dstport",
    "vxlan.flags",
    "vxlan.vni",
    "icmp.type",
    "icmp.ident",
    "icmp.seq",
    "frame.len",
]


def write_capture(path: Path, count: int) -> None:
    """`count` frames: echo requests and replies between every ordered pair of pods."""
    pairs = [(a, b) for a in NODES for b in NODES if a is not b]
    with path.open("wb") as out:
        out.write(pcap_global_header())
        t = 1573462632.688881
        batch: list[bytes] = []
        for i in range(count):
            src, dst = pairs[(i // 2) % len(pairs)]
            if i % 2:  # the reply travels back
                src, dst = dst, src
            frame = build_vxlan_icmp_frame(
                outer_src_mac=src[2],
                outer_dst_mac=dst[2],
                outer_src=src[1],
                outer_dst=dst[1],
                udp_src=32768 + (i // 2) % 28000,
                vni=4096,
                inner_src_mac=calico_vtep_mac(src[0]),
                inner_dst_mac=calico_vtep_mac(dst[0]),
                inner_src=src[3],
                inner_dst=dst[3],
                icmp_type=0 if i % 2 else 8,
                icmp_id=592 + (i // 2) % len(pairs),
                icmp_seq=(i // 2) % 65536,
            )
            batch.append(pcap_record(t + i * 1e-4, frame))
            if len(batch) == 10_000:
                out.write(b"".join(batch))
                batch.clear()
        out.write(b"".join(batch))


def write_native_capture(path: Path, count: int) -> None:
    """The same echoes as `write_capture`, as they cross a node's eth0 in BGP mode."""
    pairs = [(a, b) for a in NODES for b in NODES if a is not b]
    payload = ping_payload(56)
    with path.open("wb") as out:
        out.write(pcap_global_header())
        t = 1573462632.688881
        batch: list[bytes] = []
        for i in range(count):
            src, dst = pairs[(i // 2) % len(pairs)]
            if i % 2:
                src, dst = dst, src
            icmp = icmp_echo(
                0 if i % 2 else 8, 592 + (i // 2) % len(pairs), i // 2 % 65536, payload
            )
            frame = (
                ethernet_header("44:38:39:00:00:01", src[2])
                + ipv4_header(src[3], dst[3], 1, len(icmp), ttl=63, ident=i % 65536)
                + icmp
            )
            batch.append(pcap_record(t + i * 1e-4, frame))
            if len(batch) == 10_000:
                out.write(b"".join(batch))
                batch.clear()
        out.write(b"".join(batch))


# -- the decoders -----------------------------------------------------------------------


def fabrictui_pipe(path: Path, fast_path: bool = True) -> tuple[int, list[tuple[object, ...]]]:
    """Read the pcap through a pipe, as `tcpdump -U -w - | fabrictui capture -r -` would."""
    proc = subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    decoder = PcapStreamDecoder(fast_path=fast_path)
    count = 0
    first: list[tuple[object, ...]] = []
    while True:
        chunk = os.read(fd, CHUNK)
        if not chunk:
            break
        frames = decoder.feed(chunk)
        if not first:
            first = [tuple(f) for f in frames[:100]]
        count += len(frames)
    decoder.finish()
    proc.wait()
    return count, first


def fabrictui_file(path: Path) -> tuple[int, list[tuple[object, ...]]]:
    decoder = PcapStreamDecoder()
    count = 0
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            count += len(decoder.feed(chunk))
    decoder.finish()
    return count, []


def dpkt_decode(path: Path) -> tuple[int, list[tuple[object, ...]]]:
    import dpkt
    from dpkt.utils import mac_to_str

    ntoa = socket.inet_ntoa
    Ethernet = dpkt.ethernet.Ethernet
    UDP = dpkt.udp.UDP
    count = 0
    first: list[tuple[object, ...]] = []
    with path.open("rb") as stream:
        for ts, buf in dpkt.pcap.Reader(stream):
            eth = Ethernet(buf)
            ip = eth.data
            udp = ip.data
            if not isinstance(udp, UDP) or udp.dport != 4789:
                continue
            vx = udp.data
            flags = vx[0]
            vni = int.from_bytes(vx[4:7], "big")
            inner = Ethernet(vx[8:])
            iip = inner.data
            icmp = iip.data
            echo = icmp.data
            row = (
                ts, mac_to_str(eth.src), mac_to_str(eth.dst), ntoa(ip.src), ntoa(ip.dst),
                udp.sport, udp.dport, vni, flags, mac_to_str(inner.src), mac_to_str(inner.dst),
                ntoa(iip.src), ntoa(iip.dst), "ICMP", icmp.type, echo.id, echo.seq, len(buf),
                udp.ulen - 16,
            )  # fmt: skip
            if count < 100:
                first.append(row)
            count += 1
    return count, first


def _count_lines(argv: list[str]) -> int:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    lines = 0
    while chunk := proc.stdout.read(CHUNK):
        lines += chunk.count(b"\n")
    if proc.wait() != 0:
        raise RuntimeError(f"{argv[0]} exited with {proc.returncode}")
    return lines


def tshark_decode(path: Path) -> tuple[int, list[tuple[object, ...]]]:
    argv = ["tshark", "-n", "-r", str(path), "-T", "fields"]
    for field in TSHARK_FIELDS:
        argv += ["-e", field]
    return _count_lines(argv), []


def tcpdump_decode(path: Path) -> tuple[int, list[tuple[object, ...]]]:
    lines = _count_lines(["tcpdump", "-nne", "-r", str(path), "-T", "vxlan"])
    return lines // 2, []  # two lines per VXLAN frame


# -- measuring --------------------------------------------------------------------------


def measure(
    fn: Callable[[Path], tuple[int, list[tuple[object, ...]]]], path: Path, frames: int, runs: int
) -> tuple[float, list[tuple[object, ...]]]:
    times = []
    first: list[tuple[object, ...]] = []
    for _ in range(runs):
        start = time.perf_counter()
        count, sample = fn(path)
        times.append(time.perf_counter() - start)
        if count != frames:
            raise SystemExit(f"{fn.__name__}: decoded {count} frames, expected {frames}")
        first = sample or first
    return statistics.median(times), first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="2,000 frames, 1 run: does it work")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--native", action="store_true", help="also BGP mode's plain IP echoes (generic path)"
    )
    args = parser.parse_args(argv)
    frames, runs = (2_000, 1) if args.smoke else (args.frames, args.runs)

    peers: list[tuple[str, Callable[[Path], tuple[int, list[tuple[object, ...]]]]]] = [
        ("fabrictui (pipe)", fabrictui_pipe),
        ("fabrictui (file)", fabrictui_file),
        ("fabrictui generic path (pipe)", lambda p: fabrictui_pipe(p, fast_path=False)),
    ]
    missing = []
    try:
        import dpkt  # noqa: F401

        peers.append(("dpkt", dpkt_decode))
    except ImportError:
        missing.append("dpkt")
    for tool, fn in (("tshark", tshark_decode), ("tcpdump", tcpdump_decode)):
        if shutil.which(tool):
            peers.append((tool if tool != "tcpdump" else "tcpdump -nne (text, reference)", fn))
        else:
            missing.append(tool)

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="ftc-bench-") as tmp:
        path = Path(tmp) / "calico-vxlan.pcap"
        start = time.perf_counter()
        write_capture(path, frames)
        generated = time.perf_counter() - start
        samples: dict[str, list[tuple[object, ...]]] = {}
        for name, fn in peers:
            seconds, sample = measure(fn, path, frames, runs)
            results[name] = {"seconds": seconds, "frames_per_s": frames / seconds}
            if sample:
                samples[name] = sample
        size = path.stat().st_size
        native: dict[str, float] | None = None
        if args.native:
            native_path = Path(tmp) / "calico-bgp.pcap"
            write_native_capture(native_path, frames)
            seconds, sample = measure(fabrictui_pipe, native_path, frames, runs)
            if not sample or not all(is_native(VxlanFrame(*row)) for row in sample):
                raise SystemExit("the native capture did not decode to native frames")
            vxlan_rate = results["fabrictui (pipe)"]["frames_per_s"]
            native = {
                "seconds": seconds,
                "frames_per_s": frames / seconds,
                "frame_bytes": 98,
                "vs_vxlan_fast_path": frames / seconds / vxlan_rate,
                "floor_frames_per_s": NATIVE_FLOOR,
            }

    ours = samples.get("fabrictui (pipe)", [])
    if "dpkt" in samples:  # same fields, same values (dpkt's time is its own float)
        for a, b in zip(ours, samples["dpkt"], strict=True):
            if a[1:19] != b[1:] or abs(float(a[0]) - float(b[0])) > 1e-6:  # type: ignore[arg-type]
                raise SystemExit(f"fabrictui and dpkt disagree:\n{a}\n{b}")

    rate = results["fabrictui (pipe)"]["frames_per_s"]
    ratios = {
        name: rate / r["frames_per_s"] for name, r in results.items() if name != "fabrictui (pipe)"
    }
    checks = {
        "rate": rate >= TARGET_RATE,
        "vs_tshark": ratios.get("tshark", TARGET_RATIO) >= TARGET_RATIO,
        "vs_dpkt": ratios.get("dpkt", TARGET_RATIO) >= TARGET_RATIO,
    }
    report = {
        "frames": frames,
        "runs": runs,
        "frame_bytes": 148,
        "pcap_bytes": size,
        "generate_s": round(generated, 2),
        "results": results,
        "ratio_fabrictui_to": ratios,
        "targets": {"frames_per_s": TARGET_RATE, "ratio": TARGET_RATIO},
        "targets_met": checks if not args.smoke else None,
        "missing": missing,
        "python": sys.version.split()[0],
        "native": native,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{frames:,} frames of 148 bytes, median of {runs} run(s)")
        print(f"{'decoder':34} {'frames/s':>12} {'seconds':>9} {'fabrictui/peer':>15}")
        for name, r in results.items():
            ratio = ratios.get(name)
            ratio_text = f"{ratio:.1f}x" if ratio is not None else "-"
            print(f"{name:34} {r['frames_per_s']:>12,.0f} {r['seconds']:>9.3f} {ratio_text:>15}")
        if native is not None:
            name = "fabrictui native echo (pipe)"
            print(
                f"{name:34} {native['frames_per_s']:>12,.0f} {native['seconds']:>9.3f} "
                f"{native['vs_vxlan_fast_path']:>14.2f}x of the VXLAN fast path"
            )
            if native["frames_per_s"] < NATIVE_FLOOR:
                print(f"native decode below {NATIVE_FLOOR:,}/s: a fast path of its own would help")
        if missing:
            print("not measured (not installed): " + ", ".join(missing))
        if not args.smoke:
            verdict = (
                "met"
                if all(checks.values())
                else "NOT met: " + ", ".join(k for k, ok in checks.items() if not ok)
            )
            print(
                f"targets (>= {TARGET_RATE:,}/s, >= {TARGET_RATIO:.0f}x tshark and dpkt): {verdict}"
            )
    if args.smoke:
        return 0
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
