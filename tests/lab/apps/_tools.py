"""What the application checks' lab tests share: waiting on a condition, reading a node's
iptables (as `iptables-save` prints it in the node's namespace), and `fabrictui verify
--json` and `fabrictui trace --json` run as a user types them, one check's verdict and
evidence printed for the log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests._lab_faults import namespace
from tests._paths import ROOT


def wait(condition: Callable[[], object], timeout: float = 30.0, what: str = "") -> float:
    """Seconds until `condition()` holds; fails the test after `timeout`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        time.sleep(0.2)
    return time.monotonic() - started


def iptables_save(lab_dir: Path, node: str, table: str, counters: bool = False) -> str:
    argv = ["ip", "netns", "exec", namespace(lab_dir, node), "iptables-save", "-t", table]
    if counters:
        argv.insert(-2, "-c")
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def verify_check(
    lab_dir: Path, check: str, label: str, times: dict[str, float]
) -> tuple[int, dict]:
    """`fabrictui verify --json -q --lab DIR`: its exit code and its checks by name; the
    command's time (and the check's own, from its evidence) go into `times`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "fabrictui.cli", "verify", "--json", "-q", "--lab", str(lab_dir)]
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=240, check=False)
    times[f"verify ({label})"] = time.monotonic() - started
    assert done.stdout, done.stderr
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    print(f"\n{label}: {check} {checks[check]['state']}: {checks[check]['cause']}")
    print("\n".join(f"  {line}" for line in checks[check]["evidence"]))
    seconds = [e for e in checks[check]["evidence"] if e.startswith("checked in ")]
    if seconds:
        times[f"check ({label})"] = float(seconds[0].split()[2])
    return done.returncode, checks


def trace_json(lab_dir: Path, src: str, to: str) -> tuple[int, dict, float]:
    """`fabrictui trace --json -q -c 1 --lab DIR --from SRC --to TO`: its exit code, its
    JSON and the seconds it took."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "fabrictui.cli", "trace", "--json", "-q", "-c", "1",
            "--lab", str(lab_dir), "--from", src, "--to", to]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    took = time.monotonic() - started
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout), took
