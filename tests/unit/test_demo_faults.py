"""Faults of the demo lab: each breaks what the real lab would break, verify names
the cause, and clearing it brings the lab back."""

from __future__ import annotations

import pytest

from fabrictui.actions.progress import ignore
from fabrictui.actions.verify.run import verify
from fabrictui.backends.base import BackendError, NotFound
from fabrictui.model import VmState
from tests.demo_helpers import drain, fast_backend

NNZZ5 = "space1/nginx-deployment-55457b9d87-nnzz5"


@pytest.fixture
async def lab():
    backend = fast_backend("ready")
    await backend.start()
    yield backend
    await backend.close()


async def states(backend, switch: str) -> dict[str, str]:
    reading = await backend.bgp_summary(switch)
    assert reading.summary is not None, reading.error
    return {p.neighbor: p.state for p in reading.summary.peers}


async def pod_on(backend, node: str):
    return next(p for p in await backend.list_pods("space1") if p.node == node)


async def failed(backend) -> dict[str, str]:
    return {r.name: r.cause for r in await verify(backend, ignore) if not r.passed}


async def test_catalogue_and_persistence(lab):
    ids = {f.id for f in lab.faults()}
    assert {
        "stop-spine:spine-sw1",
        "stop-spine:spine-sw2",
        "cut-uplink:leaf1:spine-sw1",
        "cut-uplink:leaf2:spine-sw2",
        "stop-calico-node:k8s-node-l1-2",
        f"blackhole-pod:{NNZZ5}",
    } <= ids
    assert not any(f.active for f in lab.faults())
    await lab.set_fault("cut-uplink:leaf1:spine-sw2", True)
    await lab.list_pods()
    await lab.advance(5)
    active = [f.id for f in lab.faults() if f.active]
    assert active == ["cut-uplink:leaf1:spine-sw2"]
    with pytest.raises(BackendError):
        await lab.set_fault("melt-datacenter:now", True)
    with pytest.raises(NotFound):
        await lab.set_fault("stop-spine:spine-sw9", True)
    with pytest.raises(NotFound):
        await lab.set_fault("blackhole-pod:space1/nobody", True)


async def test_stop_spine(lab):
    await lab.set_fault("stop-spine:spine-sw1", True)
    hosts = {h.name: h.state for h in await lab.list_hosts()}
    assert hosts["spine-sw1"] is VmState.POWEROFF
    reading = await lab.bgp_summary("spine-sw1")
    assert reading.summary is None and "powered off" in reading.error
    await lab.advance(1)
    assert (await states(lab, "leaf1"))["172.16.0.0"] == "Established"  # hold timer runs
    await lab.advance(12)
    leaf1 = await states(lab, "leaf1")
    assert leaf1["172.16.0.0"] in ("Idle", "Connect", "Active")
    assert leaf1["172.16.0.4"] == "Established"
    await lab.advance(30)
    assert (await states(lab, "leaf2"))["172.16.0.2"] in ("Connect", "Active")
    src = await pod_on(lab, "k8s-node-l2-1")
    assert (await lab.ping(src, "10.65.76.193", count=3)).ok  # via spine-sw2
    causes = await failed(lab)
    assert list(causes) == ["leaf BGP sessions"]
    assert "leaf1: session to spine-sw1 (172.16.0.0) is " in causes["leaf BGP sessions"]
    assert "spine-sw1 VM is poweroff" in causes["leaf BGP sessions"]
    await lab.set_fault("stop-spine:spine-sw1", False)
    await lab.advance(5)
    assert "booting" in (await lab.bgp_summary("spine-sw1")).error
    await lab.advance(20)
    reading = await lab.bgp_summary("leaf1")
    peer = next(p for p in reading.summary.peers if p.neighbor == "172.16.0.0")
    assert peer.established and peer.uptime.startswith("00:00:")  # a fresh session
    assert peer.prefixes_received == 3
    assert await failed(lab) == {}


async def test_cut_uplink(lab):
    await lab.set_fault("cut-uplink:leaf1:spine-sw1", True)
    leaf1 = await states(lab, "leaf1")
    spine = await states(lab, "spine-sw1")
    assert leaf1["172.16.0.0"] != "Established" and spine["172.16.0.1"] != "Established"
    await lab.advance(3)
    assert (await states(lab, "leaf1"))["172.16.0.0"] in ("Active", "Connect")
    summary = (await lab.bgp_summary("leaf1")).summary
    via_sw2 = next(p for p in summary.peers if p.neighbor == "172.16.0.4")
    # spine-sw2 now reaches spine-sw1's loopback only via leaf2, so it offers leaf1 four
    # prefixes instead of three (eBGP best path + AS-path loop check)
    assert via_sw2.established and via_sw2.prefixes_received == 4
    src = await pod_on(lab, "k8s-node-l1-2")
    assert (await lab.ping(src, "10.68.86.129", count=3)).ok  # leaf1's prefixes via spine-sw2
    causes = await failed(lab)
    assert list(causes) == ["leaf BGP sessions"]
    assert causes["leaf BGP sessions"].startswith("leaf1: session to spine-sw1 (172.16.0.0) is ")
    await lab.set_fault("cut-uplink:leaf1:spine-sw1", False)
    await lab.advance(3)
    assert (await states(lab, "leaf1"))["172.16.0.0"] == "Established"
    assert await failed(lab) == {}


