"""`DemoBackend`: the reference lab of LAB.md, simulated in-process.

No I/O, no network: switches print NCLU/FRR output that goes through the real
BGP parser, pings print iputils output that goes through the real ping
parser, captures are pcap bytes for the real decoder. Time comes from the
injected clock, sped up by `speed` (see `sim.py`); the same seed, calls and
clock readings give the same results.

Scenarios: `fresh` is the moment before Calico (VMs up, each leaf with two
Established sessions, nodes NotReady, coredns Pending, no calico pods);
`ready` replays the seed's steps before handing over: Calico applied 24
minutes ago, nginx-deployment created 4m3s ago and scaled to 4 replicas 13 s
ago, so names, IPs and ages are the seed's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
from collections.abc import AsyncIterator, Callable
from typing import Any

from fabrictui import audit
from fabrictui.backends.base import (
    DEFAULT_PING_SIZE,
    MAX_PING_SIZE,
    BackendError,
    CaptureStream,
    DemoWorkload,
    LabBackend,
    NotFound,
    Unreachable,
)
from fabrictui.backends.demo import apiserver, tracing
from fabrictui.backends.demo import routes as demo_routes
from fabrictui.backends.demo import topology as topo
from fabrictui.backends.demo.bgp import DemoBgp
from fabrictui.backends.demo.drill.bgp_calls import DemoBgpDetailCalls
from fabrictui.backends.demo.drill.kube_calls import DemoKubeDrillCalls
from fabrictui.backends.demo.fabric import Fabric
from fabrictui.backends.demo.faults import DemoFaultCalls, FaultBoard
from fabrictui.backends.demo.hub import Hub, Subscriber
from fabrictui.backends.demo.kube import KubeSim
from fabrictui.backends.demo.names import NameSource
from fabrictui.backends.demo.services.calls import DemoServiceCalls
from fabrictui.backends.demo.services.dns import DemoDnsCalls
from fabrictui.backends.demo.services.table import ServiceTable
from fabrictui.backends.demo.sim import Simulation
from fabrictui.backends.demo.telemetry.mixin import DemoTelemetry
from fabrictui.backends.demo.traffic import Traffic
from fabrictui.constants import POD_POOL, VXLAN_PORT, VXLAN_VNI
from fabrictui.intent.calico_vxlan import manifest_objects
from fabrictui.intent.labshape import bgp_expected_sessions
from fabrictui.model import (
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
from fabrictui.parsers import ParseError
from fabrictui.parsers.bgp import parse_bgp_summary
from fabrictui.parsers.bird import BirdProtocol, parse_protocols
from fabrictui.parsers.kube import node_from_api, object_name, pod_from_api
from fabrictui.parsers.mtu import note_too_big
from fabrictui.parsers.netpolicy import PolicyReading
from fabrictui.parsers.ping import parse_ping_output
from fabrictui.parsers.routes import Route

SCENARIOS = ("fresh", "ready", "ready-bgp")
CALICO_AGE = 1445.0  # "24m" in the seed's kubectl output
NGINX_FIRST_AGE = 243.0  # "4m3s"
NGINX_SCALE_AGE = 13.0  # "13s"
CLUSTER_AGE = 20 * 3600 + 1500.0  # "20h"
DRIVER_IDLE = 0.5  # longest real sleep of the event driver


class DemoBackend(
    DemoTelemetry,
    DemoServiceCalls,
    DemoDnsCalls,
    DemoKubeDrillCalls,
    DemoBgpDetailCalls,
    DemoFaultCalls,
    apiserver.AppliesObjects,
    LabBackend,
):
    def __init__(
        self,
        scenario: str = "fresh",
        seed: int = 1,
        hint: str = "",
        clock: Callable[[], float] | None = None,
        speed: float = 1.0,
    ) -> None:
        if scenario not in SCENARIOS:
            raise BackendError(f"unknown demo scenario {scenario!r} ({', '.join(SCENARIOS)})")
        if speed <= 0:
            raise BackendError("demo speed must be positive")
        self.scenario = scenario
        self.seed = seed
        self.hint = hint
        self.source = f"--demo {scenario}"  # the options that chose it (backends/select.py)
        self.sim = Simulation(clock, speed)
        self.names = NameSource(seed)
        self.hub = Hub()
        now = self.sim.now()
        ready_at = now if scenario != "fresh" else now + CALICO_AGE
        self.fabric = Fabric.build(self.sim, ready_at)
        self.kube = KubeSim(self.sim, self.names, self.hub.publish)
        self.traffic = Traffic(self.sim, self.kube, self.fabric, seed)
        self.service_table = ServiceTable(self.kube)
        self.faultboard = FaultBoard(self.fabric, self.kube, self.traffic, self.service_table)
        self.bgp = DemoBgp(self.sim, self.kube, seed)
        self.fabric.dynamic_ends = self.bgp.node_ends
        self.traffic.bgp = self.bgp
        self._replay(now, ready_at)
        self._driver: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._closed = False

    def _replay(self, now: float, ready_at: float) -> None:
        cluster = ready_at - CLUSTER_AGE
        self.sim.set_cursor(cluster)
        self.kube.bootstrap(cluster)
        if self.scenario != "fresh":
            applied = now - CALICO_AGE
            self.sim.advance(applied)
            self.kube.apply_calico(applied, POD_POOL)
            self.sim.advance(now - NGINX_FIRST_AGE)
            self.kube.ensure_workload(now - NGINX_FIRST_AGE, DemoWorkload())
            self.sim.advance(now - NGINX_SCALE_AGE)
            wl = DemoWorkload()
            self.kube.scale(now - NGINX_SCALE_AGE, wl.namespace, wl.deployment, 4)
        if self.scenario == "ready-bgp":  # switched to BGP mode ten minutes after Calico
            self.bgp.replay(now - CALICO_AGE + 600.0)
        self.sim.advance(now)

    # -- lifecycle ----------------------------------------------------------------------

    def info(self) -> LabInfo:
        bgp = self.scenario == "ready-bgp"
        return LabInfo(
            name=f"demo ({self.scenario}, seed {self.seed})",
            kind="demo",
            badge="DEMO",
            hint=self.hint,
            source=self.source,
            pod_pool=POD_POOL,
            vni=VXLAN_VNI,
            vxlan_port=VXLAN_PORT,
            expected_sessions=bgp_expected_sessions(topo.SHAPE)
            if bgp
            else topo.expected_sessions(),
            peer_addresses=topo.peer_addresses(),
        )

    async def start(self) -> None:
        self._ensure_driver()

    async def close(self) -> None:
        self._closed = True
        if self._driver is not None:
            self._driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._driver
            self._driver = None
        self.hub.close()
        for cap in list(self.traffic.captures):
            await cap.close()

    def _ensure_driver(self) -> None:
        if self._closed:
            raise BackendError("the demo lab was closed")
        if self._driver is None or self._driver.done():
            self._wake = asyncio.Event()
            self.sim.on_schedule = self._wake.set
            self._driver = asyncio.get_running_loop().create_task(
                self._drive(), name="demo-lab-driver"
            )

    async def _drive(self) -> None:
        """Run the lab's events as simulated time reaches them."""
        assert self._wake is not None
        while True:
            self._wake.clear()
            self.sim.advance()
            nxt = self.sim.next_time()
            delay = DRIVER_IDLE
            if nxt is not None:
                delay = min(DRIVER_IDLE, self.sim.real_delay(nxt - self.sim.now()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(delay, 0.0005)):
                    await self._wake.wait()

    def _now(self) -> float:
        self.sim.advance()
        return self.sim.now()

    async def advance(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass (sleeps seconds/speed for real, then runs
        the events up to that point even if the clock did not move)."""
        target = self.sim.now() + seconds
        await asyncio.sleep(self.sim.real_delay(seconds))
        self.sim.advance(max(target, self.sim.now()))

    # -- VMs ------------------------------------------------------------------------------

    async def list_hosts(self) -> list[Host]:
        now = self._now()
        hosts: list[Host] = []
        for sw in topo.SWITCHES:
            state = VmState.RUNNING
            if sw.role is Role.SPINE and not self.fabric.spine_running[sw.name]:
                state = VmState.POWEROFF
            hosts.append(
                Host(
                    sw.name,
                    sw.role,
                    sw.rack,
                    state,
                    "demo",
                    f"vagrant@127.0.0.1:{sw.ssh_port}",
                    sw.router_id,
                    sw.asn,
                )
            )
        del now
        for node in topo.NODES:
            hosts.append(
                Host(
                    node.name,
                    node.role,
                    node.rack,
                    VmState.RUNNING,
                    "demo",
                    f"vagrant@127.0.0.1:{node.ssh_port}",
                    node.ip,
                )
            )
        return hosts

    async def vm_action(self, host: str, action: str) -> AsyncIterator[str]:
        """`halt`/`up`/`reload` of a spine (the same as the stop-spine fault); the other
        demo machines cannot be stopped."""
        if action not in ("up", "halt", "reload"):
            raise BackendError(f"unknown VM action {action!r} (up, halt or reload)")
        if host not in topo.SPINES:
            if host in topo.SWITCH_BY_NAME or host in topo.NODE_BY_NAME:
                raise BackendError(f"the demo lab can only {action} spines, not {host}")
            raise NotFound(f"{host}: no such machine in the demo lab")
        self._ensure_driver()
        fault = f"stop-spine:{host}"
        if action in ("halt", "reload"):
            yield f"==> {host}: Attempting graceful shutdown of VM..."
            await self.set_fault(fault, True)
        if action in ("up", "reload"):
            yield f"==> {host}: Booting VM..."
            await self.set_fault(fault, False)
            yield f"==> {host}: Machine booted and ready!"

    # -- fabric ------------------------------------------------------------------------------

    async def simulated_bgp_summary(self, switch: str) -> SwitchReading:
        now = self._now()
        spec = topo.SWITCH_BY_NAME.get(switch)
        if spec is None:
            return SwitchReading(switch, None, f"{switch}: no such switch in the demo lab", now)
        if spec.role is Role.SPINE and not self.fabric.spine_running[switch]:
            return SwitchReading(switch, None, f"{switch}: unreachable (VM is powered off)", now)
        if spec.role is Role.SPINE and not self.fabric.spine_reachable(switch, now):
            return SwitchReading(
                switch, None, f"{switch}: unreachable (booting, ssh not up yet)", now
            )
        try:
            summary = parse_bgp_summary(self.bgp_summary_text(switch))
        except ParseError as err:
            return SwitchReading(switch, None, f"{switch}: {err}", now)
        return SwitchReading(switch, summary, None, now)

    def bgp_summary_text(self, switch: str) -> str:
        """The raw text the switch prints (for tests and the curious)."""
        return self.fabric.render_summary(switch, self._now())

    # -- Kubernetes ------------------------------------------------------------------------------

    # Nodes and pods leave the simulated cluster as API objects and become model
    # objects through the real client's conversion (parsers/kube.py).

    async def list_nodes(self) -> list[KubeNode]:
        self._now()
        return self._node_models()

    async def list_pods(self, namespace: str | None = None) -> list[KubePod]:
        self._now()
        return [pod_from_api(p) for p in self.kube.pod_objects(namespace)]

    async def _watch(
        self,
        kind: str,
        current: Callable[[], list[Any]],
        convert: Callable[[dict[str, Any]], Any],
    ) -> AsyncIterator[Any]:
        self._ensure_driver()
        self._now()
        sub: Subscriber = self.hub.subscribe(kind)
        try:
            yield WatchEvent("RELIST", items=tuple(current()))
            while True:
                event = await sub.get()
                if event is None:
                    return
                if event.type == "RELIST":
                    event = WatchEvent("RELIST", items=tuple(current()))
                elif event.obj is not None:
                    event = WatchEvent(event.type, obj=convert(event.obj))
                yield event
        finally:
            self.hub.unsubscribe(sub)

    def _node_model(self, obj: dict[str, Any]) -> KubeNode:
        # The node's blocks are its BlockAffinities, as the real client reads them.
        rec = self.kube.nodes.get(object_name(obj))
        return node_from_api(obj, rec.blocks if rec is not None else ())

    def _node_models(self) -> list[KubeNode]:
        return [self._node_model(n) for n in self.kube.node_objects()]

    def _pod_models(self) -> list[KubePod]:
        return [pod_from_api(p) for p in self.kube.pod_objects()]

    def watch_nodes(self) -> AsyncIterator[WatchEvent[KubeNode]]:
        return self._watch("node", self._node_models, self._node_model)

    def watch_pods(self) -> AsyncIterator[WatchEvent[KubePod]]:
        return self._watch("pod", self._pod_models, pod_from_api)

    async def apply_calico(self, pool_cidr: str = POD_POOL) -> list[str]:
        try:
            pool = ipaddress.IPv4Network(pool_cidr)
        except ValueError as err:
            raise BackendError(f"bad pool CIDR {pool_cidr!r}: {err}") from None
        if pool.prefixlen > 26:
            raise BackendError(f"pool {pool_cidr} is smaller than one /26 block")
        self._ensure_driver()
        release = apiserver.demo_release(self.kube.calico_applied)  # as for any server: 1.15 here
        objects = manifest_objects(release.manifest)  # read before the clock starts
        audit.record_call(f"demo: apply {release.manifest} (pool {pool})")
        return self.kube.apply_calico(self._now(), str(pool), objects)

    async def ensure_workload(self, workload: DemoWorkload) -> list[str]:
        self._ensure_driver()
        audit.record_call(f"demo: ensure {workload.namespace}/{workload.deployment}")
        return self.kube.ensure_workload(self._now(), workload)

    async def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        if replicas < 0:
            raise BackendError(f"replicas must be 0 or more, not {replicas}")
        self._ensure_driver()
        audit.record_call(f"demo: scale {namespace}/{name} replicas={replicas}")
        self.kube.scale(self._now(), namespace, name, replicas)

    async def deployment_replicas(self, namespace: str, name: str) -> int | None:
        dep = self.kube.deployments.get((namespace, name))
        return None if dep is None else dep.replicas

    async def ping(
        self,
        pod: KubePod,
        target_ip: str,
        count: int = 3,
        timeout: float = 10.0,
        payload: int = DEFAULT_PING_SIZE,
        df: bool = False,
    ) -> PingResult:
        try:
            ipaddress.IPv4Address(target_ip)
        except ValueError:
            raise BackendError(f"ping: {target_ip!r} is not an IPv4 address") from None
        if count < 1:
            raise BackendError("ping count must be at least 1")
        self._ensure_driver()
        self._now()
        size = (" -M do" if df else "") + (f" -s {payload}" if payload != DEFAULT_PING_SIZE else "")
        audit.record_call(f"demo: exec in {pod.key}: ping -c {count}{size} {target_ip}")
        rec = self.kube.pod(pod.namespace, pod.name)
        if rec.status != "Running" or rec.node is None or rec.ip is None:
            return PingResult.failed(
                pod.key, target_ip, f"cannot exec in {pod.key}: pod is {rec.status}"
            )
        # As on the seed's cluster, nginx has no ping: the same probe runs from the node,
        # in the pod's namespace (backends/real/probes/node.py does it for real labs)
        via = "node" if pod.image.split(":")[0].endswith("nginx") else "pod"
        if via == "node":
            audit.record_call(
                f"demo: on {rec.node}: nsenter -t PID -n ping -c {count}{size} {target_ip}"
            )
        text = await self.traffic.run_ping(rec, target_ip, count, timeout, payload, df)
        try:
            stats = parse_ping_output(text)
        except ParseError as err:
            raise BackendError(f"ping in {pod.key}: {err}") from None
        result = dataclasses.replace(stats.as_result(pod.key, target_ip), via=via)
        if stats.transmitted < count:
            result = dataclasses.replace(result, error=f"ping timed out after {timeout:g} s")
        return note_too_big(result, text) if df else result

    # -- overlay ---------------------------------------------------------------------------------

    async def open_capture(
        self, node: str, interface: str = "eth0", bpf: str | None = None
    ) -> CaptureStream:
        """The node's eth0 as the demo writes it: pod traffic only (VXLAN, or plain IP in
        BGP mode), which is what the default filter lets through; `bpf` is not applied."""
        if node not in topo.NODE_BY_NAME:
            if node in topo.SWITCH_BY_NAME:
                raise BackendError(f"{node}: captures run on Kubernetes nodes only")
            raise NotFound(f"{node}: no such node in the demo lab")
        self._ensure_driver()
        self._now()
        return self.traffic.open_capture(node, interface)

    # -- path trace --------------------------------------------------------------------------------

    def trace_ports(self) -> dict[tuple[str, str], str]:
        return dict(tracing.PORTS)

    async def open_trace_capture(self, host: str, interface: str, bpf: str) -> CaptureStream:
        """A capture at any port of the lab; `bpf` is taken as narrowing to the probe (the
        demo writes only echoes there)."""
        self._ensure_driver()
        self._now()
        audit.record_call(f"demo: tcpdump on {host} {interface}: {bpf}")
        return self.traffic.tracer.open(host, interface)

    async def read_state(self, host: str, read: str, arg: str = "") -> str:
        now = self._now()
        audit.record_call(f"demo: read {read} {arg} on {host}".rstrip())
        if read == "nat":  # kube-proxy's rules: the Services' table holds them
            return self.service_table.nat_table(host)
        return self.traffic.tracer.read(host, read, arg, now)

    async def probe(
        self,
        pod: KubePod,
        target_ip: str,
        count: int,
        size: int,
        timeout: float,
        df: bool = False,
    ) -> PingResult:
        if not 0 <= size <= MAX_PING_SIZE:
            raise BackendError(f"ping: illegal packet size {size}")
        return await self.ping(pod, target_ip, count, timeout, payload=size, df=df)

    # -- BGP mode (demo/bgp.py) ----------------------------------------------------------------

    async def calico_mode(self) -> str | None:
        return self.bgp.pool_mode if self.kube.calico_applied else None

    async def switch_dialect(self, switch: str) -> str:
        return self.bgp.dialect.get(switch, "vtysh")

    async def configure_switch(self, switch: str, lines: list[str]) -> list[str]:
        if switch not in topo.SWITCH_BY_NAME:
            raise NotFound(f"{switch}: no such switch in the demo lab")
        self._ensure_driver()
        for line in lines:
            audit.record_call(f"demo: {switch}: {line}")
        return self.bgp.configure(switch, lines, self._now())

    async def switch_routes(self, switch: str) -> list[Route]:
        reading = await self.bgp_summary(switch)  # the same reachability as the summary
        if reading.error is not None:
            raise Unreachable(reading.error)
        return demo_routes.as_read(switch, self.fabric, self.bgp, self._now())

    async def node_bgp_status(self, node: str) -> list[BirdProtocol]:
        if node not in topo.NODE_BY_NAME:
            raise NotFound(f"{node}: no such node in the demo lab")
        try:
            return parse_protocols(self.bgp.bird_text(node, self._now()))
        except ParseError as err:
            raise BackendError(f"{node}: birdcl: {err}") from None

    async def network_policies(self) -> PolicyReading:
        self._now()
        audit.record_call("demo: list networkpolicies, (global)networkpolicies")
        return self.traffic.policy_reading()
