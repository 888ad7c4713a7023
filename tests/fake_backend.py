"""A small scripted LabBackend for UI tests that need a lab to misbehave on
command (answer, fail, hang), which the demo lab never does by itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

from fabrictui.backends.base import (
    BackendError,
    CaptureStream,
    DemoWorkload,
    LabBackend,
    Unreachable,
)
from fabrictui.intent.releases import ServerFacts
from fabrictui.model import (
    BgpPeer,
    BgpSummary,
    Host,
    KubeNode,
    KubePod,
    LabInfo,
    PingResult,
    Role,
    SwitchReading,
    VmState,
    WatchEvent,
)
from fabrictui.parsers.bgp import parse_bgp_summary

HOSTS = [
    Host("spine-sw1", Role.SPINE, None, VmState.RUNNING, "fake", "vagrant@127.0.0.1:2222"),
    Host("leaf1", Role.LEAF, 1, VmState.RUNNING, "fake", "vagrant@127.0.0.1:2223"),
    Host("k8s-node-l1-1", Role.WORKER, 1, VmState.RUNNING, "fake", "", address="10.0.101.101"),
]


class ScriptedCapture(CaptureStream):
    def __init__(self, node: str, chunks: list[bytes]) -> None:
        self.node = node
        self.interface = "eth0"
        self._chunks = chunks
        self.closed = False

    async def chunks(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk
        while not self.closed:
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        self.closed = True


class FakeBackend(LabBackend):
    def __init__(self) -> None:
        self.fail: set[str] = set()  # "hosts", "bgp", "nodes", "pods", "capture"
        self.bgp_state = "Established"
        self.capture_chunks: list[bytes] = []
        self.node_events: asyncio.Queue[WatchEvent[KubeNode]] = asyncio.Queue()
        self.pod_events: asyncio.Queue[WatchEvent[KubePod]] = asyncio.Queue()
        self.nodes = [
            KubeNode("k8s-node-l1-1", True, (), time.time() - 3600, "v1.15.2", "10.0.101.101")
        ]
        self.pods: list[KubePod] = []

    def info(self) -> LabInfo:
        return LabInfo(name="fake", kind="fake", expected_sessions=(("leaf1", "spine-sw1"),))

    async def list_hosts(self) -> list[Host]:
        if "hosts" in self.fail:
            raise Unreachable("vagrant: no answer")
        return list(HOSTS)

    async def bgp_summary(self, switch: str) -> SwitchReading:
        if "bgp" in self.fail:
            return SwitchReading(switch, None, f"{switch}: connection refused", time.time())
        if "bgp-garbage" in self.fail:  # a switch printing what no parser knows
            return SwitchReading(switch, parse_bgp_summary("\x00\xffgarbage\n% oops"), None, 0.0)
        peer_name = "spine-sw1" if switch == "leaf1" else "leaf1"
        peer = BgpPeer("172.16.0.0", peer_name, 65001, self.bgp_state, "00:01:00", 2)
        return SwitchReading(
            switch, BgpSummary("172.16.255.101", 65101, (peer,)), None, time.time()
        )

    async def list_nodes(self) -> list[KubeNode]:
        return list(self.nodes)

    async def list_pods(self, namespace: str | None = None) -> list[KubePod]:
        return [p for p in self.pods if namespace in (None, p.namespace)]

    async def watch_nodes(self) -> AsyncIterator[WatchEvent[KubeNode]]:
        if "nodes" in self.fail:
            raise Unreachable("API server: connection refused")
        yield WatchEvent("RELIST", items=tuple(self.nodes))
        while True:
            yield await self.node_events.get()

    async def watch_pods(self) -> AsyncIterator[WatchEvent[KubePod]]:
        if "pods" in self.fail:
            raise Unreachable("API server: connection refused")
        yield WatchEvent("RELIST", items=tuple(self.pods))
        while True:
            yield await self.pod_events.get()

    async def server_facts(self, group_versions: Sequence[str] = ()) -> ServerFacts:
        """A 1.15 server, as the nodes say (what the deploy plan reads first)."""
        served = {"v1", "apps/v1", "rbac.authorization.k8s.io/v1", "apiextensions.k8s.io/v1beta1"}
        return ServerFacts((1, 15, 2), "v1.15.2", frozenset(served))

    async def apply_calico(self, pool_cidr: str = "10.64.0.0/12") -> list[str]:
        raise BackendError("not in the fake lab")

    async def ensure_workload(self, workload: DemoWorkload) -> list[str]:
        return []

    async def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        raise BackendError("not in the fake lab")

    async def ping(self, pod: KubePod, target_ip: str, count: int = 3, timeout: float = 10.0):
        return PingResult(pod.key, target_ip, count, count, 1.0, 1.0, 1.0)

    async def open_capture(self, node: str, interface: str = "eth0", bpf: str = "udp port 4789"):
        if "capture" in self.fail:
            raise Unreachable(f"{node}: ssh connection refused")
        return ScriptedCapture(node, list(self.capture_chunks))
