"""`D` with the lab's own manifest (`[deploy] manifest` or `--calico-manifest`): no mode to
ask, a plan that lists every object and whether it exists, the same confirmation and
audit; a manifest the server cannot take is refused before anything is applied."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml

from fabrictui.app import make_app
from fabrictui.audit import read_audit
from fabrictui.backends.demo import DemoBackend
from fabrictui.config import Settings, load_settings
from fabrictui.ui.screens.confirm import AskScreen, ConfirmScreen

OWN = [
    {"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool",
     "metadata": {"name": "default-ipv4-ippool"},
     "spec": {"cidr": "10.64.0.0/12", "vxlanMode": "Always", "ipipMode": "Never"}},
    {"apiVersion": "crd.projectcalico.org/v1", "kind": "BGPPeer",
     "metadata": {"name": "lab-spare-peer"},
     "spec": {"peerIP": "10.0.101.250", "asNumber": 65199, "nodeSelector": "rack == '9'"}},
]  # fmt: skip


def app_with(manifest: Path):
    backend = DemoBackend("ready", seed=1, speed=40.0)
    settings = Settings(fabric_poll_seconds=0.5, host_poll_seconds=1.0, calico_manifest=manifest)
    return make_app(backend, settings)


async def wait_for(pilot, condition, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        assert loop.time() < end, "condition not met in time"
        await pilot.pause(0.05)


async def test_d_applies_the_labs_own_manifest_through_plan_and_audit(tmp_path: Path) -> None:
    own = tmp_path / "calico-extra.yaml"
    own.write_text(yaml.safe_dump_all(OWN))
    app = app_with(own)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.state.kube_state()[0])
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, (ConfirmScreen, AskScreen)))
        assert isinstance(app.screen, ConfirmScreen)  # no mode asked: the file says it
        plan = list(app.screen.plan)
        assert plan[0] == f"will apply 2 objects from {own}: 1 new, 0 would change, 1 unchanged"
        assert plan[1].startswith("by create-or-replace: Kubernetes v1.15.2")
        assert "ippool.crd.projectcalico.org/default-ipv4-ippool: exists, unchanged" in plan
        assert "bgppeer.crd.projectcalico.org/lab-spare-peer: new" in plan
        await pilot.press("y")
        await wait_for(pilot, lambda: app.runner.current and not app.runner.current.is_running)
        history = app.query_one("#action-log").history
        assert any("Calico running on" in line for line in history), history
    starts = [r for r in read_audit() if r.action == "deploy-calico"]
    assert starts and starts[-1].result == "ok"
    assert starts[-1].target == f"cluster, manifest {own}"


async def test_d_refuses_a_manifest_the_server_cannot_take(tmp_path: Path) -> None:
    own = tmp_path / "calicoctl.yaml"
    own.write_text(
        yaml.safe_dump_all(
            [{"apiVersion": "projectcalico.org/v3", "kind": "IPPool", "metadata": {"name": "p"}}]
        )
    )
    app = app_with(own)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.state.kube_state()[0])
        await pilot.press("D")
        history = app.query_one("#action-log").history
        await wait_for(pilot, lambda: any("nothing applied" in line for line in history))
        assert not isinstance(app.screen, ConfirmScreen)
        text = "\n".join(history)
        assert "document 1 (IPPool p): projectcalico.org/v3 is calicoctl's API" in text


def test_the_config_file_names_the_manifest(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[deploy]\nmanifest = "~/lab/calico.yaml"\n')
    assert load_settings(config).calico_manifest == Path("~/lab/calico.yaml").expanduser()
