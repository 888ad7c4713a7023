"""The rehearsal lab's fabric for real: namespaces, FRR, sshd, and a clean `lab down`.

Needs root, Linux, iproute2, FRR, OpenSSH (server and client) and ping; skips without them,
fails without them when CI=true. Every lab brought up here is taken down in a finally.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fabrictui.lab import build, processes
from fabrictui.lab import lab as rlab
from fabrictui.parsers.bgp import parse_bgp_summary
from tests._paths import CALICO_MANIFEST_1_15
from tests._require import require

pytestmark = pytest.mark.lab

LAB_RANGES = re.compile(r"\b(10\.0\.1\d\d\.|172\.16\.|10\.(6[4-9]|7\d)\.)")


def _require_lab_tools() -> None:
    require(sys.platform.startswith("linux"), "the rehearsal lab needs Linux")
    require(os.geteuid() == 0, "the rehearsal lab needs root")
    for tool in ("ip", "/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh", "/usr/sbin/sshd"):
        require(tool)
    for tool in ("ssh", "ssh-keygen", "ping", "ss"):
        require(tool)


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`fabrictui ...` in a child process, as a user runs it (daemons outlive it)."""
    return subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ssh(
    lab_dir: Path, host: str, *command: str, timeout: float = 30
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ssh", "-F", str(lab_dir / "ssh_config"), "-o", "BatchMode=yes", host, *command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def host_view() -> set[str]:
    """Host-namespace routes, addresses and links that look like the lab's."""
    lines: set[str] = set()
    for argv in (["ip", "-o", "route"], ["ip", "-o", "addr"], ["ip", "-o", "link"]):
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if LAB_RANGES.search(line) or re.search(r"\b(swp\d+|br0|vxlan\.calico)\b", line):
                lines.add(line)
    return lines


def listeners() -> set[str]:
    out = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True).stdout
    return {line.split()[3] for line in out.splitlines() if len(line.split()) > 3}


def live_pids(state: dict[str, Any]) -> list[int]:
    return [int(r["pid"]) for r in state["processes"] if processes.record_alive(r)]


def assert_gone(lab_dir: Path, state: dict[str, Any]) -> None:
    """Nothing of the lab whose state this was is left: namespaces, processes, listeners,
    FRR run dirs, files."""
    lab_id = state["lab_id"]
    prefix = f"ftl-{lab_id}-"
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert prefix not in namespaces
    assert not [p for p in os.listdir("/var/run/frr") if p.startswith(prefix)]
    for record in state["processes"]:
        assert processes.proc_start_time(int(record["pid"])) is None or not processes.record_alive(
            record
        )
    # pgrep lists zombies too; count only live processes carrying our markers
    for pattern in (prefix, str(lab_dir / "sshd")):
        found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
        alive = [int(p) for p in found.split() if processes.proc_start_time(int(p)) is not None]
        alive = [p for p in alive if p != os.getpid()]
        assert not alive, f"processes left matching {pattern}: {alive}"
    ports = list((state.get("ports") or {}).get("ssh", {}).values())
    open_ = listeners()
    assert not [p for p in ports if f"127.0.0.1:{p}" in open_]
    assert not (lab_dir / "state.json").exists()
    assert not (lab_dir / "ssh_config").exists()


@pytest.fixture(scope="module")
def reference_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    _require_lab_tools()
    lab_dir = tmp_path_factory.mktemp("ftl-ref") / "lab"
    before = host_view()
    try:
        up = cli("lab", "up", "--dir", str(lab_dir), "--no-kube")
        assert up.returncode == 0, up.stdout + up.stderr
        state = rlab.read_state(lab_dir)
        assert state is not None
        yield {"dir": lab_dir, "state": state, "before": before, "up": up}
    finally:
        rlab.down(lab_dir)


def _summary(lab_dir: Path, leaf: str, *extra: str) -> str:
    done = ssh(lab_dir, leaf, "sudo", "net", "show", "bgp", "summary", *extra)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("leaf", ["leaf1", "leaf2"])
