"""The Calico VXLAN data plane for real: network namespaces, veths, vxlan.calico,
a ping between two pods on two nodes, and tcpdump on the sender's eth0.

Needs root, iproute2, ping and tcpdump (`-m lab`). Everything lives in
namespaces named `ftk-<random>-...` that the fixture creates and removes, even
when a test fails; the lab addresses exist only inside them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config, dynamic, watch
from kubernetes.stream import stream

from fabrictui.capture.pcap import decode_pcap_bytes
from fabrictui.lab.calico_dataplane import (
    LinuxDataplane,
    NodeNet,
    PodNet,
    allocate_block,
    calico_vtep_mac,
    veth_name,
)
from fabrictui.lab.kubeapi.controllers.parts import Timing
from fabrictui.lab.kubeapi.harness import ServerThread
from fabrictui.lab.kubeapi.objects import condition_true
from tests._paths import CALICO_MANIFEST
from tests._require import require

pytestmark = pytest.mark.lab

MANIFEST = CALICO_MANIFEST
NODES = (("k8s-node-l1-2", "10.0.101.102"), ("k8s-node-l2-1", "10.0.102.101"))


def sh(*argv: str, check: bool = True) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: {result.stderr.strip()}")
    return result.stdout


def namespaces() -> list[str]:
    return [line.split()[0] for line in sh("ip", "netns", "list").splitlines() if line.strip()]


def remove_namespaces(prefix: str) -> None:
    for ns in namespaces():
        if not ns.startswith(prefix):
            continue
        for pid in sh("ip", "netns", "pids", ns, check=False).split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        sh("ip", "netns", "del", ns, check=False)


@dataclass
class Fabric:
    prefix: str
    nodes: dict[str, str]  # node name -> netns

    def inventory(self) -> dict[str, Any]:
        return {
            "format": "fabrictui-inventory/1",
            "name": "kubeapi-dataplane-test",
            "kind": "rehearsal",
            "lab_id": self.prefix.strip("-"),
            "pod_netns_prefix": f"{self.prefix}pod-",
            "pod_pool": "10.64.0.0/12",
            "hosts": [
                {"name": n, "role": "worker", "rack": i + 1, "address": ip, "netns": self.nodes[n]}
                for i, (n, ip) in enumerate(NODES)
            ],
        }


@pytest.fixture
def fabric() -> Iterator[Fabric]:
    """Two node namespaces whose eth0 share a bridge in a third namespace."""
    require(os.geteuid() == 0, "needs root for network namespaces")
    for tool in ("ip", "bridge", "ping", "tcpdump", "sysctl"):
        require(tool)
    prefix = f"ftk-{secrets.token_hex(3)}-"
    bridge_ns = f"{prefix}br"
    nodes = {name: f"{prefix}{name}" for name, _ in NODES}
    try:
        sh("ip", "netns", "add", bridge_ns)
        sh("ip", "-n", bridge_ns, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", bridge_ns, "addr", "add", "10.0.0.1/16", "dev", "br0")
        sh("ip", "-n", bridge_ns, "link", "set", "br0", "up")
        for index, (name, address) in enumerate(NODES, start=1):
            ns = nodes[name]
            sh("ip", "netns", "add", ns)
            sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1")
            sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name",
               f"port{index}", "netns", bridge_ns)  # fmt: skip
            sh("ip", "-n", bridge_ns, "link", "set", f"port{index}", "master", "br0", "up")
            sh("ip", "-n", ns, "addr", "add", f"{address}/16", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "route", "add", "default", "via", "10.0.0.1")
        yield Fabric(prefix, nodes)
    finally:
        remove_namespaces(prefix)
        assert not [ns for ns in namespaces() if ns.startswith(prefix)]


def node_net(fabric: Fabric, name: str, address: str, taken: list[str]) -> NodeNet:
    block = allocate_block("10.64.0.0/12", name, taken)
    return NodeNet(
        name=name,
        netns=fabric.nodes[name],
        ip=address,
        block=block,
        tunnel_ip=str(ipaddress.ip_network(block).network_address),
        vtep_mac=calico_vtep_mac(name),
    )


async def start_capture(netns: str, path: Path) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", netns, "tcpdump", "-i", "eth0", "-U", "--immediate-mode",
        "-n", "-w", str(path), "udp", "port", "4789",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    line = await asyncio.wait_for(proc.stderr.readline(), 10)
    assert b"listening on eth0" in line, line
    return proc


async def test_ping_between_pods_crosses_vxlan(fabric: Fabric, tmp_path: Path) -> None:
    plane = LinuxDataplane()
    n1 = node_net(fabric, *NODES[0], [])
    n2 = node_net(fabric, *NODES[1], [n1.block])
    for node in (n1, n2):
        await plane.setup_node(node)
    for node in (n1, n2):
        await plane.set_peers(node, [n1, n2])
    link = sh("ip", "-n", n1.netns, "-d", "link", "show", "vxlan.calico")
    assert "vxlan id 4096" in link and "dstport 4789" in link and "mtu 1450" in link
    assert calico_vtep_mac(n1.name) in link
    routes = sh("ip", "-n", n1.netns, "route")
    assert f"{n2.block} via {n2.tunnel_ip} dev vxlan.calico onlink" in routes

    target_ip = str(ipaddress.ip_network(n1.block).network_address + 1)
    sender_ip = str(ipaddress.ip_network(n2.block).network_address + 1)
    target = PodNet(f"{fabric.prefix}pod-1", n1, target_ip, veth_name("space1", "target"))
    sender = PodNet(f"{fabric.prefix}pod-2", n2, sender_ip, veth_name("space1", "sender"))
    await plane.add_pod(target)
    await plane.add_pod(sender)

    pcap = tmp_path / "sender.pcap"
    capture = await start_capture(n2.netns, pcap)
    try:
        ping = await plane.spawn(
            sender.netns, ["ping", "-c", "3", "-i", "0.2", "-W", "2", target_ip]
        )
        out, err = await asyncio.wait_for(ping.communicate(), 20)
        assert ping.returncode == 0, err.decode()
        assert b"3 received" in out and b"ttl=62" in out  # two routed hops, as in the seed
    finally:
        capture.send_signal(signal.SIGINT)
        await asyncio.wait_for(capture.wait(), 10)

    frames = decode_pcap_bytes(pcap.read_bytes())
    requests = [f for f in frames if f.is_vxlan and f.icmp_type == 8]
    replies = [f for f in frames if f.is_vxlan and f.icmp_type == 0]
    assert len(requests) == 3 and len(replies) == 3
    for frame in requests:
        assert (frame.outer_src, frame.outer_dst) == (n2.ip, n1.ip)
        assert (frame.udp_dst, frame.vni, frame.flags) == (4789, 4096, 0x08)
        assert (frame.inner_src, frame.inner_dst) == (sender_ip, target_ip)
        assert (frame.inner_src_mac, frame.inner_dst_mac) == (n2.vtep_mac, n1.vtep_mac)
        assert frame.length == 148 and frame.inner_length == 98
    for frame in replies:
        assert (frame.outer_src, frame.outer_dst) == (n1.ip, n2.ip)
        assert (frame.inner_src, frame.inner_dst) == (target_ip, sender_ip)

    await plane.remove_pod(sender)
    await plane.remove_pod(target)
    assert not {sender.netns, target.netns} & set(namespaces())


def test_server_realizes_pods_and_exec_reaches_them(fabric: Fabric, tmp_path: Path) -> None:
    """The whole API server on the real data plane: Calico, a Deployment, exec ping."""
    pod_prefix = f"{fabric.prefix}pod-"
    timing = Timing(pod_start=0.05, container_create=0.05, retry=0.5)
    with ServerThread(
        tmp_path / "lab",
        inventory=fabric.inventory(),
        dataplane=LinuxDataplane(),
        timing=timing,
        kube_version="1.29.0",  # server-side apply of v1 CRDs below
    ) as lab:
        api = config.new_client_from_config(config_file=str(lab.kubeconfig))
        try:
            dyn = dynamic.DynamicClient(api)
            for doc in yaml.safe_load_all(MANIFEST.read_text()):
                resource = dyn.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
                resource.server_side_apply(
                    body=doc, name=doc["metadata"]["name"],
                    namespace=doc["metadata"].get("namespace"), field_manager="test",
                )  # fmt: skip
            v1, apps = client.CoreV1Api(api), client.AppsV1Api(api)
            lab.wait_for(
                lambda c: all(condition_true(n, "Ready") for n in c.store.view("nodes")),
                timeout=30,
            )
            v1.create_namespace({"metadata": {"name": "space1"}})
            labels = {"app": "nginx"}
            apps.create_namespaced_deployment("space1", {
                "metadata": {"name": "nginx-deployment"},
                "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                         "template": {"metadata": {"labels": labels},
                                      # an image with ping: nginx:1.17 has none
                                      "spec": {"containers": [{"name": "nginx",
                                               "image": "nicolaka/netshoot:v0.13"}]}}},
            })  # fmt: skip
            lab.wait_for(
                lambda c: (
                    [p["status"].get("phase") for p in c.store.list("pods", "space1")]
                    == ["Running", "Running"]
                ),
                timeout=30,
            )
            pods = v1.list_namespaced_pod("space1").items
            assert {p.spec.node_name for p in pods} == {n for n, _ in NODES}
            pod_namespaces = [ns for ns in namespaces() if ns.startswith(pod_prefix)]
            assert len(pod_namespaces) >= 2  # nginx, and coredns / calico-kube-controllers
            sender = next(p for p in pods if p.spec.node_name == "k8s-node-l2-1")
            target = next(p for p in pods if p.spec.node_name == "k8s-node-l1-2")
            addr = sh("ip", "netns", "exec", pod_namespaces[0], "ip", "-4", "-o", "addr")
            assert "eth0" in addr
            out = stream(
                v1.connect_get_namespaced_pod_exec, sender.metadata.name, "space1",
                command=["ping", "-c", "2", "-i", "0.2", "-W", "2", target.status.pod_ip],
                stdout=True, stderr=True, stdin=False, tty=False,
            )  # fmt: skip
            assert "2 received" in out and "ttl=62" in out

            # an endless ping dies with its exec session
            resp = stream(
                v1.connect_get_namespaced_pod_exec, sender.metadata.name, "space1",
                command=["ping", target.status.pod_ip], stdout=True, stderr=True,
                stdin=False, tty=False, _preload_content=False,
            )  # fmt: skip
            resp.update(timeout=5)
            assert lab.call(lambda: len(lab.cluster.exec_processes)) == 1
            resp.close()
            deadline = time.monotonic() + 10
            while lab.call(lambda: bool(lab.cluster.exec_processes)):
                assert time.monotonic() < deadline, "ping outlived its exec session"
                time.sleep(0.05)
            minimal = {"metadata": {"uid": sender.metadata.uid}, "spec": {}}
            sender_ns = lab.call(lambda: lab.cluster.kubelet.netns_of(minimal))
            # what is left is the pod's sandbox (the pause container's part), as on a node
            sandbox = lab.call(lambda: lab.cluster.sandboxes.pid_of(sender.metadata.uid))
            assert sender_ns and sh("ip", "netns", "pids", sender_ns).split() == [str(sandbox)]
        finally:
            api.close()
    assert not [ns for ns in namespaces() if ns.startswith(pod_prefix)]


def test_sigterm_removes_pod_namespaces(fabric: Fabric, tmp_path: Path) -> None:
    """`python -m fabrictui.lab.kubeapi` as `lab up` starts it; SIGTERM cleans up."""
    lab_dir = tmp_path / "lab"
    lab_dir.mkdir()
    (lab_dir / "inventory.json").write_text(json.dumps(fabric.inventory()))
    # a 1.29 server: the test server-side applies v1 CRDs below
    argv = [sys.executable, "-m", "fabrictui.lab.kubeapi", "--lab-dir", str(lab_dir), "--fast"]
    server = subprocess.Popen(
        [*argv, "--kube-version", "1.29.0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    pod_prefix = f"{fabric.prefix}pod-"
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()  # printed once it listens and wrote its files
        assert banner.startswith("fabrictui kubeapi: https://127.0.0.1:"), banner
        endpoint = json.loads((lab_dir / "kubeapi" / "endpoint.json").read_text())
        assert endpoint["pid"] == server.pid
        api = config.new_client_from_config(config_file=str(lab_dir / "kubeconfig"))
        try:
            dyn = dynamic.DynamicClient(api)
            for doc in yaml.safe_load_all(MANIFEST.read_text()):
                resource = dyn.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
                resource.server_side_apply(
                    body=doc,
                    name=doc["metadata"]["name"],
                    namespace=doc["metadata"].get("namespace"),
                    field_manager="test",
                )
            v1 = client.CoreV1Api(api)
            running: set[str] = set()
            for event in watch.Watch().stream(
                v1.list_namespaced_pod, "kube-system", timeout_seconds=30
            ):
                pod = event["object"]
                if pod.metadata.name.startswith("coredns-") and pod.status.phase == "Running":
                    running.add(pod.metadata.name)
                if len(running) == 2:
                    break
            assert len(running) == 2, "coredns did not start"
        finally:
            api.close()
        assert len([ns for ns in namespaces() if ns.startswith(pod_prefix)]) >= 2
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert not [ns for ns in namespaces() if ns.startswith(pod_prefix)]
        assert not (lab_dir / "kubeapi" / "endpoint.json").exists()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
