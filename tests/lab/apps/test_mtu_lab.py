"""Path MTU on the rehearsal lab (issue 19): veths in network namespaces and kernel VXLAN,
so the drops are the kernel's own. Healthy, verify's "path MTU" passes; with a leaf port
facing a worker set to MTU 1400 (the lab's fault `mtu:<leaf>:<port>`), verify fails it
naming that port and `fabrictui mtu` reports the largest size that crossed; cleared, it
passes again. The lab is taken down in a finally (no namespace of it may remain).

Needs root, FRR, sshd, tcpdump and kubectl; skips without them, fails without them when
CI=true.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests._paths import ROOT
from tests._rehearsal_tui import open_lab

pytestmark = pytest.mark.lab


def fabrictui(lab: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", *args, "--lab", str(lab)],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip


def path_mtu(done: subprocess.CompletedProcess[str]) -> dict:
    return next(c for c in json.loads(done.stdout)["checks"] if c["name"] == "path MTU")


async def set_fault(lab: Path, fault_id: str, active: bool) -> str:
    """Inject or clear a fault as the palette does; the fault's title."""
    backend = open_lab(lab)
    await backend.start()
    try:
        title = next(f.title for f in backend.faults() if f.id == fault_id)
        await backend.set_fault(fault_id, active)
        return title
    finally:
        await backend.close()


def test_a_leaf_port_too_small_is_found_and_cleared(lab_dir: Path, tmp_path: Path) -> None:
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore",
        "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }  # fmt: skip
    lab = lab_dir  # deployed and scaled to 4 (tests/lab/apps/conftest.py)
    pods = subprocess.run(
        ["kubectl", "--kubeconfig", str(lab / "kubeconfig"), "get", "pods", "-n", "space1",
         "-o", "json"], capture_output=True, text=True, check=True,
    )  # fmt: skip
    where = {p["spec"]["nodeName"]: p["metadata"]["name"] for p in json.loads(pods.stdout)["items"]}
    source, target = where["k8s-node-l1-1"], where["k8s-node-l2-1"]

    started = time.monotonic()
    healthy = fabrictui(lab, env, "verify", "--json")
    healthy_s = time.monotonic() - started
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    check = path_mtu(healthy)
    assert check["state"] == "pass", check
    assert check["evidence"][0].startswith("pod MTU 1450 (read from the pod's interface)")
    assert "8/8 cross-rack pairs: 1422-byte DF pings" in check["evidence"][-1]

    # the leaf port facing k8s-node-l1-1, as the lab's fault list names it
    backend = open_lab(lab)
    fault = next(
        f for f in backend.faults() if f.id.startswith("mtu:leaf1:")
        and f.title.endswith("(the port facing k8s-node-l1-1)")
    )  # fmt: skip
    port = fault.id.split(":")[2]
    asyncio.run(set_fault(lab, fault.id, True))
    try:
        started = time.monotonic()
        broken = fabrictui(lab, env, "verify", "--json")
        broken_s = time.monotonic() - started
        assert broken.returncode == 1, broken.stdout + broken.stderr
        check = path_mtu(broken)
        assert check["state"] == "fail", check
        assert f"where: leaf1 {port} (mtu 1400, needs 1500)" in check["cause"]
        assert f"ip link set dev {port} mtu 1500" in check["cause"]

        done = fabrictui(lab, env, "mtu", "--from", source, "--to", target, "--json")
        assert done.returncode == 1, done.stdout + done.stderr
        doc = json.loads(done.stdout)
        # the kernel's veth takes a frame up to MTU + 14 (Ethernet) + 4 (a VLAN tag):
        # outer IP packets of 1404 bytes, so 1354-byte pod packets, cross; none larger
        assert (doc["largest_packet"], doc["smallest_dead"]) == (1354, 1327), doc
        assert doc["culprit"] == {
            "host": "leaf1", "interface": port, "mtu": 1400, "needs": 1500, "pod_side": False
        }  # fmt: skip
    finally:
        asyncio.run(set_fault(lab, fault.id, False))
    cleared = fabrictui(lab, env, "verify", "--json")
    assert cleared.returncode == 0, cleared.stdout + cleared.stderr
    assert path_mtu(cleared)["state"] == "pass"
    print(f"verify healthy {healthy_s:.1f} s, with the fault {broken_s:.1f} s")
