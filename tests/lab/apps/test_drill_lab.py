"""Drill down on the rehearsal lab (issue 26), with the stock kubectl and fabrictui's
commands as typed: calico-node's log tells what the lab's agent did on that node (its
block and tunnel address as the node's annotations say), an nginx pod's log is its access
log (a request from its node, in the nginx image's format), `kubectl get events` and
`fabrictui events` agree, and `fabrictui describe` / `logs` read the lab through the real
backend. Reads only (one HTTP request): the shared lab is left as it was.

Needs root, FRR, sshd and kubectl (the shared lab's); skips without them, fails without them
when CI=true."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests._lab_faults import namespace
from tests._paths import ROOT

pytestmark = pytest.mark.lab

CALICO_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[[A-Z]+\]\[\d+\] \S+\.go \d+: ")


def kubectl(lab: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(lab / "kubeconfig"), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def fabrictui(lab: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore",
        "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", *args, "--lab", str(lab)],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip


def test_logs_events_and_describe_on_the_rehearsal_lab(lab_dir: Path, tmp_path: Path) -> None:
    lab = lab_dir
    pods = json.loads(kubectl(lab, "get", "pods", "-A", "-o", "json").stdout)["items"]
    calico = next(
        p for p in pods
        if p["metadata"]["name"].startswith("calico-node-")
        and p["spec"]["nodeName"] == "k8s-node-l1-1"
    )  # fmt: skip
    name = calico["metadata"]["name"]
    node = json.loads(kubectl(lab, "get", "node", "k8s-node-l1-1", "-o", "json").stdout)
    notes = node["metadata"]["annotations"]
    block = notes["fabrictui.lab/calico-blocks"]
    tunnel = notes["projectcalico.org/IPv4VXLANTunnelAddr"]

    logs = kubectl(lab, "logs", "-n", "kube-system", name, "-c", "calico-node")
    assert logs.returncode == 0, logs.stderr
    lines = logs.stdout.splitlines()
    assert lines and all(CALICO_LINE.match(line) for line in lines), logs.stdout
    assert any(f"Claimed block {block}" in line for line in lines)
    assert any(f'IP="{tunnel}"' in line and "vxlan.calico" in line for line in lines)

    # nginx's access log: one request from a node, in the nginx image's `main` format
    nginx = next(p for p in pods if p["metadata"]["namespace"] == "space1")
    before = kubectl(lab, "logs", "-n", "space1", nginx["metadata"]["name"])
    assert before.returncode == 0 and "GET /drill-down" not in before.stdout
    request = "GET /drill-down HTTP/1.1\\r\\nHost: x\\r\\nUser-Agent: lab-test\\r\\n\\r\\n"
    ask = (
        f"import socket; s = socket.create_connection(('{nginx['status']['podIP']}', 80), 3); "
        f"s.sendall(b'{request}'); print(s.recv(64))"
    )
    node_ns = namespace(lab, nginx["spec"]["nodeName"])
    done = subprocess.run(
        ["ip", "netns", "exec", node_ns, sys.executable, "-c", ask],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert "200 OK" in done.stdout, done.stderr
    after = kubectl(lab, "logs", "-n", "space1", nginx["metadata"]["name"], "--tail", "1")
    assert re.fullmatch(
        r"\S+ - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "
        r'"GET /drill-down HTTP/1.1" 200 0 "-" "lab-test" "-"\n',
        after.stdout,
    ), after.stdout

    events = kubectl(lab, "get", "events", "-n", "kube-system", "--field-selector",
                     f"involvedObject.name={name}")  # fmt: skip
    assert events.returncode == 0 and "Started container calico-node" in events.stdout

    described = fabrictui(lab, tmp_path, "describe", "pod", name, "-n", "kube-system", "--json")
    assert described.returncode == 0, described.stderr
    doc = json.loads(described.stdout)
    sections = {s["title"]: s for s in doc["sections"]}
    assert sections["Status"]["rows"]["Node"] == "k8s-node-l1-1"
    assert any("Started container calico-node" in line for line in sections["Events"]["lines"])
    tail = fabrictui(lab, tmp_path, "logs", name, "-n", "kube-system", "--tail", "2")
    assert tail.returncode == 0 and tail.stdout.splitlines() == lines[-2:]
    mine = fabrictui(lab, tmp_path, "events", "-n", "kube-system", "--for", f"pod/{name}",
                     "--json")  # fmt: skip
    reasons = {e["reason"] for e in json.loads(mine.stdout)["events"]}
    assert {"Pulled", "Created", "Started"} <= reasons
    missing = fabrictui(lab, tmp_path, "logs", "no-such-pod", "-n", "space1")
    assert missing.returncode == 2 and 'pods "no-such-pod" not found' in missing.stderr
