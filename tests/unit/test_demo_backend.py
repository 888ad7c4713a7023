"""The demo lab: topology, fresh and ready states, BGP text, watches, Calico,
workload, pings and captures, determinism."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from fabrictui.backends.base import BackendError, DemoWorkload, NotFound
from fabrictui.backends.demo import DemoBackend
from fabrictui.intent.calico_vxlan import manifest_objects
from fabrictui.model import Role, VmState
from fabrictui.parsers.bgp import parse_bgp_summary
from tests.demo_helpers import FAST, drain, frozen_backend

SEED_NGINX = {
    "nginx-deployment-55457b9d87-nnzz5": ("10.65.76.193", "k8s-node-l1-2"),
    "nginx-deployment-55457b9d87-x9llj": ("10.67.209.2", "k8s-node-l1-1"),
    "nginx-deployment-55457b9d87-xhhwl": ("10.76.172.132", "k8s-node-l2-2"),
    "nginx-deployment-55457b9d87-z9pl9": ("10.68.86.129", "k8s-node-l2-1"),
}


async def test_hosts_and_info():
    backend = DemoBackend(hint="point me at a lab")
    hosts = await backend.list_hosts()
    assert [h.name for h in hosts] == [
        "spine-sw1",
        "spine-sw2",
        "leaf1",
        "leaf2",
        "k8s-master-l1-1",
        "k8s-node-l1-1",
        "k8s-node-l1-2",
        "k8s-node-l2-1",
        "k8s-node-l2-2",
    ]
    assert all(h.state is VmState.RUNNING and h.provider == "demo" for h in hosts)
    endpoints = [h.ssh_endpoint for h in hosts]
    assert len(set(endpoints)) == 9
    assert all(e.startswith("vagrant@127.0.0.1:22") for e in endpoints)
    by_name = {h.name: h for h in hosts}
    assert by_name["leaf1"].asn == 65101 and by_name["leaf1"].address == "172.16.255.101"
    assert by_name["spine-sw2"].asn == 65002 and by_name["spine-sw2"].rack is None
    assert by_name["k8s-node-l2-1"].address == "10.0.102.101"
    assert by_name["k8s-node-l2-1"].rack == 2 and by_name["k8s-node-l1-2"].rack == 1
    assert by_name["k8s-master-l1-1"].role is Role.MASTER
    info = backend.info()
    assert info.badge == "DEMO" and info.kind == "demo" and info.hint == "point me at a lab"
    assert set(info.expected_sessions) == {
        (leaf, spine) for leaf in ("leaf1", "leaf2") for spine in ("spine-sw1", "spine-sw2")
    }
    assert ("172.16.0.0", "spine-sw1") in info.peer_addresses
    assert info.vni == 4096 and info.pod_pool == "10.64.0.0/12"


def test_unknown_scenario():
    with pytest.raises(BackendError):
        DemoBackend(scenario="broken")


async def test_leaf_summary_is_seed_text():
    backend, _ = frozen_backend("ready")
    text = backend.bgp_summary_text("leaf1")
    assert "show bgp ipv4 unicast summary\n=============================" in text
    assert (
        "spine-sw1.lab.local(172.16.0.0) 4      65001    2564    2566        0    0    0 "
        "02:07:56            3" in text
    )
    reading = await backend.bgp_summary("leaf2")
    assert reading.error is None and reading.summary is not None
    summary = reading.summary
    assert (summary.router_id, summary.local_as) == ("172.16.255.102", 65102)
    peers = {p.neighbor: p for p in summary.peers}
    assert set(peers) == {"172.16.0.2", "172.16.0.6"}
    assert peers["172.16.0.2"].hostname == "spine-sw1.lab.local"
    assert peers["172.16.0.6"].remote_as == 65002
    assert all(p.established and p.prefixes_received == 4 for p in peers.values())
    assert peers["172.16.0.2"].uptime == "02:07:43"
    assert (peers["172.16.0.2"].msg_rcvd, peers["172.16.0.2"].msg_sent) == (2560, 2562)


async def test_spine_summary_is_frr_json():
    backend, _ = frozen_backend("ready")
    text = backend.bgp_summary_text("spine-sw1")
    assert text.lstrip().startswith('{\n  "ipv4Unicast"')
    summary = parse_bgp_summary(text)
    assert (summary.router_id, summary.local_as) == ("172.16.255.1", 65001)
    assert {p.hostname for p in summary.peers} == {"leaf1.lab.local", "leaf2.lab.local"}
    assert all(p.established for p in summary.peers)


async def test_uptimes_and_counters_advance():
    backend, clock = frozen_backend("ready")
    before = (await backend.bgp_summary("leaf1")).summary
    clock.step(60 / FAST)  # one simulated minute
    after = (await backend.bgp_summary("leaf1")).summary
    assert before is not None and after is not None
    assert before.peers[0].uptime == "02:07:56"
    assert after.peers[0].uptime in ("02:08:55", "02:08:56")  # float rounding of the step
    assert after.peers[0].msg_rcvd == before.peers[0].msg_rcvd + 20  # one keepalive per 3 s


async def test_fresh_state(fresh):
    nodes = await fresh.list_nodes()
    assert len(nodes) == 5 and not any(n.ready for n in nodes)
    assert {n.version for n in nodes} == {"v1.15.2"}
    assert all(not n.calico_blocks and n.vtep_mac is None for n in nodes)
    pods = await fresh.list_pods("kube-system")
    names = [p.name for p in pods]
    assert not any("calico" in n for n in names)
    coredns = [p for p in pods if p.name.startswith("coredns-5c98db65d4-")]
    assert len(coredns) == 2 and all(p.status == "Pending" and p.node is None for p in coredns)
    proxies = [p for p in pods if p.name.startswith("kube-proxy-")]
    assert len(proxies) == 5 and all(p.running for p in proxies)
    assert {p.node for p in proxies} == {n.name for n in nodes}
    assert "etcd-k8s-master-l1-1" in names and "kube-scheduler-k8s-master-l1-1" in names
    assert await fresh.list_pods("space1") == []
    for leaf in ("leaf1", "leaf2"):
        summary = (await fresh.bgp_summary(leaf)).summary
        assert summary is not None and [p.established for p in summary.peers] == [True, True]


async def test_ready_state_is_the_seed():
    backend, _ = frozen_backend("ready")
    now = backend.sim.now()
    nodes = {n.name: n for n in await backend.list_nodes()}
    assert all(n.ready for n in nodes.values())
    assert nodes["k8s-node-l2-1"].vtep_mac == "66:92:0a:fb:a9:be"
    assert nodes["k8s-node-l1-2"].vtep_mac == "66:81:2e:61:22:8a"
    assert nodes["k8s-node-l1-2"].calico_blocks == ("10.65.76.192/26",)
    assert nodes["k8s-node-l1-2"].roles == () and nodes["k8s-master-l1-1"].roles == ("master",)
    assert now - nodes["k8s-node-l1-1"].created > 20 * 3600
    nginx = {p.name: p for p in await backend.list_pods("space1")}
    assert {name: (p.ip, p.node) for name, p in nginx.items()} == SEED_NGINX
    assert all(p.running and p.restarts == 0 for p in nginx.values())
    assert round(now - nginx["nginx-deployment-55457b9d87-nnzz5"].created) == 243  # 4m3s
    assert round(now - nginx["nginx-deployment-55457b9d87-z9pl9"].created) == 13
    system = {p.name: p for p in await backend.list_pods("kube-system")}
    calico = sorted(n for n in system if n.startswith("calico-node-"))
    assert calico == [f"calico-node-{s}" for s in ("8wdhx", "hwkkx", "mm4lw", "qwzml", "txjvc")]
    assert {system[n].node for n in calico} == set(nodes)
    assert system["calico-kube-controllers-59f54d6bbc-xpn6z"].running
    assert system["calicoctl"].running
    assert all(system[n].running for n in system)
    assert 24 * 60 <= now - system["calico-node-8wdhx"].created < 25 * 60  # "24m"
    for pod in nginx.values():
        assert pod.ip is not None and pod.node is not None
        block = ipaddress.IPv4Network(nodes[pod.node].calico_blocks[0])
        assert ipaddress.IPv4Address(pod.ip) in block


async def test_watches_relist_first_and_fan_out(fresh):
    streams = [fresh.watch_pods(), fresh.watch_pods()]
    node_stream = fresh.watch_nodes()
    firsts = [await s.__anext__() for s in streams]
    assert all(f.type == "RELIST" and len(f.items) == 11 for f in firsts)
    first_nodes = await node_stream.__anext__()
    assert first_nodes.type == "RELIST" and len(first_nodes.items) == 5

    async def collect(stream, until):
        events = []
        async for event in stream:
            events.append(event)
            if until(events):
                return events
        return events

    def calico_running(events) -> bool:
        running = {
            e.obj.name
            for e in events
            if e.obj is not None and e.obj.name.startswith("calico-node-") and e.obj.running
        }
        return len(running) == 5

    lines = await fresh.apply_calico()
    assert lines == [f"{obj} created" for obj in manifest_objects()]
    results = await asyncio.wait_for(
        asyncio.gather(*(collect(s, calico_running) for s in streams)), timeout=10
    )
    keyed = [[(e.type, e.obj.name, e.obj.status) for e in events] for events in results]
    shortest = min(len(k) for k in keyed)
    assert keyed[0][:shortest] == keyed[1][:shortest]
    statuses = [status for _, name, status in keyed[0] if name == "calico-node-txjvc"]
    assert statuses[0] == "Pending" and "ContainerCreating" in statuses
    assert statuses.index("ContainerCreating") < statuses.index("Running")
    ready_nodes = await asyncio.wait_for(
        collect(node_stream, lambda ev: sum(1 for e in ev if e.obj.ready) >= 5), timeout=10
    )
    assert all(e.type == "MODIFIED" for e in ready_nodes)
    for stream in [*streams, node_stream]:
        await stream.aclose()
    assert fresh.hub._subs == []


async def test_apply_calico_makes_nodes_ready_and_is_idempotent(fresh):
    await fresh.apply_calico()
    await fresh.advance(30)
    nodes = await fresh.list_nodes()
    assert all(n.ready and len(n.calico_blocks) == 1 and n.vtep_mac for n in nodes)
    blocks = [ipaddress.IPv4Network(n.calico_blocks[0]) for n in nodes]
    assert all(
        b.prefixlen == 26 and b.subnet_of(ipaddress.IPv4Network("10.64.0.0/12")) for b in blocks
    )
    again = await fresh.apply_calico()
    assert again and all(line.endswith(" unchanged") for line in again)
    pods = await fresh.list_pods("kube-system")
    assert sum(p.name.startswith("calico-node-") for p in pods) == 5
    coredns = [p for p in pods if p.name.startswith("coredns-")]
    assert all(p.running and p.ip for p in coredns)
    with pytest.raises(BackendError):
        await fresh.apply_calico("10.64.0.0/30")


async def test_workload_waits_for_ready_nodes(fresh):
    created = await fresh.ensure_workload(DemoWorkload())
    assert created == [
        "namespace/space1 created",
        "deployment.apps/nginx-deployment created",
        "service/nginx-service created",
    ]
    assert await fresh.ensure_workload(DemoWorkload()) == []
    await fresh.advance(20)
    (pod,) = await fresh.list_pods("space1")
    assert pod.name == "nginx-deployment-55457b9d87-nnzz5"
    assert pod.status == "Pending" and pod.node is None and pod.ip is None
    await fresh.apply_calico()
    await fresh.advance(30)
    (pod,) = await fresh.list_pods("space1")
    assert pod.running and (pod.ip, pod.node) == SEED_NGINX[pod.name]


async def test_scale_spreads_and_scales_down(ready):
    with pytest.raises(NotFound):
        await ready.scale_deployment("space1", "missing", 2)
    await ready.scale_deployment("space1", "nginx-deployment", 2)
    pods = await ready.list_pods("space1")
    assert sum(p.status == "Terminating" for p in pods) == 2
    await ready.advance(5)
    pods = await ready.list_pods("space1")
    assert len(pods) == 2 and len({p.node for p in pods}) == 2
    await ready.scale_deployment("space1", "nginx-deployment", 4)
    await ready.advance(10)
    pods = await ready.list_pods("space1")
    assert len(pods) == 4 and all(p.running for p in pods)
    assert len({p.node for p in pods}) == 4
    nodes = {n.name: n for n in await ready.list_nodes()}
    for pod in pods:
        block = ipaddress.IPv4Network(nodes[pod.node].calico_blocks[0])
        assert ipaddress.IPv4Address(pod.ip) in block


async def test_unschedulable_pods_say_why(fresh):
    """No node is Ready before Calico: the scheduler's reason is on the pending pods."""
    pods = await fresh.list_pods("kube-system")
    coredns = [p for p in pods if p.name.startswith("coredns-")]
    assert coredns and all(
        p.unschedulable
        == "0/5 nodes are available: 5 node(s) had taints that the pod didn't tolerate."
        for p in coredns
    )
    assert all(p.unschedulable == "" for p in pods if p.node is not None)


