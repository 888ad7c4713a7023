"""`fabrictui describe`, `logs` and `events` as a user types them, on the demo lab (seed 1):
a calico-node that fails on k8s-node-l1-1, what is found and what is not, exit codes, bad
input in one line, and a follow that ends with its terminal."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

from tests._paths import ROOT

CALICO = "calico-node-hwkkx"  # on k8s-node-l1-1, seed 1
FAULT = ("--demo-fault", "stop-calico-node:k8s-node-l1-1")
CALICO_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[[A-Z]+\]\[\d+\] \S+\.go \d+: ")


def fabrictui(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", *args],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )  # fmt: skip


def test_describe_a_failing_calico_node() -> None:
    done = fabrictui("describe", "pod", CALICO, "-n", "kube-system", "--demo", "ready", *FAULT)
    assert done.returncode == 0, done.stderr
    lab_line, out = done.stdout.split("\n", 1)
    assert lab_line.startswith("lab: demo")
    assert out.startswith(f"pod kube-system/{CALICO}  (API)")
    assert "Probe failures:" in out and "felix is not ready" in out
    assert "Readiness:     exec [/bin/calico-node -felix-ready]" in out
    assert "fabrictui describe node k8s-node-l1-1  (the pod runs there)" in out
    as_json = fabrictui(
        "describe", "pod", CALICO, "-n", "kube-system", "--json", "--demo", "ready", *FAULT
    )
    doc = json.loads(as_json.stdout)
    assert (doc["kind"], doc["namespace"], doc["lab"]["kind"]) == ("pod", "kube-system", "demo")
    titles = [s["title"] for s in doc["sections"]]
    assert titles[:2] == ["Status", "Conditions"] and "Events" in titles
    assert {"kind": "node", "name": "k8s-node-l1-1", "namespace": None,
            "why": "the pod runs there"} in doc["links"]  # fmt: skip


def test_describe_a_node_whose_kubelet_stopped() -> None:
    """As the node lifecycle controller leaves a node whose kubelet stopped posting: every
    condition Unknown in its words, the unreachable taints (not the not-ready one)."""
    fault = ("--demo-fault", "stop-kubelet:k8s-node-l2-1")
    done = fabrictui("describe", "node", "k8s-node-l2-1", "--demo", "ready", *fault)
    assert done.returncode == 0, done.stderr
    assert (
        "Ready:              Unknown (NodeStatusUnknown: Kubelet stopped posting node status.)"
        in done.stdout
    )
    assert "MemoryPressure:     Unknown (NodeStatusUnknown" in done.stdout
    assert "node.kubernetes.io/unreachable:NoExecute" in done.stdout
    assert "node.kubernetes.io/not-ready" not in done.stdout


def test_describe_not_found_and_unknown_kind() -> None:
    missing = fabrictui("describe", "pod", "nope", "-n", "space1", "--demo", "ready")
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.strip().splitlines() == [
        'fabrictui describe: read pod nope: 404 Not Found: pods "nope" not found'
    ]
    unknown = fabrictui("describe", "gizmo", "x", "--demo", "ready")
    assert unknown.returncode == 2
    assert "no detail for kind 'gizmo' (known kinds:" in unknown.stderr
    assert "node" in unknown.stderr and "pod" in unknown.stderr
    node = fabrictui("describe", "node", "k8s-node-l2-2", "--demo", "ready")
    assert node.returncode == 0 and "Tunnel address:" in node.stdout
    vm = fabrictui("describe", "vm", "leaf1", "--demo", "ready")
    assert vm.returncode == 0 and "fabrictui describe switch leaf1" in vm.stdout
    no_vm = fabrictui("describe", "vm", "leaf9", "--demo", "ready")
    assert no_vm.returncode == 2 and "leaf9: no such machine in this lab" in no_vm.stderr


def test_logs_tail_previous_and_refusals() -> None:
    tail = fabrictui("logs", CALICO, "-n", "kube-system", "--tail", "3", "--demo", "ready")
    assert tail.returncode == 0, tail.stderr
    lines = tail.stdout.splitlines()
    assert len(lines) == 3 and all(CALICO_LINE.match(line) for line in lines)
    none_before = fabrictui("logs", CALICO, "-n", "kube-system", "--previous", "--demo", "ready")
    assert none_before.returncode == 2
    assert (
        f'previous terminated container "calico-node" in pod "{CALICO}" not found'
        in none_before.stderr
    )
    wrong = fabrictui("logs", CALICO, "-n", "kube-system", "-c", "x", "--demo", "ready")
    assert wrong.returncode == 2 and f"container x is not valid for pod {CALICO}" in wrong.stderr
    bad = fabrictui("logs", CALICO, "--tail", "-1", "--demo", "ready")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_events_warning_first_and_for_one_object() -> None:
    done = fabrictui("events", "-n", "kube-system", "--demo", "ready", *FAULT)
    assert done.returncode == 0, done.stderr
    lab_line, *rows = done.stdout.splitlines()
    assert lab_line.startswith("lab: demo")
    assert rows[0].split()[:4] == ["NAMESPACE", "LAST", "SEEN", "TYPE"]
    types = [row.split()[2] for row in rows[1:]]
    assert "Warning" in types and types == sorted(types, key=lambda t: t != "Warning")
    mine = fabrictui("events", "-n", "kube-system", "--for", f"pod/{CALICO}", "--json",
                     "--demo", "ready", *FAULT)  # fmt: skip
    events = json.loads(mine.stdout)["events"]
    assert events and {e["object_name"] for e in events} == {CALICO}
    assert events[0]["type"] == "Warning"
    bad = fabrictui("events", "--for", "thing", "--demo", "ready")
    assert bad.returncode == 2 and "--for takes KIND/NAME" in bad.stderr


def test_follow_prints_and_ends_with_its_terminal() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fabrictui.cli", "logs", CALICO, "-n", "kube-system", "-f",
         "--tail", "2", "--demo", "ready"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert CALICO_LINE.match(first), first
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
        assert time.monotonic() - started < 5
        assert code == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
