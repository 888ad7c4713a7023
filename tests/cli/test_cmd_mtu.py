"""`fabrictui mtu` as a user types it, on the demo lab: the path MTU of a healthy lab, the
port a fault set too small, exit codes, and bad input in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests._paths import ROOT

FROM, TO = "nnzz5", "z9pl9"  # rack 1 (k8s-node-l1-2) and rack 2 (k8s-node-l2-1), seed 1


def fabrictui(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", *args],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )  # fmt: skip


def test_a_healthy_vxlan_lab_carries_the_full_pod_mtu() -> None:
    done = fabrictui("mtu", "--demo", "ready", "--from", FROM, "--to", TO, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["state"], doc["mode"], doc["pod_mtu"], doc["pod_mtu_read"]) == (
        "pass", "vxlan", 1450, True,
    )  # fmt: skip
    assert doc["largest_ok"] == 1422 and doc["largest_packet"] == 1450
    assert doc["underlay_needs"] == 1500 and doc["where"] is None
    assert done.stderr == ""


def test_a_leaf_port_at_1400_is_found_and_named() -> None:
    done = fabrictui(
        "mtu", "--demo", "ready", "--demo-fault", "mtu:leaf2:swp1", "--from", FROM, "--to", TO
    )
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "largest that crossed: -s 1322 (1350-byte packets)" in out
    assert "smallest that died:   -s 1323 (1351-byte packets)" in out
    assert "where: leaf2 swp1 (mtu 1400, needs 1500)" in out
    assert out.splitlines()[-1].startswith("FAIL: Set leaf2 swp1 back to MTU 1500")
    assert "DF ping" in done.stderr  # progress on stderr


def test_bgp_mode_has_no_overhead_and_hears_the_routers_frag_needed() -> None:
    done = fabrictui(
        "mtu", "--demo", "ready-bgp", "--demo-fault", "mtu:leaf1:swp51",
        "--demo-fault", "mtu:leaf1:swp52", "--from", FROM, "--to", TO, "--json",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["pod_mtu"], doc["underlay_needs"], doc["largest_packet"]) == (1500, 1500, 1400)
    assert doc["reported_mtu"] == 1400 and doc["reported_by"] != "local"
    assert doc["culprit"]["host"] == "leaf1" and doc["culprit"]["interface"] == "swp51"


def test_bad_input_is_one_line_and_exit_2() -> None:
    for args in (
        ("mtu", "--demo", "ready", "--from", FROM, "--to", "no-such-pod"),
        ("mtu", "--demo", "ready", "--demo-fault", "mtu:leaf1:swp99", "--from", FROM, "--to", TO),
        ("mtu", "--demo-fault", "mtu:leaf1:swp51", "--from", FROM, "--to", TO),
    ):
        done = fabrictui(*args)
        assert done.returncode == 2, args
        lines = done.stderr.strip().splitlines()
        assert lines[-1].startswith("fabrictui mtu: ") and "Traceback" not in done.stderr


def test_verify_fails_path_mtu_with_the_fault_and_passes_without() -> None:
    done = fabrictui("verify", "--demo", "ready", "--demo-fault", "mtu:leaf2:swp1", "--json")
    assert done.returncode == 1
    check = next(c for c in json.loads(done.stdout)["checks"] if c["name"] == "path MTU")
    assert check["state"] == "fail" and "leaf2 swp1" in check["cause"]
    assert "ip link set dev swp1 mtu 1500" in check["cause"]
    done = fabrictui("verify", "--demo", "ready-bgp", "--json")
    check = next(c for c in json.loads(done.stdout)["checks"] if c["name"] == "path MTU")
    assert check["state"] == "pass" and "1472-byte DF pings" in check["evidence"][-1]