async def test_stop_calico_node(lab):
    await lab.set_fault("stop-calico-node:k8s-node-l1-2", True)
    await lab.advance(5)
    calico = next(
        p
        for p in await lab.list_pods("kube-system")
        if p.name.startswith("calico-node-") and p.node == "k8s-node-l1-2"
    )
    assert not calico.running and calico.status in ("CrashLoopBackOff", "Error", "Running")
    first_restarts = calico.restarts
    await lab.advance(120)
    calico = next(p for p in await lab.list_pods("kube-system") if p.key == calico.key)
    assert calico.restarts > first_restarts and not calico.running
    src = await pod_on(lab, "k8s-node-l2-1")
    assert not (await lab.ping(src, "10.65.76.193", count=2)).ok  # to its pods
    nnzz5 = await pod_on(lab, "k8s-node-l1-2")
    assert not (await lab.ping(nnzz5, "10.68.86.129", count=2)).ok  # from its pods
    assert (await lab.ping(src, "10.67.209.2", count=2)).ok  # others are fine
    causes = await failed(lab)
    assert causes["Calico running"].startswith("calico-node not running on k8s-node-l1-2")
    assert "calico-node not running on k8s-node-l1-2" in causes["cross-rack ping"]
    assert "leaf BGP sessions" not in causes and "nodes Ready" not in causes
    await lab.set_fault("stop-calico-node:k8s-node-l1-2", False)
    await lab.advance(5)
    assert await failed(lab) == {}


async def test_blackhole_pod(lab):
    await lab.set_fault(f"blackhole-pod:{NNZZ5}", True)
    src = await pod_on(lab, "k8s-node-l2-1")
    capture = await lab.open_capture("k8s-node-l2-1")
    result = await lab.ping(src, "10.65.76.193", count=3)
    _, frames = await drain(capture)
    assert not result.ok and result.transmitted == 3 and result.received == 0
    mine = [f for f in frames if "10.65.76.193" in (f.inner_src, f.inner_dst)]
    assert [f.icmp_type for f in mine] == [8, 8, 8]  # requests leave, no reply comes back
    assert (await lab.ping(src, "10.67.209.2", count=2)).ok
    causes = await failed(lab)
    assert causes["cross-rack ping"] == f"{NNZZ5} (10.65.76.193) is black-holed"
    assert causes["VXLAN on the wire"].startswith("cannot run")
    await lab.set_fault(f"blackhole-pod:{NNZZ5}", False)
    assert await failed(lab) == {}


async def test_both_spines_down_cuts_racks_apart(lab):
    await lab.set_fault("stop-spine:spine-sw1", True)
    await lab.set_fault("stop-spine:spine-sw2", True)
    await lab.advance(15)
    src = await pod_on(lab, "k8s-node-l2-1")
    assert not (await lab.ping(src, "10.65.76.193", count=2)).ok  # rack 2 -> rack 1
    assert (await lab.ping(src, "10.76.172.132", count=2)).ok  # same rack
    causes = await failed(lab)
    assert causes["cross-rack ping"].startswith("no path between rack 2 and rack 1")
    for spine in ("spine-sw1", "spine-sw2"):
        await lab.set_fault(f"stop-spine:{spine}", False)
    await lab.advance(20)
    assert await failed(lab) == {}


async def test_vm_actions_on_spines(lab):
    lines = [line async for line in lab.vm_action("spine-sw2", "halt")]
    assert lines == ["==> spine-sw2: Attempting graceful shutdown of VM..."]
    assert {f.id for f in lab.faults() if f.active} == {"stop-spine:spine-sw2"}
    hosts = {h.name: h.state for h in await lab.list_hosts()}
    assert hosts["spine-sw2"] is VmState.POWEROFF
    lines = [line async for line in lab.vm_action("spine-sw2", "up")]
    assert lines[-1] == "==> spine-sw2: Machine booted and ready!"
    assert not any(f.active for f in lab.faults())
    with pytest.raises(BackendError):
        [line async for line in lab.vm_action("leaf1", "halt")]
    with pytest.raises(BackendError):
        [line async for line in lab.vm_action("spine-sw1", "destroy")]