async def test_kubelet_pod_limit_leaves_the_rest_pending():
    """110 pods a node at most (the node's own pods count); the excess stays Pending
    with the scheduler's reason, and the pods that do run take a second Calico block."""
    ready, _clock = frozen_backend("ready")
    assert await ready.deployment_replicas("space1", "nginx-deployment") == 4
    assert await ready.deployment_replicas("space1", "missing") is None
    await ready.scale_deployment("space1", "nginx-deployment", 1200)
    assert await ready.deployment_replicas("space1", "nginx-deployment") == 1200
    first = await ready.list_pods("space1")
    assert len(first) == 504  # the ReplicaSet controller's burst of 500, then more later
    ready.sim.advance(ready.sim.now() + 60)
    pods = await ready.list_pods()
    per_node: dict[str, int] = {}
    for pod in pods:
        if pod.node is not None:
            per_node[pod.node] = per_node.get(pod.node, 0) + 1
    workers = [n for n in await ready.list_nodes() if "master" not in n.roles]
    assert all(per_node[n.name] == 110 for n in workers)
    mine = [p for p in pods if p.namespace == "space1"]
    assert len(mine) == 1200
    pending = [p for p in mine if p.node is None]
    assert len(pending) == 1200 - sum(1 for p in mine if p.node is not None) and len(pending) > 700
    assert all(p.status == "Pending" for p in pending)
    assert {p.unschedulable for p in pending} == {
        "0/5 nodes are available: 1 node(s) had taints that the pod didn't tolerate, "
        "4 Too many pods."
    }
    running = [p for p in mine if p.running]
    assert len({p.ip for p in running}) == len(running)
    nodes = {n.name: n for n in await ready.list_nodes()}
    for pod in running:
        blocks = [ipaddress.IPv4Network(b) for b in nodes[pod.node].calico_blocks]
        assert any(ipaddress.IPv4Address(pod.ip) in b for b in blocks)
    assert all(len(nodes[n.name].calico_blocks) == 2 for n in workers)
    await ready.scale_deployment("space1", "nginx-deployment", 4)
    ready.sim.advance(ready.sim.now() + 30)
    mine = await ready.list_pods("space1")
    assert len(mine) == 4 and all(p.running for p in mine)
    await ready.close()


