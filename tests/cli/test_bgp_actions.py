"""Deploying in BGP mode and migrating between the modes (issue 11): the plan shows the
Kubernetes objects and each switch's configuration in its own language and asks first,
the change is audited and refused read-only, and the migration is measured."""

from __future__ import annotations

import pytest

from fabrictui import audit, cli
from fabrictui.actions.change.bgp_mode import (
    deploy_mode,
    design_on,
    migrate,
    plan_bgp_mode,
    plan_deploy_mode,
    switch_to_bgp,
)
from fabrictui.actions.progress import Progress
from fabrictui.actions.verify.run import verify
from fabrictui.backends.demo.backend import DemoBackend
from fabrictui.intent.calico_bgp import leaf_lines
from tests.demo_helpers import fast_backend, fast_demo_only


def ignore(_progress: Progress) -> None:
    pass


@pytest.fixture
def fast_demo(monkeypatch):
    fast_demo_only(monkeypatch)


async def test_plan_shows_objects_and_switch_config_in_order() -> None:
    lab = DemoBackend("ready")
    lines = plan_bgp_mode(await design_on(lab))
    text = "\n".join(lines)
    assert "leaf1 (nclu):" in text and "spine-sw1 (vtysh):" in text
    assert "    net add bgp listen range 10.0.101.0/24 peer-group calico" in lines
    assert "    net add bgp neighbor calico remote-as external" in lines
    order = [
        next(i for i, line in enumerate(lines) if needle in line)
        for needle in (
            "BGPPeer rack-leaf2",
            "waits until every node's session",
            "nodeToNodeMeshEnabled false",
            "vxlanMode Never",
        )
    ]
    assert order == sorted(order)


def test_vtysh_leaf_gets_a_policy_and_removal_leaves_nothing() -> None:
    from fabrictui.intent.calico_bgp import design_for
    from fabrictui.intent.labshape import pattern_shape

    design = design_for(pattern_shape(), "10.64.0.0/12")
    lines = leaf_lines(design, "leaf2", "vtysh")
    assert " bgp listen range 10.0.102.0/24 peer-group calico" in lines
    assert "  neighbor calico route-map CALICO-IN in" in lines
    assert "ip prefix-list CALICO-PODS seq 10 permit 10.64.0.0/12 ge 26 le 32" in lines
    removal = leaf_lines(design, "leaf2", "vtysh", remove=True)
    assert " no bgp listen range 10.0.102.0/24 peer-group calico" in removal


async def test_plan_on_a_running_cluster_is_a_measured_migration() -> None:
    lab = DemoBackend("ready")
    lines = await plan_deploy_mode(lab, "bgp")
    assert lines[0].startswith("migration from VXLAN to BGP mode")
    back = await plan_deploy_mode(DemoBackend("ready-bgp"), "vxlan")
    assert back[0].startswith("migration from BGP to VXLAN mode")
    assert any("net del bgp listen range" in line for line in back)
    fresh = await plan_deploy_mode(DemoBackend("fresh"), "bgp")
    assert fresh[0].startswith("will apply ") and any("vxlanMode Never" in x for x in fresh)


def test_headless_bgp_deploy_is_audited(fast_demo, capsys) -> None:
    assert cli.main(["deploy-calico", "--demo", "fresh", "--mode", "bgp", "--yes"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[1:] == ["Calico in BGP mode: 5 nodes peer with 2 leaves"]
    audit.flush()
    (row,) = [r for r in audit.read_audit() if r.action == "deploy-calico"]
    assert row.result == "ok" and "bgp mode" in row.target
    # the plan, then what was run
    assert any("net add bgp listen range 10.0.102.0/24" in line for line in row.calls)
    assert any("demo: leaf2: net commit" in call for call in row.executed)
    assert any("demo: apply BGPPeer rack-leaf1" in call for call in row.executed)


def test_headless_bgp_deploy_refused_read_only(fast_demo, capsys) -> None:
    assert (
        cli.main(["deploy-calico", "--demo", "ready", "--mode", "bgp", "--yes", "--read-only"]) == 2
    )
    assert "read-only" in capsys.readouterr().err
    audit.flush()
    assert [r.result for r in audit.read_audit()] == ["refused"]


async def test_switch_to_bgp_waits_for_sessions_before_the_mesh_goes() -> None:
    lab = fast_backend("ready")
    await lab.start()
    try:
        result = await switch_to_bgp(lab, ignore)
        assert result.ok, result.summary
        calls = list(result.details)
        assert calls.index("bgppeer.crd.projectcalico.org/rack-leaf2 configured") < (
            calls.index("bgpconfiguration.crd.projectcalico.org/default configured")
        )
        assert await lab.calico_mode() == "bgp"
    finally:
        await lab.close()


async def test_switch_refuses_to_turn_the_mesh_off_without_sessions() -> None:
    lab = fast_backend("ready")
    await lab.start()
    try:
        await lab.set_fault("stop-calico-node:k8s-node-l1-1", True)  # no BIRD there
        result = await switch_to_bgp(lab, ignore, timeout=0.5)
        assert not result.ok and "leaf1: no session from k8s-node-l1-1" in result.summary
        assert await lab.calico_mode() == "vxlan" and lab.bgp.mesh
    finally:
        await lab.close()


@pytest.mark.slow
async def test_migration_there_and_back_is_measured_and_leaves_nothing() -> None:
    lab = DemoBackend("ready", speed=1.0)  # real time: the probes are 0.2 s apart
    await lab.start()
    try:
        result, there = await migrate(lab, ignore, "bgp")
        assert result.ok and there is not None
        assert there.probes >= 20 and there.lost <= there.probes
        assert there.last_before is not None and there.first_after is not None
        assert 0 < there.first_after - there.last_before < 2.0
        assert [r.passed for r in await verify(lab, ignore)] == [True] * 9  # with nginx-service
        back = await deploy_mode(lab, ignore, "vxlan")
        assert back.ok, back.summary
        assert await lab.calico_mode() == "vxlan"
        assert (lab.bgp.listen, lab.bgp.peers, lab.bgp.backend) == ({}, {}, "vxlan")
        assert [r.passed for r in await verify(lab, ignore)] == [True] * 7  # with nginx-service
    finally:
        await lab.close()
