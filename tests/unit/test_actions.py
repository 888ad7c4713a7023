"""Actions on the demo lab: the seed's story end to end, timeouts, cancellation,
confirmation plans and the ping matrix's diagnosis."""

from __future__ import annotations

import asyncio

import pytest

from fabrictui.actions.change.deploy import deploy_calico
from fabrictui.actions.change.plans import (
    current_replicas,
    plan_deploy_calico,
    plan_fault,
    plan_scale,
    plan_scale_on,
)
from fabrictui.actions.change.scale import NO_READY_NODE, scale_workload
from fabrictui.actions.ping.mesh import PingMatrix, ping_mesh
from fabrictui.actions.progress import Progress, ignore
from fabrictui.actions.verify.apps import APP_CHECKS
from fabrictui.actions.verify.run import verify
from fabrictui.actions.verify.vxlan import CHECKS
from fabrictui.intent.calico_vxlan import manifest_objects

SEED_PODS = {
    "nginx-deployment-55457b9d87-nnzz5": ("k8s-node-l1-2", "10.65.76.193"),
    "nginx-deployment-55457b9d87-x9llj": ("k8s-node-l1-1", "10.67.209.2"),
    "nginx-deployment-55457b9d87-xhhwl": ("k8s-node-l2-2", "10.76.172.132"),
    "nginx-deployment-55457b9d87-z9pl9": ("k8s-node-l2-1", "10.68.86.129"),
}


class Recorder:
    def __init__(self) -> None:
        self.items: list[Progress] = []

    def __call__(self, progress: Progress) -> None:
        self.items.append(progress)

    @property
    def messages(self) -> list[str]:
        return [p.message for p in self.items]


async def test_seed_story(fresh):
    before = await verify(fresh, ignore)
    # the mode's six, then the application checks (none passes before the workload runs)
    assert [r.passed for r in before] == [True] + [False] * (5 + len(APP_CHECKS))
    services = next(r for r in before if r.name == "nginx-service")
    assert services.cause == "service space1/nginx-service does not exist"  # not deployed yet
    assert before[1].cause.startswith("NotReady: k8s-master-l1-1")
    assert before[4].cause.startswith("cannot run")

    progress = Recorder()
    deployed = await deploy_calico(fresh, progress, timeout=60)
    assert deployed.ok, deployed.summary
    assert "calico-node Running, Ready" in progress.messages[-2]
    assert any(m.endswith("calico-node ContainerCreating, NotReady") for m in progress.messages)
    assert any(m.startswith("k8s-node-l2-1: calico-node Running, Ready") for m in progress.messages)
    assert all(0 <= p.fraction <= 1 for p in progress.items if p.fraction is not None)
    assert "daemonset.apps/calico-node created" in deployed.details

    progress = Recorder()
    scaled = await scale_workload(fresh, progress, replicas=4, timeout=60)
    assert scaled.ok and scaled.summary.endswith("4 replicas Running on 4 distinct nodes")
    for name, (node, ip) in SEED_PODS.items():
        assert f"{name}: ContainerCreating → Running on {node} ({ip})" in progress.messages

    mesh = await ping_mesh(fresh, Recorder())
    assert mesh.all_ok and len(mesh.results) == 12 and mesh.failures() == []
    keys = {p.name: p.key for p in mesh.pods}
    l1, l2 = keys["nginx-deployment-55457b9d87-nnzz5"], keys["nginx-deployment-55457b9d87-z9pl9"]
    assert mesh.same_rack(l1, keys["nginx-deployment-55457b9d87-x9llj"])
    assert not mesh.same_rack(l1, l2)
    assert mesh.results[(l2, l1)].ttl == 62 and mesh.diagnose((l2, l1)) is None

    results = await verify(fresh, ignore)
    assert [r.name for r in results] == [*CHECKS, *(name for name, _ in APP_CHECKS)]
    assert all(r.passed for r in results), [r.cause for r in results]
    wire = results[5].evidence
    assert any(
        "10.0.102.101." in e
        and "> 10.0.101.102.4789: VXLAN" in e
        and "vni 4096" in e
        and "10.68.86.129 > 10.65.76.193: ICMP echo request" in e
        for e in wire
    )
    assert "ttl 62" in results[4].evidence[0]


async def test_deploy_times_out_naming_what_is_missing(fresh):
    await fresh.set_fault("stop-calico-node:k8s-node-l2-2", True)
    result = await deploy_calico(fresh, ignore, timeout=0.2)  # 200 simulated seconds
    assert not result.ok
    assert "k8s-node-l2-2: calico-node" in result.summary
    assert "k8s-node-l1-1" not in result.summary


async def test_scale_down_and_up(ready):
    progress = Recorder()
    result = await scale_workload(ready, progress, replicas=2, timeout=30)
    assert result.ok
    assert any(m.endswith(": deleted") for m in progress.messages)
    assert len(await ready.list_pods("space1")) == 2
    assert await current_replicas(ready) == 2
    assert (await scale_workload(ready, ignore, replicas=4, timeout=30)).ok


async def test_ping_mesh_diagnoses_failures(ready):
    await ready.set_fault("stop-calico-node:k8s-node-l2-1", True)
    await ready.advance(3)
    mesh = await ping_mesh(ready, ignore, count=1)
    assert not mesh.all_ok
    failed = mesh.failures()
    assert len(failed) == 6  # every pair with the pod on k8s-node-l2-1
    for pair in failed:
        assert "calico-node not running on k8s-node-l2-1" in mesh.diagnose(pair)
    ok_pair = next(p for p in mesh.pairs if p not in failed)
    assert mesh.diagnose(ok_pair) is None


