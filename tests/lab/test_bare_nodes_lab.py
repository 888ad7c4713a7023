"""Issue 25 on one shared rehearsal lab built with `lab up --bare-nodes`: nginx:1.17 pods
without ping, nodes without tcpdump, nothing installed anywhere. The seed's workflow runs
by the command lines a user types, and then again with SSH to one node refused."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fabrictui.actions.verify.apps import APP_CHECKS
from tests._cli import run_fabrictui
from tests._require import require

pytestmark = [pytest.mark.lab, pytest.mark.slow]

REFUSED = "k8s-node-l1-2"  # the node whose sshd is stopped in the last test
IMAGES = [
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "space1"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": image}]},
            },
        },
    }
    for name, image in (("busybox", "busybox:1.35"), ("netshoot", "nicolaka/netshoot:v0.13"))
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(sys.platform.startswith("linux"), "the rehearsal lab needs Linux")
    require(os.geteuid() == 0, "the rehearsal lab needs root")
    for tool in ("kubectl", "ssh", "tcpdump", "nsenter", "ping", "busybox"):
        require(tool)
    lab_dir = tmp_path_factory.mktemp("bare") / "lab"
    up = run_fabrictui(["lab", "up", "--dir", str(lab_dir), "--bare-nodes"], 180)
    try:
        assert up.returncode == 0, up.stderr
        yield lab_dir
    finally:
        down = run_fabrictui(["lab", "down", "--dir", str(lab_dir)], 120)
        assert down.returncode == 0, down.stderr


def fab(lab: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run_fabrictui([*args, "--lab", str(lab)], timeout)


def kubectl(lab: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(lab / "kubeconfig"), *args],
        input=stdin, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def ssh(lab: Path, host: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-F", str(lab / "ssh_config"), "-o", "BatchMode=yes", host, command],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def pods(lab: Path, prefix: str) -> list[dict[str, Any]]:
    listed = kubectl(lab, "get", "pods", "-n", "space1", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)["items"]
    return [p for p in items if p["metadata"]["name"].startswith(prefix)]


def test_the_seed_workflow_by_command_line(lab: Path) -> None:
    deploy = fab(lab, "deploy-calico", "--yes")
    assert deploy.returncode == 0, deploy.stderr
    scale = fab(lab, "scale", "--replicas", "4", "--yes")
    assert scale.returncode == 0, scale.stderr

    # ping: every pair answers, through the node (the image has no ping)
    ping = fab(lab, "ping", "--json", "-c", "1")
    assert ping.returncode == 0, ping.stdout + ping.stderr
    matrix = json.loads(ping.stdout)
    assert len(matrix["results"]) == 12 and matrix["all_ok"]
    assert {r["via"] for r in matrix["results"]} == {"node"}

    # verify: the ping passes via the node; the wire is watched at the leaf port facing
    # the sending node (it has no tcpdump), and the evidence says so
    verify = fab(lab, "verify", "--json")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    checks = {c["name"]: c for c in json.loads(verify.stdout)["checks"]}
    assert all(c["passed"] for c in checks.values())
    assert "(via node)" in checks["cross-rack ping"]["evidence"][0]
    wire = checks["VXLAN on the wire"]["evidence"][0]
    assert " captured on leaf2 swp" in wire and " facing k8s-node-l2-1: " in wire

    # trace: delivered, seen at the leaves, the probe sent from the node
    nginx = pods(lab, "nginx-deployment")
    src = next(p for p in nginx if p["spec"]["nodeName"] == "k8s-node-l2-1")
    dst = next(p for p in nginx if p["spec"]["nodeName"] == "k8s-node-l1-2")
    trace = fab(
        lab, "trace", "--from", f"space1/{src['metadata']['name']}",
        "--to", f"space1/{dst['metadata']['name']}", "--json", "-q",
    )  # fmt: skip
    # exit 3: delivered, and not seen everywhere (the nodes' own interfaces need tcpdump)
    assert trace.returncode == 3, trace.stdout + trace.stderr
    traced = json.loads(trace.stdout)
    assert traced["delivered"] and traced["via"] == "node" and traced["cause"] is None
    assert traced["state"] == "not_observed"
    assert {u.split()[0] for u in traced["unobserved"]} == {"k8s-node-l2-1", "k8s-node-l1-2"}
    assert any("no tcpdump" in note for note in traced["notes"])
    assert any(h["seen"] and h["host"] == "leaf2" for h in traced["hops"])

    # capture on a bare node: one line names it, and its frames come from the leaf port
    # facing it (the switches ship tcpdump), each JSON line saying so
    argv = [sys.executable, "-m", "fabrictui.cli", "capture", "--lab", str(lab), "--node",
            "k8s-node-l2-1", "-c", "2", "--json"]  # fmt: skip
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as cap:
        try:
            assert fab(lab, "ping", "-c", "1", "-q").returncode == 0  # traffic to see
            out, err = cap.communicate(timeout=60)
        finally:
            cap.kill()
    assert cap.returncode == 0, err
    assert "k8s-node-l2-1: no tcpdump; capturing at leaf2 swp1 facing k8s-node-l2-1" in err
    frames = [json.loads(line) for line in out.splitlines()]
    assert len(frames) == 2
    assert all(f["via"] == "switch" and f["point"].startswith("leaf2 swp") for f in frames)
    assert all(f["vni"] == 4096 for f in frames)


def test_a_pod_has_only_what_its_image_has(lab: Path) -> None:
    applied = kubectl(lab, "apply", "-f", "-", stdin=yaml.safe_dump_all(IMAGES))
    assert applied.returncode == 0, applied.stderr
    waited = kubectl(lab, "rollout", "status", "-n", "space1", "deployment/busybox")
    assert waited.returncode == 0, waited.stderr
    assert kubectl(lab, "rollout", "status", "-n", "space1", "deployment/netshoot").returncode == 0
    nginx = pods(lab, "nginx-deployment")[0]["metadata"]["name"]
    target = pods(lab, "nginx-deployment")[1]["status"]["podIP"]

    # what Docker 18.09 answered on the seed's Kubernetes 1.15 (images.py)
    refused = kubectl(lab, "exec", "-n", "space1", nginx, "--", "ping", "-c", "1", target)
    assert refused.returncode == 126
    assert refused.stdout.startswith("OCI runtime exec failed: exec failed:")
    assert 'exec: \\"ping\\": executable file not found in $PATH' in refused.stdout
    shell = kubectl(lab, "exec", "-n", "space1", nginx, "--", "sh", "-c", "ping; curl; nginx -v")
    assert "sh: 1: ping: not found" in shell.stderr
    assert "sh: 1: curl: not found" in shell.stderr  # 1.17: curl came with 1.19

    busybox = pods(lab, "busybox")[0]["metadata"]["name"]
    answered = kubectl(lab, "exec", "-n", "space1", busybox, "--", "ping", "-c", "1", target)
    assert "1 packets transmitted, 1 packets received" in answered.stdout  # busybox's words
    netshoot = pods(lab, "netshoot")[0]["metadata"]["name"]
    answered = kubectl(lab, "exec", "-n", "space1", netshoot, "--", "ping", "-c", "1", target)
    assert "1 packets transmitted, 1 received" in answered.stdout  # iputils'

    # a bare node has no tcpdump; the switches have theirs
    assert "tcpdump: not found" in ssh(lab, "k8s-node-l2-1", "tcpdump --version").stderr
    assert ssh(lab, "leaf2", "tcpdump --version").returncode == 0


def test_the_tui_keys_in_a_real_terminal(lab: Path) -> None:
    """P, V, T and the overlay pane in tmux, as a user sees them on the bare lab."""
    require("tmux")
    session = f"ftk-i25-{os.getpid()}"
    command = (
        # COLUMNS/LINES from the test's environment would pin Textual to 80x24
        f"cd {lab.parent} && exec env -u COLUMNS -u LINES "
        f"PYTHONPATH={Path(__file__).resolve().parents[2]} "
        f"{sys.executable} -m fabrictui.cli --lab {lab} --no-record"
    )
    tmux = ["tmux", "-L", session]  # a server of its own, killed at the end
    subprocess.run([*tmux, "new-session", "-d", "-s", session, "-x", "200", "-y", "50",
                    command], check=True)  # fmt: skip

    def screen() -> str:
        done = subprocess.run([*tmux, "capture-pane", "-t", session, "-p"],
                              capture_output=True, text=True, check=False)  # fmt: skip
        return done.stdout

    def until(*words: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = screen()
            if all(word in text for word in words):
                return text
            time.sleep(0.3)
        pytest.fail(f"{words} not on the screen after {timeout:g} s:\n{screen()}")

    def keys(*names: str) -> None:
        subprocess.run([*tmux, "send-keys", "-t", session, *names], check=True)
        # a key right after Escape would arrive as one Alt sequence: let Escape stand alone
        time.sleep(0.6)

    try:
        # the overlay is captured at the leaf ports facing the nodes (no tcpdump on them)
        # and the pods read (P before that says they are not read yet)
        until("Overlay (VXLAN) · at leaf ports:", "k8s-node-l2-1 (leaf2 swp", "calico-node-")
        keys("P")
        matrix = until("Ping mesh: all 12 pairs answer")
        assert matrix.count("ms node") == 12  # every cell says how it ran
        keys("Escape")
        keys("V")
        until(
            f"Verify: {6 + len(APP_CHECKS)}/{6 + len(APP_CHECKS)} checks pass",
            "(via node)",
            " facing k8s-node-l2-1: ",
        )
        keys("Escape")
        keys("T")
        until("Trace from pod")
        keys("Enter")
        until("replies via node", "no capture: k8s-node-l2-1: no tcpdump")
        keys("Escape")
        keys("q")
        deadline = time.monotonic() + 20
        while "fabrictui" in screen() and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        subprocess.run([*tmux, "kill-server"], check=False, capture_output=True)


def test_a_cancelled_mesh_leaves_no_ping_on_the_nodes(lab: Path) -> None:
    """Node-side pings run under the capture's wrapper: closing the channel ends them."""
    import argparse
    import asyncio

    from fabrictui.actions.ping.mesh import ping_mesh
    from fabrictui.backends.select import open_backend
    from tests._rehearsal_tui import processes_in

    lab_id = json.loads((lab / "state.json").read_text())["lab_id"]
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    pod_namespaces = [n.split()[0] for n in listed.splitlines() if f"ftl-{lab_id}-pod-" in n]

    def pings() -> int:
        return sum(len(processes_in(ns, ("ping",))) for ns in pod_namespaces)

    async def cancel_a_mesh() -> tuple[int, int]:
        args = argparse.Namespace(demo=None, lab=str(lab), kubeconfig=None, context=None,
                                  jump=None)  # fmt: skip
        backend = open_backend(args)
        await backend.start()
        try:
            task = asyncio.create_task(ping_mesh(backend, lambda _: None, count=30, timeout=40))
            for _ in range(100):
                await asyncio.sleep(0.1)
                if (before := pings()) >= 2:
                    break
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await asyncio.sleep(1.0)
            return before, pings()
        finally:
            await backend.close()

    before, after = asyncio.run(cancel_a_mesh())
    assert before >= 2 and after == 0, (before, after)


def test_ssh_refused_to_one_node(lab: Path) -> None:
    state = json.loads((lab / "state.json").read_text())
    sshd = next(p for p in state["processes"] if p["role"] == "sshd" and p["host"] == REFUSED)
    os.kill(int(sshd["pid"]), signal.SIGTERM)
    ping = fab(lab, "ping", "--json", "-c", "1")
    assert ping.returncode == 3, ping.stdout + ping.stderr  # none failed, some not probed
    results = json.loads(ping.stdout)["results"]
    on_refused = {p["metadata"]["name"] for p in pods(lab, "nginx-deployment")
                  if p["spec"]["nodeName"] == REFUSED}  # fmt: skip
    for result in results:
        if result["source"].split("/")[1] in on_refused:
            assert not result["probed"] and not result["ok"]
            why = result["not_probed"]
            assert why == (
                f"no ping in image nginx:1.17; {REFUSED}: ssh refused; "
                "ephemeral containers: not allowed by settings"
            )
            assert result["diagnosis"] is None  # nothing is blamed on the network
        else:
            assert result["ok"] and result["via"] == "node", result
