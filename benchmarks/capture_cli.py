"""`fabrictui capture --read FILE` end to end against `tcpdump -nne -r FILE`.

Writes a pcap of N (default 200,000) 148-byte Calico-style VXLAN ping frames
(the same capture as benchmarks/decode.py) and times, in the same run and
interleaved round by round (so a change in the machine's load hits every
command alike), the median of several runs of each whole command as a user
starts it, start-up included, stdout to /dev/null:

- `tcpdump -nne -r FILE` (two lines a frame: outer and inner headers);
- `fabrictui capture --read FILE` (one text line a frame);
- `fabrictui capture --read FILE --json` (one JSON object a frame).

`fabrictui` is the console script installed beside this Python (not a shell
shim in front of it), else `python -m fabrictui.cli`. Before timing, each
command's output is checked once: it shows every frame (VXLAN objects for
`--json`, lines that start with a time stamp otherwise). Beside the figures the
script prints the machine's own decode rate in the same run (`PcapStreamDecoder`
alone over the file, in-process, once a round), so that runs on different machines
can be compared.

`--busy-core` keeps one core busy with a spinning process for the whole
measurement (what another tenant's job does to a 2-core machine); it is stopped
at the end, also on failure.

    python benchmarks/capture_cli.py [--frames N] [--runs 7] [--busy-core] [--smoke] [--json]

Targets: text at least 1.2x tcpdump's frames/s, `--json` at least 1.0x.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from decode import write_capture  # benchmarks/decode.py: the same capture

from fabrictui.capture.pcap import PcapStreamDecoder

TARGET_TEXT = 1.2
TARGET_JSON = 1.0
CHUNK = 1 << 16


def fabrictui_argv() -> list[str]:
    script = Path(sys.executable).parent / "fabrictui"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "fabrictui.cli"]


# A line that starts a frame: its time stamp (tcpdump's second line of a VXLAN frame,
# the inner headers, starts with a MAC address; a few frames whose UDP source port
# tcpdump takes for another protocol get one line only).
FRAME_START = re.compile(rb"^\d\d:\d\d:\d\d\.\d{6} ", re.MULTILINE)


def commands(path: Path) -> dict[str, list[str]]:
    ours = fabrictui_argv()
    found = {
        "fabrictui text": [*ours, "capture", "--read", str(path)],
        "fabrictui --json": [*ours, "capture", "--read", str(path), "--json"],
    }
    if shutil.which("tcpdump"):
        found["tcpdump -nne -r"] = ["tcpdump", "-nne", "-r", str(path)]
    return found


def count_frames(argv: list[str]) -> int:
    """Frames in a command's output: JSON lines, or lines that start with a time stamp."""
    output = subprocess.run(argv, capture_output=True, check=False)
    if output.returncode != 0:
        raise SystemExit(f"{argv[0]} exited with {output.returncode}")
    if "--json" in argv:
        return sum(1 for line in output.stdout.splitlines() if json.loads(line)["is_vxlan"])
    return len(FRAME_START.findall(output.stdout))


def time_command(argv: list[str]) -> float:
    with open(os.devnull, "wb") as devnull:
        start = time.perf_counter()
        done = subprocess.run(argv, stdout=devnull, stderr=subprocess.DEVNULL, check=False)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} exited with {done.returncode}")
    return seconds


def decode_rate(path: Path, frames: int) -> float:
    """Frames/s of the decoder alone over the file (64 KiB reads), in this process."""
    decoder = PcapStreamDecoder()
    count = 0
    start = time.perf_counter()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            count += len(decoder.feed(chunk))
    decoder.finish()
    if count != frames:
        raise SystemExit(f"decoder: {count} frames, expected {frames}")
    return count / (time.perf_counter() - start)


# Spins until killed, or until this script is gone (its parent changes), so that even a
# benchmark killed half-way leaves no busy core behind. The first line names it.
SPINNER = """# fabrictui benchmark: one busy core
import os
parent = os.getppid()
while os.getppid() == parent:
    pass
"""


