"""The replay benchmark in its smoke mode: it runs, every frame offered while
recording is stored, and the replayed state is the recorded one (no speed is
checked here: benchmarks/README.md has the figures)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests._bench import documented_keys
from tests._paths import ROOT


def test_replay_benchmark_smoke():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "replay.py"), "--smoke", "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(report) == documented_keys()["replay.py"], "say so in benchmarks/README.md"
    assert report["correct"] is True
    flood = report["record_20k"]["with"]
    assert flood["stored"] == flood["frames"] > 10_000
    assert report["replay"]["events"] > 300 and report["replay"]["pods_at_end"] == 500
    assert set(report["targets_met"]) == {"record_cpu", "open", "seek_p95"}
