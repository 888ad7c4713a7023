"""The map benchmark in its smoke mode: it runs, the big fabric's map has every part
(spines, leaves, nodes, the trace, the lossy rack pair), and its JSON is the documented
shape (no speed is checked here: the figures are the script's own)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests._bench import documented_keys
from tests._paths import ROOT


def test_map_benchmark_smoke():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "map_draw.py"), "--smoke", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(report) == documented_keys()["map_draw.py"], "say so in benchmarks/README.md"
    assert report["correct"] is True and report["targets_met"] is None
    assert report["fabric"] == {"spines": 4, "leaves": 32, "nodes": 257}
    assert set(report["results"]) == {"160x48", "80x24", "160x48 busy core", "80x24 busy core"}
    assert all(r["frames"] == 5 and r["median_ms"] > 0 for r in report["results"].values())
    assert report["decoder_frames_per_s"] > 0