def start_spinner() -> subprocess.Popen[bytes]:
    """A process that keeps one core busy until killed."""
    return subprocess.Popen([sys.executable, "-c", SPINNER])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--busy-core", action="store_true", help="spin one core meanwhile")
    parser.add_argument("--smoke", action="store_true", help="2,000 frames, 1 run: does it work")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    frames, runs = (2_000, 1) if args.smoke else (args.frames, args.runs)

    load_start = os.getloadavg()[0]
    spinner = start_spinner() if args.busy_core else None
    try:
        with tempfile.TemporaryDirectory(prefix="ftc-bench-cli-") as tmp:
            path = Path(tmp) / "calico-vxlan.pcap"
            write_capture(path, frames)
            size = path.stat().st_size
            runs_of = commands(path)
            for name, command in runs_of.items():
                counted = count_frames(command)
                if counted != frames:
                    raise SystemExit(f"{name}: {counted} frames printed, expected {frames}")
            times: dict[str, list[float]] = {name: [] for name in runs_of}
            decoder_rates = []
            for _ in range(runs):  # round by round: load changes hit every command alike
                for name, command in runs_of.items():
                    times[name].append(time_command(command))
                decoder_rates.append(decode_rate(path, frames))
            decoder_rate = statistics.median(decoder_rates)
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    load_end = os.getloadavg()[0]

    results = {
        name: {
            "seconds": statistics.median(ts),
            "frames_per_s": frames / statistics.median(ts),
            "all_seconds": [round(t, 4) for t in ts],
        }
        for name, ts in times.items()
    }
    peer = results.get("tcpdump -nne -r")
    ratios = {}
    if peer is not None:
        for name in ("fabrictui text", "fabrictui --json"):
            ratios[name] = results[name]["frames_per_s"] / peer["frames_per_s"]
    checks = {
        "text_vs_tcpdump": ratios.get("fabrictui text", 0.0) >= TARGET_TEXT,
        "json_vs_tcpdump": ratios.get("fabrictui --json", 0.0) >= TARGET_JSON,
    }
    report = {
        "frames": frames,
        "runs": runs,
        "pcap_bytes": size,
        "busy_core": args.busy_core,
        "decoder_alone_frames_per_s": decoder_rate,
        "results": results,
        "ratio_to_tcpdump": ratios,
        "targets": {"text": TARGET_TEXT, "json": TARGET_JSON},
        "targets_met": checks if not args.smoke else None,
        "missing": [] if peer is not None else ["tcpdump"],
        "command": fabrictui_argv(),
        "load_1min": [round(load_start, 2), round(load_end, 2)],
        "python": sys.version.split()[0],
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        busy = ", one core kept busy" if args.busy_core else ""
        print(f"{frames:,} frames of 148 bytes, median of {runs} run(s){busy}")
        print(f"decoder alone on this machine: {decoder_rate:,.0f} frames/s")
        print(f"{'command':22} {'frames/s':>12} {'seconds':>9} {'vs tcpdump':>11}")
        for name, r in results.items():
            ratio = ratios.get(name)
            ratio_text = f"{ratio:.2f}x" if ratio is not None else "-"
            print(f"{name:22} {r['frames_per_s']:>12,.0f} {r['seconds']:>9.3f} {ratio_text:>11}")
        if peer is None:
            print("tcpdump is not installed: no peer measured")
        print(f"load average (1 min): {load_start:.2f} -> {load_end:.2f}")
        if not args.smoke:
            verdict = (
                "met"
                if all(checks.values())
                else "NOT met: " + ", ".join(k for k, ok in checks.items() if not ok)
            )
            print(f"targets (text >= {TARGET_TEXT}x, --json >= {TARGET_JSON}x tcpdump): {verdict}")
    if args.smoke:
        return 0
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
