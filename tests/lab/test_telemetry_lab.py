"""`lab up --telemetry` for real: FRR exporters and node exporters (in the switches'
namespaces) and bird exporters (the nodes' BIRD in BGP mode) and a Prometheus beside the
lab's daemons, BGP sessions, interfaces and the nodes' BIRD protocols read from it equal to
those read over SSH, an exporter killed named as such (never as sessions or interfaces down)
and recovered, and `lab down` leaving no exporter, Prometheus or data.

Its own lab (about 10 s up, and 8 s to switch to BGP mode for the BIRD test, run last): the
shared apps lab runs without telemetry, and Prometheus in it would be one more daemon under
every apps test; its nginx and VXLAN mode are not this module's either.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fabrictui.lab import telemetry
from fabrictui.lab.labstate import load_state, write_state
from fabrictui.lab.processes import proc_cmdline, start_process
from fabrictui.lab.telemetry.node import NODE_EXPORTER, start_exporter
from fabrictui.lab.topology import netns_name
from tests._require import require

pytestmark = pytest.mark.lab


def cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _ours(lab_dir: Path, lab_id: str) -> list[int]:
    """Exporters and Prometheus of this lab still running."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            argv = " ".join(proc_cmdline(int(entry.name)))
            exporter = (
                "frr-exporter" in argv or "bird-exporter" in argv
            ) and f"ftl-{lab_id}-" in argv
            if exporter or ("prometheus" in argv and str(lab_dir / "telemetry") in argv):
                found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(sys.platform.startswith("linux") and os.geteuid() == 0, "needs Linux and root")
    for tool in ("/usr/lib/frr/bgpd", "/usr/sbin/sshd", telemetry.PROMETHEUS,
                 telemetry.FRR_EXPORTER, NODE_EXPORTER, telemetry.BIRD_EXPORTER,
                 "/usr/sbin/bird"):  # fmt: skip
        require(tool)
    lab_dir = tmp_path_factory.mktemp("telemetry") / "lab"
    try:
        up = cli("lab", "up", "--dir", str(lab_dir), "--telemetry")
        assert up.returncode == 0, up.stdout + up.stderr
        yield lab_dir
    finally:
        cli("lab", "down", "--dir", str(lab_dir))


