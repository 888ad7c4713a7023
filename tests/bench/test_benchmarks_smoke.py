"""Every benchmark script in its `--smoke` mode: it runs, prints its figures, and the
correctness parts hold (exact counters, agreeing decoders and SSH methods).

Benchmarks are not timed tests: nothing here asserts a speed. Each script is started
as a user would (`sys.executable benchmarks/X.py --smoke --json` from the repository
root) and its JSON is checked.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests._bench import documented_keys
from tests._paths import ROOT
from tests._require import require

BENCH = ROOT / "benchmarks"


def run_smoke(script: str, timeout: float = 90.0, extra: tuple[str, ...] = ()) -> Any:
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), "--smoke", "--json", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{script} exit {proc.returncode}: {proc.stderr[-2000:]}"
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"{script} --json printed no JSON: {proc.stdout[-1000:]!r}")
    assert sorted(report) == documented_keys()[script], (
        f"{script} --json changed shape: say so in benchmarks/README.md"
    )
    return report


def test_the_readme_documents_every_script() -> None:
    scripts = {p.name for p in BENCH.glob("*.py") if p.name != "machine.py"}
    assert set(documented_keys()) == scripts


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_decode_smoke() -> None:
    report = run_smoke("decode.py", extra=("--native",))
    assert report["frames"] == 2000
    results = report["results"]
    for name in ("fabrictui (pipe)", "fabrictui (file)", "fabrictui generic path (pipe)"):
        assert results[name]["frames_per_s"] > 0
        assert results[name]["seconds"] > 0
    # the peers that are installed were measured (and their frame counts checked by the script)
    for peer in ("dpkt", "tshark"):
        assert (peer in results) != (peer in report["missing"])
    for name, ratio in report["ratio_fabrictui_to"].items():
        assert ratio > 0, name
    # BGP mode's plain IP echoes (the script checked they decode as native frames)
    native = report["native"]
    assert native["frames_per_s"] > 0 and native["vs_vxlan_fast_path"] > 0


def test_startup_smoke() -> None:
    report = run_smoke("startup.py", timeout=60)
    assert report["runs"] == 1
    assert report["version_median_s"] > 0
    assert report["first_frame_median_s"] > 0


def test_overlay_flood_smoke() -> None:
    report = run_smoke("overlay_flood.py", timeout=120)
    results = report["runs"]
    assert len(results) == 3  # 20k/s, 100k/s, unthrottled
    # the machine's own decode rate, measured in the same run, for scale
    assert report["decoder_frames_per_s"] > 0 and report["machine"]["nproc"] >= 1
    for r in results:
        assert r["frames_offered"] > 0
        # no frame lost between the stream and the counters
        assert r["frames_counted"] == r["frames_offered"], r
        assert r["counters_exact"] is True
        # the excess is dropped from the display honestly, and the newest frame is shown
        if r["frames_drawn_skipped"]:
            assert r["pane_says_skipped"] is True, r
        assert r["newest_frame_shown"] is True, r
        assert r["key_presses"] >= 1
        assert r["worker_cpu_s"] > 0  # the decoding happened in the capture worker


def test_overlay_flood_both_sides_smoke() -> None:
    """The receiving node captured too: each frame counted once, its two sightings matched."""
    report = run_smoke("overlay_flood.py", timeout=120, extra=("--both-sides", "--rates", "20000"))
    (run,) = report["runs"]
    assert run["counters_exact"] is True and run["frames_counted"] == run["frames_offered"]
    assert run["transit_arrived"] == run["frames_offered"] == run["peer_frames_offered"], run
    assert run["transit_lost"] == 0 and run["one_way_ms"] == 0.5


def test_big_cluster_smoke() -> None:
    report = run_smoke("big_cluster.py")
    assert report["pods"] > 0
    assert report["events_sent"] > 0
    assert 0 < report["first_screen_s"] <= report["first_render_s"]
    assert report["key_presses"] >= 1
    assert report["rows_updated_in_place"] is True
    assert report["decoder_frames_per_s"] > 0  # the machine's own speed, for scale


def test_fabric_poll_without_root_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = load_script("fabric_poll")
    monkeypatch.setattr(module.os, "geteuid", lambda: 1000)
    assert module.main(["--smoke"]) == 2
    assert "needs root" in capsys.readouterr().err


def test_fabric_poll_smoke() -> None:
    require(sys.platform.startswith("linux") and os.geteuid() == 0, "fabric_poll needs root")
    require("/usr/lib/frr/bgpd", "FRR is not installed")
    require("/usr/sbin/sshd", "OpenSSH server is not installed")
    require("ssh", "OpenSSH client is not installed")
    report = run_smoke("fabric_poll.py", timeout=120)
    lab = report["lab"]
    assert (lab["spines"], lab["leaves"], report["switches"]) == (2, 2, 4)
    assert lab["bgp_established"] == lab["bgp_configured"] == 4
    assert report["sessions"] == 8  # each leaf to each spine, seen from both ends
    assert report["outputs_agree"] is True
    for method in ("fabrictui", "fabrictui_oneshot", "ssh", "mux_seq", "mux_conc"):
        assert report["median_s"][method] > 0, method
    assert set(report["ratio_peer_to_fabrictui"]) == {"ssh", "mux_seq", "mux_conc"}
    # the warm refreshes went through the vtysh sessions, none fell back to one-shot
    assert report["session_reads"] == 2 * report["switches"]
    assert report["oneshot_reads_of_session_poller"] == 0
    assert report["fabrictui_cold_s"] > 0
    # everything it started is gone: the lab's namespaces and the ControlMaster processes
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"ftl-{lab['lab_id']}-" not in names
    control_dir = report["controlmaster_dir"]
    assert not Path(control_dir).exists()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            assert control_dir.encode() not in cmdline, f"left running: pid {entry.name}"


def test_telemetry_viewers_smoke() -> None:
    require(sys.platform.startswith("linux") and os.geteuid() == 0, "the lab needs root")
    for tool in ("/usr/lib/frr/bgpd", "/usr/sbin/sshd", "/usr/bin/prometheus",
                 "/usr/bin/prometheus-frr-exporter"):  # fmt: skip
        require(tool)
    report = run_smoke("telemetry_viewers.py", timeout=120)
    ssh, prom = report["runs"]
    assert (ssh["source"], prom["source"]) == ("ssh", "prometheus")
    assert ssh["refreshes"] > 0 and prom["refreshes"] > 0
    # over SSH each viewer runs vtysh on the switches; from Prometheus none does
    assert ssh["vtysh_commands_per_min"] > 0 and ssh["ssh_logins_per_min"] > 0
    assert report["targets_met"] == {
        "prometheus_ssh_logins_per_min": True,
        "prometheus_vtysh_commands_per_min": True,
    }
    assert prom["prometheus_queries_per_min"] > 0 and prom["exporter_scrapes_per_min"] > 0
    assert report["machine"]["decode_frames_per_s"] > 0
