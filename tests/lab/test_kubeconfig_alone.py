"""`--kubeconfig` of a rehearsal lab and nothing else (issue 30): the Kubernetes checks run
on that cluster and pass; the fabric is not observed (no inventory), said as such."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest

from fabrictui.actions.verify.apps import APP_CHECKS
from tests._cli import fabrictui_in


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    """An empty working directory (no Vagrantfile, no lab) and a HOME with no kubeconfig."""
    work = tmp_path / "empty"
    (tmp_path / "home").mkdir()
    work.mkdir()
    return work


@pytest.mark.lab
@pytest.mark.slow
def test_kubeconfig_of_a_rehearsal_lab_alone(empty: Path) -> None:
    """`--kubeconfig LAB/kubeconfig` and nothing else: the Kubernetes checks run on that
    cluster and pass; the fabric is not observed (no inventory), said as such, not failed."""
    from tests._rehearsal_tui import rehearsal_lab

    with rehearsal_lab(empty.parent / "lab") as lab_dir:
        kc = str(lab_dir / "kubeconfig")
        for argv in (
            ["deploy-calico", "--yes", "--timeout", "120"],
            ["scale", "--replicas", "4", "--yes", "--timeout", "120"],
        ):
            done = fabrictui_in(empty, *argv, "--kubeconfig", kc)
            assert done.returncode == 0, (argv, done.stdout, done.stderr)
            assert done.stdout.splitlines()[0].endswith(f"[kubeconfig] from {kc}")
        done = fabrictui_in(empty, "verify", "--json", "--kubeconfig", kc)
        assert done.returncode == 3, (done.stdout, done.stderr)  # nothing failed, not all seen
        doc = json.loads(done.stdout)
        assert doc["lab"]["kind"] == "kubeconfig" and doc["lab"]["source"] == kc
        checks = {c["name"]: c for c in doc["checks"]}
        for name in ("nodes Ready", "Calico running", "nginx replicas"):
            assert checks[name]["state"] == "pass", checks[name]
        # the seed's nginx image has no ping and a cluster alone gives no SSH to its nodes:
        # the ping is not probed, each method saying why (never a failure)
        ping = checks["cross-rack ping"]
        assert ping["state"] == "not_observed", ping
        assert "no ping in image nginx:1.17" in ping["cause"] and "no SSH endpoint" in ping["cause"]
        # the Service is read from the API; the connect to it is not probed for the same
        # reasons (no curl in the image, no SSH to the node)
        service = checks["nginx-service"]
        assert service["state"] == "not_observed", service
        assert "no curl in image nginx:1.17" in service["cause"], service
        assert "endpoints 4/4 ready" in service["evidence"][1], service
        for name in ("leaf BGP sessions", "VXLAN on the wire"):
            check = checks[name]
            assert check["state"] == "not_observed" and not check["passed"], check
            assert "no switch inventory was given" in check["cause"]
            assert "no switch inventory was given" in check["evidence"][0]
            assert "--lab" in check["evidence"][0]
        # KUBECONFIG in the environment names the same lab; the table says which lab
        done = fabrictui_in(empty, "verify", "-q", KUBECONFIG=kc)
        assert done.returncode == 3, (done.stdout, done.stderr)
        lines = done.stdout.splitlines()
        assert lines[0].startswith("lab: ") and lines[0].endswith(f"[kubeconfig] from {kc}")
        assert lines[1] == "mode: vxlan"
        assert lines[2].startswith("1. leaf BGP sessions") and lines[2].endswith("NOT OBSERVED")
        # path MTU and nginx-service have no probe; "network policy" needs only the API, and
        # cluster DNS a pod's own getent, run through the API
        assert lines[-1] == f"5/{6 + len(APP_CHECKS)} checks passed, 5 not observed"
        routes = fabrictui_in(empty, "routes", "--kubeconfig", kc)
        assert routes.returncode == 0, routes.stderr
        assert "not observed: no switch inventory was given" in routes.stdout
        asyncio.run(tui_on_kubeconfig_alone(kc))


async def tui_on_kubeconfig_alone(kc: str) -> None:
    """`fabrictui --kubeconfig FILE`: that cluster, not the demo lab; its nodes in the VM
    pane, and the fabric pane says no switch inventory was given and how to add one."""
    from fabrictui.app import make_app
    from fabrictui.backends.select import open_backend
    from fabrictui.config import Settings
    from tests._rehearsal_tui import pane_text, wait_for

    args = argparse.Namespace(demo=None, seed=1, lab=None, kubeconfig=kc, context=None, jump=None)
    settings = Settings(fabric_poll_seconds=0.5, host_poll_seconds=1.0, record=False)
    app = make_app(open_backend(args, demo_by_default=True), settings)
    assert app.lab.kind == "kubeconfig" and not app.lab.badge
    async with app.run_test(size=(160, 48)) as pilot:
        fabric = "not observed: no switch inventory was given"
        await wait_for(pilot, lambda: fabric in pane_text(app, "pane-fabric"), 20, "fabric pane")
        assert "--lab" in pane_text(app, "pane-fabric")
        await wait_for(pilot, lambda: "k8s-node-l2-1" in pane_text(app, "pane-vms"), 20, "nodes")