def bgp(lab_dir: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    done = cli("bgp", "--json", "--lab", str(lab_dir), *extra, timeout=30)
    assert done.returncode in (0, 1, 3), done.stderr
    return done.returncode, json.loads(done.stdout)


def _sessions(doc: dict[str, Any]) -> dict[tuple[str, str], tuple]:
    return {
        (row["switch"], s["peer"]): (s["peer_host"], s["remote_as"], s["state"],
                                     s["prefixes_received"])
        for row in doc["switches"]
        for s in row["sessions"]
    }  # fmt: skip


def test_sessions_from_prometheus_equal_those_over_ssh(lab: Path) -> None:
    status = json.loads(cli("lab", "status", "--dir", str(lab), "--json").stdout)
    assert status["prometheus"].startswith("http://127.0.0.1:")
    code, prom = bgp(lab)  # the lab's own settings point at its Prometheus
    assert code == 0 and prom["source"] == f"prometheus {status['prometheus']}"
    assert {row["source"] for row in prom["switches"]} == {"prometheus"}
    ssh_code, ssh = bgp(lab, "--prometheus", "off")
    assert ssh_code == 0 and ssh["source"] == "ssh"
    assert len(_sessions(prom)) == 8
    assert _sessions(prom) == _sessions(ssh)
    uptimes = {
        (row["switch"], s["peer"]): s["uptime_seconds"] for row in ssh["switches"]
        for s in row["sessions"]
    }  # fmt: skip
    for row in prom["switches"]:
        assert time.time() - row["sampled_at"] < 10  # the scrape's time, seconds ago
        for s in row["sessions"]:
            assert abs(s["uptime_seconds"] - uptimes[(row["switch"], s["peer"])]) <= 10


def interfaces(lab_dir: Path, switch: str, *extra: str) -> tuple[dict[str, str], list[str]]:
    """`describe switch`'s interface rows and problems, as the user types it."""
    done = cli("describe", "switch", switch, "--json", "--lab", str(lab_dir), *extra, timeout=30)
    doc = json.loads(done.stdout)
    rows = next((s["rows"] for s in doc["sections"] if s["title"] == "Interfaces"), {})
    return rows, doc["problems"]


def test_interfaces_from_prometheus_equal_those_over_ssh(lab: Path) -> None:
    state = load_state(lab)
    assert state is not None
    leaf1 = netns_name(state.lab_id, "leaf1")
    before = time.time()
    # a server port down (no session rides it), so the two sources must agree on a change
    subprocess.run(["ip", "-n", leaf1, "link", "set", "swp3", "down"], check=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            prom, problems = interfaces(lab, "leaf1")
            if prom.get("swp3", "").startswith("down") or time.monotonic() > deadline:
                seen_down = time.time()
                break
            time.sleep(0.5)
        ssh, _ = interfaces(lab, "leaf1", "--prometheus", "off")
    finally:
        subprocess.run(["ip", "-n", leaf1, "link", "set", "swp3", "up"], check=True)
    assert problems == [] and prom["swp3"].startswith("down, no speed")
    assert prom["swp51"].startswith("up, 10000 Mb/s, MTU 1500")
    assert prom == ssh and set(prom) >= {"lo", "swp51", "swp52", "swp3"}
    # swp3 is up again: `report --at` reads each moment back from Prometheus's history
    for when, state_then in ((before, "up"), (seen_down, "down")):
        out = lab.parent / f"report-{state_then}.md"
        at = datetime.fromtimestamp(when, UTC).isoformat(timespec="milliseconds")
        done = cli("report", "--at", at, "--lab", str(lab), "--md", "-o", str(out), timeout=30)
        assert done.returncode == 0, done.stderr
        assert f"| leaf1 | swp3 | {state_then} |" in out.read_text()


def test_exporter_killed_is_named_never_as_sessions_down_and_recovers(lab: Path) -> None:
    state = load_state(lab)
    assert state is not None
    (record,) = [r for r in state.processes if r.role == "frr_exporter" and r.host == "leaf2"]
    (node,) = [r for r in state.processes if r.role == "node_exporter" and r.host == "leaf2"]
    os.kill(record.pid, signal.SIGKILL)
    os.kill(node.pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while True:
        code, doc = bgp(lab)
        leaf2 = next(row for row in doc["switches"] if row["switch"] == "leaf2")
        if leaf2["error"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "leaf2: frr exporter down (connection refused), last good scrape" in leaf2["error"]
    assert leaf2["sessions"] == []  # not shown down: not shown
    assert code == 3  # nothing failed, something not observed
    table = cli("bgp", "--lab", str(lab), timeout=30)
    assert "frr exporter down" in table.stdout and "Idle" not in table.stdout
    deadline = time.monotonic() + 10
    while not (found := interfaces(lab, "leaf2"))[1] and time.monotonic() < deadline:
        time.sleep(0.5)
    rows, problems = found
    assert rows == {}  # not shown down: not shown
    assert problems[0].startswith("interfaces: leaf2: node exporter down (connection refused)")
    # the same exporter again, recorded so `lab down` stops it
    port = state.extra["telemetry"]["frr_exporters"]["leaf2"]
    again = start_process(
        telemetry.exporter_argv(state.lab_id, "leaf2", port),
        lab / "logs" / "leaf2.frr_exporter.log", "frr_exporter", "leaf2", record.marker,
    )  # fmt: skip
    state.processes.append(again)
    node_port = state.extra["telemetry"]["node_exporters"]["leaf2"]
    node_again, _ = start_exporter(
        netns_name(state.lab_id, "leaf2"), "leaf2", node.marker,
        lab / "logs" / "leaf2.node_exporter.log", node_port,
    )  # fmt: skip
    state.processes.append(node_again)
    write_state(lab, state)
    deadline = time.monotonic() + 15
    while True:
        code, doc = bgp(lab)
        leaf2 = next(row for row in doc["switches"] if row["switch"] == "leaf2")
        if not leaf2["error"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert leaf2["error"] is None and len(leaf2["sessions"]) == 2 and code == 0
    deadline = time.monotonic() + 10
    while (rows := interfaces(lab, "leaf2"))[1] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert rows[1] == [] and rows[0]["swp51"].startswith("up")


def bird_lines(lab_dir: Path, node: str, *extra: str) -> tuple[list[str], list[str]]:
    """`describe node`'s BIRD lines and problems, as the user types it."""
    done = cli("describe", "node", node, "--json", "--lab", str(lab_dir), *extra, timeout=30)
    doc = json.loads(done.stdout)
    lines = [line for s in doc["sections"] for line in s["lines"] if line.startswith("BIRD")]
    return lines, doc["problems"]


def test_nodes_bird_sessions_from_prometheus_equal_those_over_ssh(lab: Path) -> None:
    node = "k8s-node-l2-1"
    # the bird exporters started with the lab, before BIRD (lab/telemetry/bird_exporter.py)
    deploy = cli("deploy-calico", "--mode", "bgp", "-y", "--lab", str(lab), timeout=120)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    # Prometheus is a scrape (2 s) behind BIRD: the mesh protocols of the deploy's first
    # step may still be in its newest sample; wait until both sources settle
    expected = (["BIRD Node_10_0_102_1: up Established"], [])
    deadline = time.monotonic() + 15
    while True:
        found = bird_lines(lab, node)
        over_ssh = bird_lines(lab, node, "--prometheus", "off")
        if found == over_ssh == expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert found == over_ssh == expected


def test_lab_down_leaves_no_exporter_prometheus_or_data(lab: Path) -> None:
    state = load_state(lab)
    assert state is not None
    # 4 frr and 4 node exporters, 5 bird exporters, 1 Prometheus
    assert len(_ours(lab, state.lab_id)) == 14
    assert (lab / "telemetry" / "data").is_dir()
    # as after a crash before they were recorded: `down` finds them by their command lines
    roles = ("frr_exporter", "node_exporter", "bird_exporter", "prometheus")
    state.processes = [r for r in state.processes if r.role not in roles]
    write_state(lab, state)
    down = cli("lab", "down", "--dir", str(lab))
    assert down.returncode == 0, down.stderr
    assert _ours(lab, state.lab_id) == []
    assert not (lab / "telemetry").exists()