def test_leaf_sees_both_spines_established_by_name(
    reference_lab: dict[str, Any], leaf: str
) -> None:
    lab_dir = reference_lab["dir"]
    deadline = time.monotonic() + 30
    while True:
        text = _summary(lab_dir, leaf)
        peers = parse_bgp_summary(text).peers
        if len(peers) == 2 and all(p.established for p in peers):
            break
        assert time.monotonic() < deadline, f"sessions not Established after 30 s:\n{text}"
        time.sleep(0.5)
    assert text.startswith("show bgp ipv4 unicast summary\n=============================\n")
    assert {p.short_hostname for p in peers} == {"spine-sw1", "spine-sw2"}
    assert re.search(r"^spine-sw1\(172\.16\.0\.\d\) ", text, re.MULTILINE)
    assert {p.remote_as for p in peers} == {65001, 65002}
    as_json = json.loads(_summary(lab_dir, leaf, "json"))
    assert as_json["ipv6 unicast"] is None
    assert len(as_json["ipv4 unicast"]["peers"]) == 2
    assert parse_bgp_summary(json.dumps(as_json)).peers


def test_vtysh_json_over_ssh(reference_lab: dict[str, Any]) -> None:
    done = ssh(reference_lab["dir"], "spine-sw1", "sudo vtysh -c 'show bgp summary json'")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    unicast = data["ipv4Unicast"]
    assert unicast["as"] == 65001 and unicast["routerId"] == "172.16.255.1"
    assert {p["hostname"] for p in unicast["peers"].values()} == {"leaf1", "leaf2"}


def test_node_pings_other_rack_across_the_fabric(reference_lab: dict[str, Any]) -> None:
    done = ssh(reference_lab["dir"], "k8s-node-l2-1", "ping", "-c", "2", "-W", "2", "10.0.101.102")
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0% packet loss" in done.stdout
    # node -> leaf2 -> spine -> leaf1 -> node: three routed hops
    assert "ttl=61" in done.stdout


def test_commands_run_inside_the_host_namespace(reference_lab: dict[str, Any]) -> None:
    done = ssh(reference_lab["dir"], "k8s-node-l1-2", "ip -o -4 addr show dev eth0")
    assert done.returncode == 0, done.stderr
    assert "10.0.101.102/24" in done.stdout
    assert ssh(reference_lab["dir"], "k8s-node-l1-2", "command -v tcpdump").returncode == 0


