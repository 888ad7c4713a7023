"""What a benchmark says about the machine it ran on, measured in the same run,
so that a reader can tell a slow machine from a slow program: the CPU, the
load, and the decoder's own rate (as `decode.py` measures it: the pcap read
from a pipe into `PcapStreamDecoder`, median of several runs).

`busy_core()` keeps one core busy with another process for the length of a
run (`--busy-core`), as on a jump host shared with others.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import decode  # benchmarks/decode.py, next to this file


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def machine() -> dict:
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "load_1min": round(os.getloadavg()[0], 2),
        "python": sys.version.split()[0],
    }


def decoder_rate(frames: int = 100_000, runs: int = 3) -> float:
    """Frames/s of the decoder alone on this machine, now."""
    with tempfile.TemporaryDirectory(prefix="ftc-bench-") as tmp:
        path = Path(tmp) / "calico-vxlan.pcap"
        decode.write_capture(path, frames)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            count, _ = decode.fabrictui_pipe(path)
            times.append(time.perf_counter() - start)
            if count != frames:
                raise SystemExit(f"decoder: {count} frames, expected {frames}")
    return frames / statistics.median(times)


@contextlib.contextmanager
def busy_core(on: bool = True) -> Iterator[None]:
    """Another process spinning on one core while the block runs (removed even on error)."""
    if not on:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (0.0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_rss_mb(pid: int | str = "self") -> float:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except OSError:
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