async def nginx(backend, node: str):
    return next(p for p in await backend.list_pods("space1") if p.node == node)


async def test_ping_cross_rack_same_node_and_self(ready):
    src = await nginx(ready, "k8s-node-l2-1")
    result = await ready.ping(src, "10.65.76.193", count=4)
    assert result.ok and result.transmitted == 4 and result.ttl == 62
    assert result.source_pod == src.key and result.target_ip == "10.65.76.193"
    assert 1.3 < result.rtt_min_ms <= result.rtt_avg_ms <= result.rtt_max_ms < 2.3
    same_rack = await ready.ping(src, "10.76.172.132", count=2)  # k8s-node-l2-2
    assert same_rack.ok and same_rack.ttl == 62 and same_rack.rtt_avg_ms < result.rtt_avg_ms
    itself = await ready.ping(src, src.ip, count=1)
    assert itself.ok and itself.ttl == 64
    nobody = await ready.ping(src, "10.65.76.250", count=2)  # in a block, no pod
    assert not nobody.ok and nobody.received == 0 and nobody.error is None
    with pytest.raises(BackendError):
        await ready.ping(src, "not-an-ip")


async def test_ping_same_node_makes_no_vxlan(ready):
    await ready.scale_deployment("space1", "nginx-deployment", 5)
    await ready.advance(10)
    pods = await ready.list_pods("space1")
    by_node: dict[str, list] = {}
    for pod in pods:
        by_node.setdefault(pod.node, []).append(pod)
    a, b = next(group for group in by_node.values() if len(group) == 2)
    capture = await ready.open_capture(a.node)
    result = await ready.ping(a, b.ip, count=2)
    _, frames = await drain(capture)
    assert result.ok and result.ttl == 63  # routed once by the node, no tunnel
    assert not [f for f in frames if b.ip in (f.inner_src, f.inner_dst)]