async def test_ping_mesh_with_fewer_than_two_pods(fresh):
    progress = Recorder()
    mesh = await ping_mesh(fresh, progress)
    assert isinstance(mesh, PingMatrix) and mesh.pods == () and not mesh.all_ok
    assert progress.items[-1].level == "warning"


async def no_other_tasks() -> bool:
    await asyncio.sleep(0)
    current = asyncio.current_task()
    others = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    names = [t.get_name() for t in others]
    assert names == ["demo-lab-driver"], [(t.get_name(), t.get_coro()) for t in others]
    return True


@pytest.mark.parametrize("which", ["deploy", "scale", "mesh", "verify"])
async def test_cancellation_leaves_nothing_running(fresh, which):
    if which != "deploy":
        await deploy_calico(fresh, ignore)
    if which in ("mesh", "verify"):
        await scale_workload(fresh, ignore)
    fresh.sim.speed = 20.0  # slow enough to be caught in the middle
    started = asyncio.Event()

    def report(progress: Progress) -> None:
        if (
            "ping" in progress.message
            or "applied" in progress.message
            or "scaling" in (progress.message)
        ):
            started.set()

    action = {
        "deploy": lambda: deploy_calico(fresh, report),
        "scale": lambda: scale_workload(fresh, report, replicas=2),
        "mesh": lambda: ping_mesh(fresh, report),
        "verify": lambda: verify(fresh, report),
    }[which]
    task = asyncio.create_task(action())
    await asyncio.wait_for(started.wait(), timeout=5)
    await asyncio.sleep(0.01)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await no_other_tasks()
    assert fresh.hub._subs == [] and fresh.traffic.captures == []


def test_plans():
    lines = plan_deploy_calico()
    assert lines[0].startswith(f"will apply {len(manifest_objects())} objects: ")
    assert "10.64.0.0/12" in lines[1]
    assert plan_scale(1, 4)[0] == "space1/nginx-deployment: 1 → 4 replicas"
    assert "2 pods will be deleted" in plan_scale(4, 2)[1]
    created = plan_scale(None, 4)
    assert "namespace space1" in created[0] and created[1].endswith("0 → 4 replicas")
    assert plan_fault("stop-spine:spine-sw1", True, "Stop spine spine-sw1")[0] == (
        "inject: Stop spine spine-sw1"
    )
    assert plan_fault("stop-spine:spine-sw1", False)[0] == "clear: stop-spine:spine-sw1"


async def test_plan_scale_reads_the_lab(fresh, ready):
    created = await plan_scale_on(fresh, 2)
    assert "will create namespace space1" in created[0]
    assert await plan_scale_on(ready, 2) == [
        "space1/nginx-deployment: 4 → 2 replicas",
        "2 pods will be deleted (newest first)",
    ]
    await ready.scale_deployment("space1", "nginx-deployment", 0)
    await ready.advance(5)
    assert await ready.list_pods("space1") == []
    # Scaled to 0 is not missing: the plan says what scale will really do.
    assert await plan_scale_on(ready, 3) == ["space1/nginx-deployment: 0 → 3 replicas"]


async def test_plan_scale_on_a_lab_that_cannot_read_deployments(ready, monkeypatch):
    async def cannot(namespace: str, name: str) -> int | None:
        raise NotImplementedError

    monkeypatch.setattr(ready, "deployment_replicas", cannot)
    assert (await plan_scale_on(ready, 4))[0] == "space1/nginx-deployment: 4 → 4 replicas"


async def test_scale_with_no_ready_node_fails_at_once_and_changes_nothing(fresh):
    progress = Recorder()
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await scale_workload(fresh, progress, replicas=2, timeout=60)
    assert loop.time() - started < 10  # at once, not after the 60 s timeout
    assert not result.ok and result.summary.endswith(NO_READY_NODE)
    assert await fresh.deployment_replicas("space1", "nginx-deployment") is None
    assert await fresh.list_pods("space1") == []
    # Scaling to 0 needs no node, so it is not refused.
    assert (await scale_workload(fresh, ignore, replicas=0, timeout=5)).ok


async def test_scale_waits_for_nodes_when_asked(fresh):
    async def calico_later() -> None:
        await asyncio.sleep(0.05)
        await deploy_calico(fresh, ignore)

    later = asyncio.create_task(calico_later())
    progress = Recorder()
    result = await scale_workload(fresh, progress, replicas=2, timeout=30, wait_for_nodes=True)
    await later
    assert result.ok, result.summary
    assert any("pods stay Pending: 0/5 nodes are available" in m for m in progress.messages)


async def test_scale_timeout_bounds_the_whole_action(ready):
    """Thousands of pods: the kubelet's limit leaves most Pending; the action ends at
    its timeout, says why, and reports counts rather than a line per pod."""
    progress = Recorder()
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await scale_workload(ready, progress, replicas=5000, timeout=1.0)
    took = loop.time() - started
    assert 0.9 <= took < 2.0, took
    assert not result.ok
    assert "of 5000 pods Running after 1 s" in result.summary
    assert result.summary.endswith("4 Too many pods.")
    assert len(progress.items) < 120
    assert len(result.details) <= 51 and result.details[-1].startswith("... and ")
