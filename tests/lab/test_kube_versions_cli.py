"""The seed's workflow by the command line a user types, on a rehearsal lab claiming the
seed's Kubernetes 1.15.2 and on one claiming 1.29.0 (issue 18, section 1): deploy in
VXLAN mode, scale to 4, verify, ping, trace, then the lab's own manifest.

One lab per version, shared by the steps (module-scoped, in order); every lab is taken
down in a finally. Needs root, FRR, sshd, tcpdump and kubectl; skips without them, fails
without them when CI=true.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests._paths import CALICO_MANIFEST, CALICO_MANIFEST_1_15, ROOT
from tests._require import require

pytestmark = pytest.mark.lab

VERSIONS = {
    "1.15.2": ("v3.10.1", "create-or-replace", CALICO_MANIFEST_1_15, CALICO_MANIFEST),
    "1.29.0": ("v3.26.4", "server-side apply", CALICO_MANIFEST, CALICO_MANIFEST_1_15),
}
OWN = [  # what a lab's own manifest adds to Calico: its pool and BGP settings
    {"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool",
     "metadata": {"name": "lab-extra-pool"},
     "spec": {"cidr": "10.80.0.0/16", "blockSize": 26, "vxlanMode": "Always",
              "ipipMode": "Never", "natOutgoing": True, "disabled": True}},
    {"apiVersion": "crd.projectcalico.org/v1", "kind": "BGPConfiguration",
     "metadata": {"name": "default"}, "spec": {"nodeToNodeMeshEnabled": True}},
    {"apiVersion": "crd.projectcalico.org/v1", "kind": "BGPPeer",
     "metadata": {"name": "lab-spare-peer"},
     "spec": {"peerIP": "10.0.101.250", "asNumber": 65199, "nodeSelector": "rack == '9'"}},
]  # fmt: skip


def fabrictui(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """`fabrictui ...` as a user types it, in a child process: the installed `fabrictui`
    script is `fabrictui.cli:main`, run here from this checkout (`python -m fabrictui.cli`)
    so the script of whichever checkout pip installed last does not matter."""
    return subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def audit_records(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["XDG_STATE_HOME"]) / "fabrictui" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module", params=sorted(VERSIONS))
def lab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    require(sys.platform.startswith("linux"), "the rehearsal lab needs Linux")
    require(os.geteuid() == 0, "the rehearsal lab needs root")
    for tool in ("ip", "/usr/lib/frr/bgpd", "/usr/sbin/sshd", "tcpdump", "kubectl"):
        require(tool)
    version = request.param
    base = tmp_path_factory.mktemp(f"kube-{version}")
    lab_dir = base / "lab"
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(base / "state"),  # this lab's own audit log
        "XDG_CONFIG_HOME": str(base / "config"),
        "PYTHONWARNINGS": "ignore",
        "PYTHONPATH": str(ROOT),
    }
    lab_id = ""
    try:
        up = fabrictui(env, "lab", "up", "--dir", str(lab_dir), "--kube-version", version)
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"kube API up (Kubernetes v{version})" in up.stdout
        lab_id = json.loads((lab_dir / "state.json").read_text())["lab_id"]
        yield {"dir": lab_dir, "env": env, "version": version, "expect": VERSIONS[version]}
    finally:
        down = fabrictui(env, "lab", "down", "--dir", str(lab_dir))
        assert down.returncode == 0, down.stderr
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not [n for n in listing.split() if lab_id and n.startswith(f"ftl-{lab_id}-")]


def run(lab: dict[str, Any], *args: str) -> subprocess.CompletedProcess:
    return fabrictui(lab["env"], *args, "--lab", str(lab["dir"]))


def test_deploy_picks_the_calico_the_server_supports(lab: dict[str, Any]) -> None:
    release, method, _, _ = lab["expect"]
    done = run(lab, "deploy-calico", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"applying Calico {release} (VXLAN, pool 10.64.0.0/12) by {method}" in done.stderr
    assert "applied 23 objects (23 created)" in done.stderr
    assert "Calico running on 5 nodes, all Ready" in done.stdout
    start = [r for r in audit_records(lab["env"]) if r["event"] == "start"][-1]
    assert any(f"Calico {release}" in line and "documented" in line for line in start["calls"])
    calls = [r["call"] for r in audit_records(lab["env"]) if r["event"] == "call"]
    marker = "POST (create; no server-side apply" if method == "create-or-replace" else "PATCH"
    assert len([c for c in calls if c.startswith(marker)]) == 23
    again = run(lab, "deploy-calico", "--yes")
    assert again.returncode == 0 and "applied 23 objects (0 created)" in again.stderr


def test_scale_to_four(lab: dict[str, Any]) -> None:
    done = run(lab, "scale", "--replicas", "4", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr


def test_verify_passes(lab: dict[str, Any]) -> None:
    done = run(lab, "verify", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7/7 checks passed" in done.stdout  # the six of VXLAN mode, then nginx-service


def test_ping_mesh(lab: dict[str, Any]) -> None:
    done = run(lab, "ping", "-q", "-c", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "12/12 pairs ok" in done.stdout


def test_trace_across_racks(lab: dict[str, Any]) -> None:
    got = subprocess.run(
        ["kubectl", "--kubeconfig", str(lab["dir"] / "kubeconfig"), "get", "pods", "-n",
         "space1", "-o", "json"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    pods = json.loads(got.stdout)["items"]
    by_rack: dict[str, str] = {}
    for pod in pods:
        by_rack.setdefault(pod["spec"]["nodeName"].split("-")[2], pod["metadata"]["name"])
    assert len(by_rack) == 2, by_rack
    src, dst = (f"space1/{name}" for name in by_rack.values())
    done = run(lab, "trace", "--from", src, "--to", dst, "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DELIVERED" in done.stdout


def test_the_labs_own_manifest(lab: dict[str, Any], tmp_path: Path) -> None:
    _, method, _, foreign = lab["expect"]
    own = tmp_path / "calico-extra.yaml"
    own.write_text(yaml.safe_dump_all(OWN))
    done = run(lab, "deploy-calico", "--manifest", str(own), "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"applying {own} (3 objects) by {method}" in done.stderr
    start = [r for r in audit_records(lab["env"]) if r["event"] == "start"][-1]
    assert start["target"] == f"cluster, manifest {own}"
    assert start["calls"][0].startswith(f"will apply 3 objects from {own}: ")
    assert "ippool.crd.projectcalico.org/lab-extra-pool: new" in start["calls"]
    assert "bgppeer.crd.projectcalico.org/lab-spare-peer: new" in start["calls"]
    again = run(lab, "deploy-calico", "--manifest", str(own), "--yes")
    assert again.returncode == 0
    start = [r for r in audit_records(lab["env"]) if r["event"] == "start"][-1]
    assert start["calls"][0].endswith("0 new, 0 would change, 3 unchanged")
    # the other era's Calico: refused whole, each document named, nothing applied
    before = len(audit_records(lab["env"]))
    refused = run(lab, "deploy-calico", "--manifest", str(foreign), "--yes")
    assert refused.returncode == 2
    assert "nothing applied" in refused.stderr and "document 2 (CustomResourceDefinition" in (
        refused.stderr
    )
    assert "Traceback" not in refused.stderr
    assert not [r for r in audit_records(lab["env"])[before:] if r["event"] == "call"]