async def test_ping_from_pod_that_does_not_run(fresh):
    await fresh.ensure_workload(DemoWorkload())
    (pod,) = await fresh.list_pods("space1")
    result = await fresh.ping(pod, "10.65.76.193")
    assert not result.ok and "Pending" in result.error and result.transmitted == 0
    ghost = pod.__class__(**{**{f: getattr(pod, f) for f in pod.__slots__}, "name": "ghost"})
    with pytest.raises(NotFound):
        await fresh.ping(ghost, "10.65.76.193")


async def test_capture_shows_the_seed_frames(ready):
    src = await nginx(ready, "k8s-node-l2-1")
    sender = await ready.open_capture("k8s-node-l2-1")
    receiver = await ready.open_capture("k8s-node-l1-2")
    elsewhere = await ready.open_capture("k8s-node-l1-1")
    result = await ready.ping(src, "10.65.76.193", count=4)
    assert result.ok
    data, frames = await drain(sender)
    assert data[:4] == bytes.fromhex("d4c3b2a1")  # tcpdump's little-endian pcap magic
    frames = [f for f in frames if f.icmp_id == 592]  # not the background probes
    assert len(frames) == 8
    requests, replies = frames[0::2], frames[1::2]
    for f in requests:
        assert (f.outer_src_mac, f.outer_dst_mac) == ("08:00:27:53:73:c7", "08:00:27:91:d4:66")
        assert (f.outer_src, f.outer_dst, f.udp_src, f.udp_dst) == (
            "10.0.102.101",
            "10.0.101.102",
            41553,
            4789,
        )
        assert (f.inner_src_mac, f.inner_dst_mac) == ("66:92:0a:fb:a9:be", "66:81:2e:61:22:8a")
        assert (f.inner_src, f.inner_dst, f.icmp_type, f.icmp_id) == (
            "10.68.86.129",
            "10.65.76.193",
            8,
            592,
        )
    for f in replies:
        assert (f.outer_src, f.outer_dst, f.udp_src) == ("10.0.101.102", "10.0.102.101", 32779)
        assert (f.inner_src, f.inner_dst, f.icmp_type) == ("10.65.76.193", "10.68.86.129", 0)
    assert [f.icmp_seq for f in requests] == [1, 2, 3, 4]
    assert all(
        f.vni == 4096 and f.flags == 0x08 and f.length == 148 and f.inner_length == 98
        for f in frames
    )
    assert all(0.0009 < r.time - q.time < 0.0025 for q, r in zip(requests, replies, strict=True))
    assert 0.99 < requests[1].time - requests[0].time < 1.01
    _, seen_there = await drain(receiver)
    seen_there = [f for f in seen_there if f.icmp_id == 592]
    assert len(seen_there) == 8 and seen_there[0].inner_src == "10.68.86.129"
    _, nothing = await drain(elsewhere)
    assert [f for f in nothing if f.icmp_id == 592] == []
    assert ready.traffic.captures == []


