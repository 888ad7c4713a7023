"""benchmarks/trace.py in its smoke mode on the demo lab: it runs, every trace is delivered,
and it reports every phase and the capture spread (no speed is asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests._bench import documented_keys
from tests._paths import ROOT


def test_trace_benchmark_smoke() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "trace.py"), "--demo", "--smoke", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert sorted(report) == documented_keys()["trace.py"], "say so in benchmarks/README.md"
    assert report["delivered"] == report["runs"] == 2
    assert report["points"] == 16  # both spines' ports, both ways
    assert set(report["phases_s_median"]) == {
        "read the lab", "start captures", "probe", "settle", "stop captures", "read state"
    }  # fmt: skip
    assert report["capture_spread_s_max"] is not None