def test_session_has_the_host_name_and_shims(reference_lab: dict[str, Any]) -> None:
    done = ssh(
        reference_lab["dir"],
        "leaf2",
        "hostname; sudo -n true && command -v vtysh && command -v net",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    assert lines[0] == "leaf2"
    assert lines[1].endswith("/bin/leaf2/vtysh") and lines[2].endswith("/bin/leaf2/net")
    node = ssh(reference_lab["dir"], "k8s-node-l2-2", "command -v sudo; command -v net || true")
    assert node.stdout.split() == [str(reference_lab["dir"] / "bin" / "k8s-node-l2-2" / "sudo")]


def test_tcpdump_streams_pcap_from_a_node(reference_lab: dict[str, Any]) -> None:
    lab_dir = reference_lab["dir"]
    capture = subprocess.Popen(
        [
            *("ssh", "-F", str(lab_dir / "ssh_config"), "k8s-node-l1-2"),
            "sudo tcpdump -i eth0 -U -w - -c 2 icmp",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert capture.stderr is not None
        banner = capture.stderr.readline().decode()
        assert "listening on eth0" in banner
        ping = ssh(lab_dir, "k8s-node-l2-1", "ping -c 1 -W 2 10.0.101.102")
        assert ping.returncode == 0, ping.stdout
        out, _ = capture.communicate(timeout=15)
    finally:
        capture.kill()
    assert out[:4] == bytes.fromhex("d4c3b2a1")  # little-endian pcap
    assert len(out) >= 24 + 2 * (16 + 98)  # header + echo request and reply


def test_host_namespace_gets_no_lab_route_address_or_link(reference_lab: dict[str, Any]) -> None:
    assert host_view() == reference_lab["before"]
    ports = reference_lab["state"]["ports"]["ssh"].values()
    open_ = listeners()
    for port in ports:
        assert f"127.0.0.1:{port}" in open_
        assert f"0.0.0.0:{port}" not in open_ and f"*:{port}" not in open_


def test_status_reports_every_host_healthy(reference_lab: dict[str, Any]) -> None:
    done = cli("lab", "status", "--dir", str(reference_lab["dir"]))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[2:-1]}
    assert rows["leaf1"][-1] == "2/2" and rows["spine-sw2"][-1] == "2/2"
    assert len(rows) == 9


def test_up_twice_refuses(reference_lab: dict[str, Any]) -> None:
    again = cli("lab", "up", "--dir", str(reference_lab["dir"]), "--no-kube")
    assert again.returncode == 2
    assert "already up" in again.stderr and "lab down" in again.stderr
    assert rlab.read_state(reference_lab["dir"])["lab_id"] == reference_lab["state"]["lab_id"]


def test_up_reports_its_time(reference_lab: dict[str, Any]) -> None:
    assert re.search(r"up in \d+\.\d s", reference_lab["up"].stdout)


def test_down_leaves_nothing(tmp_path: Path) -> None:
    _require_lab_tools()
    lab_dir = tmp_path / "lab"
    try:
        up = cli("lab", "up", "--dir", str(lab_dir), "--no-kube", "--bgp-wait", "0")
        assert up.returncode in (0, 1), up.stdout + up.stderr
        state = rlab.read_state(lab_dir)
        assert state is not None and live_pids(state)
        done = cli("lab", "down", "--dir", str(lab_dir))
        assert done.returncode == 0, done.stderr
        assert_gone(lab_dir, state)
        again = cli("lab", "down", "--dir", str(lab_dir))
        assert again.returncode == 0 and "nothing to do" in again.stdout
    finally:
        rlab.down(lab_dir)


def test_down_after_kill_9_of_everything(tmp_path: Path) -> None:
    _require_lab_tools()
    lab_dir = tmp_path / "lab"
    try:
        up = cli("lab", "up", "--dir", str(lab_dir), "--no-kube", "--bgp-wait", "0")
        assert up.returncode in (0, 1), up.stdout + up.stderr
        state = rlab.read_state(lab_dir)
        assert state is not None
        # a stray process inside a node namespace, as an interrupted `tcpdump` over ssh leaves
        stray = subprocess.Popen(
            ["ip", "netns", "exec", f"ftl-{state['lab_id']}-k8s-node-l1-1", "sleep", "300"],
            start_new_session=True,
        )
        pids = live_pids(state)
        assert len(pids) == 4 * 2 + 9  # zebra + bgpd per switch, one sshd per host
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        status = cli("lab", "status", "--dir", str(lab_dir))
        assert status.returncode == 1 and "DOWN" in status.stdout
        done = cli("lab", "down", "--dir", str(lab_dir))
        assert done.returncode == 0, done.stderr
        stray.wait(timeout=5)
        assert_gone(lab_dir, state)
    finally:
        rlab.down(lab_dir)


def test_down_after_up_crashed_midway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`up` dies after FRR started, before its pids reached state.json: `down` still finds
    the daemons (by their path space) and the namespaces (by prefix)."""
    _require_lab_tools()
    lab_dir = tmp_path / "lab"

    def crash(self: object) -> None:
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(build.Builder, "start_sshd", crash)
    try:
        with pytest.raises(RuntimeError, match="simulated crash"):
            rlab.up(lab_dir, kube=False)
        state = rlab.read_state(lab_dir)
        assert state is not None
        assert (state["status"], state["step"]) == ("starting", "sshd")
        daemons = live_pids(state)
        assert len(daemons) == 8
        state["processes"] = []
        rlab.write_state(lab_dir, state)
        result = rlab.down(lab_dir)
        assert result.namespaces == 9 and result.processes >= 8
        assert all(processes.proc_start_time(pid) is None for pid in daemons)
        assert_gone(lab_dir, state)
    finally:
        rlab.down(lab_dir)


DEMO = """
apiVersion: v1
kind: Namespace
metadata: {name: space1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx-deployment, namespace: space1}
spec:
  replicas: 2
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers: [{name: nginx, image: nginx}]
"""


def test_lab_up_starts_the_kube_api_and_down_survives_kill_9(tmp_path: Path) -> None:
    """With the API server: pods become namespaces; `kill -9` of every lab process (the
    API server included) leaves them behind, and `down` removes them by prefix."""
    _require_lab_tools()
    require("kubectl")
    require(
        build.module_runnable(processes.KUBE_MODULE),
        f"python -m {processes.KUBE_MODULE} has nothing to run yet",
    )
    lab_dir = tmp_path / "lab"
    manifest = CALICO_MANIFEST_1_15  # the lab claims the seed's 1.15
    try:
        up = cli("lab", "up", "--dir", str(lab_dir), "--bgp-wait", "0")
        assert "kube API up" in up.stdout, up.stdout + up.stderr
        state = rlab.read_state(lab_dir)
        assert state is not None
        port = state["ports"]["kube"]
        assert build.kube_version_answers(port)
        assert f"127.0.0.1:{port}" in listeners()
        (kube,) = [r for r in state["processes"] if r["role"] == "kubeapi"]
        assert processes.record_alive(kube)

        def kubectl(*args: str, stdin: str | None = None) -> str:
            done = subprocess.run(
                ["kubectl", "--kubeconfig", str(lab_dir / "kubeconfig"), *args],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            return done.stdout

        kubectl("apply", "-f", str(manifest))
        kubectl("apply", "-f", "-", stdin=DEMO)
        prefix = f"ftl-{state['lab_id']}-pod-"
        deadline = time.monotonic() + 60
        while True:
            pods = kubectl("get", "pods", "-n", "space1", "--no-headers")
            netnses = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
            if pods.count(" Running ") == 2 and netnses.stdout.count(prefix) >= 2:
                break
            assert time.monotonic() < deadline, pods
            time.sleep(0.5)
        for pid in live_pids(state):
            os.kill(pid, signal.SIGKILL)
        assert cli("lab", "down", "--dir", str(lab_dir)).returncode == 0
        assert not processes.record_alive(kube)
        assert f"127.0.0.1:{port}" not in listeners()
        assert_gone(lab_dir, state)
    finally:
        rlab.down(lab_dir)


def test_sshd_that_loses_its_port_gets_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program binds a probed port before sshd does: that host gets a new port."""
    _require_lab_tools()
    thief = socket.socket()
    thief.bind(("127.0.0.1", 0))
    thief.listen()
    stolen = thief.getsockname()[1]
    real_free_ports = build.free_ports
    calls: list[int] = []

    def free_ports(count: int) -> list[int]:
        calls.append(count)
        ports = real_free_ports(count)
        return [stolen, *ports[1:]] if len(calls) == 1 else ports

    monkeypatch.setattr(build, "free_ports", free_ports)
    lab_dir = tmp_path / "lab"
    try:
        with rlab.running_lab(lab_dir, kube=False, bgp_wait_s=0):
            state = rlab.read_state(lab_dir)
            assert state is not None
            first = next(iter(state["ports"]["ssh"]))
            assert state["ports"]["ssh"][first] != stolen
            done = ssh(lab_dir, first, "hostname")
            assert done.returncode == 0 and done.stdout.strip() == first, done.stderr
    finally:
        thief.close()
        rlab.down(lab_dir)