async def test_capture_background_probe_and_close(ready):
    capture = await ready.open_capture("k8s-node-l2-1")
    await ready.advance(60)
    _, frames = await drain(capture)
    ips = {ip for _, (ip, _) in SEED_NGINX.items()}
    assert frames and all(f.is_vxlan and f.inner_src in ips and f.inner_dst in ips for f in frames)
    assert ready.traffic._probe_handle is None
    with pytest.raises(NotFound):
        await ready.open_capture("nowhere")
    with pytest.raises(BackendError):
        await ready.open_capture("leaf1")


async def story(backend: DemoBackend, clock) -> tuple:
    """A fixed sequence of calls at fixed clock readings; returns everything observable."""
    out: list = [backend.bgp_summary_text("leaf1"), backend.bgp_summary_text("spine-sw2")]
    out.append(await backend.apply_calico())
    clock.step(30)
    out.append(await backend.ensure_workload(DemoWorkload()))
    clock.step(10)
    await backend.scale_deployment("space1", "nginx-deployment", 4)
    clock.step(10)
    pods = await backend.list_pods()
    out.append(pods)
    out.append(await backend.list_nodes())
    nginx_pods = [p for p in pods if p.namespace == "space1"]
    capture = await backend.open_capture(nginx_pods[0].node)
    out.append([await backend.ping(nginx_pods[0], p.ip, count=2) for p in nginx_pods[1:]])
    data, _ = await drain(capture)
    out.append(data)
    out.append(backend.bgp_summary_text("leaf2"))
    return tuple(out)


async def test_same_seed_same_everything():
    first, clock1 = frozen_backend("fresh", seed=7)
    second, clock2 = frozen_backend("fresh", seed=7)
    other, clock3 = frozen_backend("fresh", seed=8)
    a, b = await story(first, clock1), await story(second, clock2)
    assert a == b
    assert len(a[-2]) > 24 + 16 * 4  # frames were captured
    c = await story(other, clock3)
    assert [p.name for p in c[4]] != [p.name for p in a[4]]
    for backend in (first, second, other):
        await backend.close()
