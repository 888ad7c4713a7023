"""Start-up: `fabrictui --version` and the first frame of `fabrictui --demo`,
each the real command started as a user would (medians of several runs).

The first frame is the moment the DEMO badge has been written to the
terminal: the app runs in a pseudo-terminal of 80x24 and we read its output.

    python benchmarks/startup.py [--runs 7] [--smoke] [--json]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import shutil
import statistics
import struct
import subprocess
import sys
import termios
import time

TARGET_VERSION_S = 0.3
TARGET_FIRST_FRAME_S = 1.5


def fabrictui_argv() -> list[str]:
    exe = shutil.which("fabrictui")
    return [exe] if exe else [sys.executable, "-m", "fabrictui.cli"]


def time_version() -> float:
    start = time.perf_counter()
    subprocess.run([*fabrictui_argv(), "--version"], check=True, capture_output=True)
    return time.perf_counter() - start


def time_first_frame(marker: bytes = b"DEMO", timeout: float = 20.0) -> float:
    pid, fd = pty.fork()
    if pid == 0:  # child: become the app
        os.environ["TERM"] = "xterm-256color"
        argv = fabrictui_argv()
        os.execv(argv[0], [*argv, "--demo"])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    start = time.perf_counter()
    seen = b""
    try:
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break
                if marker in seen:
                    return time.perf_counter() - start
        raise SystemExit(f"no first frame within {timeout}s; output: {seen[-300:]!r}")
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="one run each, just check it works")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = 1 if args.smoke else args.runs
    time_version()  # warm the file cache, as a user's second start would be
    versions = [time_version() for _ in range(runs)]
    frames = [time_first_frame() for _ in range(runs)]
    result = {
        "runs": runs,
        "version_median_s": statistics.median(versions),
        "first_frame_median_s": statistics.median(frames),
        "version_target_s": TARGET_VERSION_S,
        "first_frame_target_s": TARGET_FIRST_FRAME_S,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{'measure':<28}{'median':>10}{'target':>10}")
        version = result["version_median_s"]
        print(f"{'fabrictui --version':<28}{version:>9.3f}s{TARGET_VERSION_S:>9.1f}s")
        print(
            f"{'first frame of --demo':<28}{result['first_frame_median_s']:>9.3f}s"
            f"{TARGET_FIRST_FRAME_S:>9.1f}s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
