"""The one interface every lab implements: the demo lab, the rehearsal lab and
real Vagrant/inventory labs.

The UI and the actions only ever see a `LabBackend`. A backend returns model
objects; raw material (BGP summary text or JSON, pcap bytes, ping output) goes
through `fabrictui.parsers` and `fabrictui.capture` inside the backend, so the
demo lab exercises the same parsing path as a real one.

Every failure a caller should show to the user is a `BackendError` (or a
subclass) with a message that reads well on its own in a pane or a log line.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from fabrictui.backends.trace_ports import calico_veth
from fabrictui.constants import POD_POOL, pod_traffic_bpf
from fabrictui.intent.releases import ServerFacts
from fabrictui.model import (
    DnsLookup,
    Fault,
    Host,
    KubeNode,
    KubePod,
    KubeService,
    LabInfo,
    PingResult,
    SwitchReading,
    TcpProbe,
    WatchEvent,
)
from fabrictui.parsers.bgp.bird_session import BirdSession
from fabrictui.parsers.bgp.neighbor import BgpNeighbor
from fabrictui.parsers.bgp.neighbor.logged import LoggedChange
from fabrictui.parsers.bird import BirdProtocol
from fabrictui.parsers.interfaces import Interface
from fabrictui.parsers.kubedetail.events import KubeEvent
from fabrictui.parsers.netpolicy import PolicyReading
from fabrictui.parsers.routes import Route

DEFAULT_PING_SIZE = 56  # iputils ping's payload bytes without -s
MAX_PING_SIZE = 65507  # the largest ICMP payload in one IPv4 packet (ping refuses more)


class BackendError(Exception):
    """A lab operation failed; `str(err)` is a one-line message for the user."""


class Unreachable(BackendError):
    """A host or API did not answer (refused, timed out, went away)."""


class NotFound(BackendError):
    """The object asked for does not exist (a pod, a host, a deployment)."""


class ToolMissing(BackendError):
    """A program a probe or capture needs is not installed on the host or in the image:
    nothing was observed, and nothing is said of the network ("k8s-node-l2-1: no tcpdump")."""

    def __init__(self, host: str, program: str, detail: str = "") -> None:
        super().__init__(f"{host}: no {program}" + (f" ({detail})" if detail else ""))
        self.host = host
        self.program = program


class TelemetryCut(BackendError):
    """The telemetry could not see the host (its exporter down, no target for it, stale
    series; docs/telemetry.md): nothing is said of the host itself, so a check counts it as
    not seen, never as a fault."""


class ReadOnlyError(BackendError):
    """A mutating operation was refused because the app runs read-only."""


@dataclass(frozen=True, slots=True)
class DemoWorkload:
    """The seed's demo objects, created by scale when missing."""

    namespace: str = "space1"
    deployment: str = "nginx-deployment"
    service: str = "nginx-service"
    image: str = "nginx:1.17"
    app_label: str = "nginx"


class CaptureStream(abc.ABC):
    """Raw pcap bytes (`tcpdump -U -w -` format) from one node's interface.

    Iterate `chunks()` for the byte stream (first chunk starts with the pcap
    global header); `close()` must stop the capture at the source and leave
    nothing running on the node. Chunk boundaries are arbitrary.
    """

    node: str
    interface: str
    # Where the frames were captured: "node" (its own tcpdump) or "switch" (the leaf port
    # facing it, for a node without tcpdump), and that point for people to read.
    via: str = "node"
    point: str = ""

    @abc.abstractmethod
    def chunks(self) -> AsyncIterator[bytes]: ...

    @abc.abstractmethod
    async def close(self) -> None: ...


class LabBackend(abc.ABC):
    """Everything fabrictui needs from a lab."""

    # -- lifecycle ------------------------------------------------------------

    @abc.abstractmethod
    def info(self) -> LabInfo:
        """Static description of the lab (name, kind, badge, expected sessions)."""

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open connections / start simulations. Called once before any other call."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release everything start() and later calls opened."""

    # -- VMs ---------------------------------------------------------------------

    @abc.abstractmethod
    async def list_hosts(self) -> list[Host]:
        """All machines of the lab with their current VM state."""

    async def vm_action(self, host: str, action: str) -> AsyncIterator[str]:
        """Run `up`, `halt` or `reload` on one VM, yielding output lines."""
        raise BackendError(f"{self.info().kind} labs cannot {action} VMs")
        yield ""  # pragma: no cover - makes this an async generator

    def ssh_command(self, host: str) -> list[str] | None:
        """argv of an interactive ssh to `host`, or None when not possible."""
        return None

    # -- fabric -------------------------------------------------------------------

    @abc.abstractmethod
    async def bgp_summary(self, switch: str) -> SwitchReading:
        """One switch's BGP summary; failures are returned in `error`, not raised."""

    # -- Kubernetes ------------------------------------------------------------------

    @abc.abstractmethod
    async def list_nodes(self) -> list[KubeNode]: ...

    @abc.abstractmethod
    async def list_pods(self, namespace: str | None = None) -> list[KubePod]: ...

    @abc.abstractmethod
    def watch_nodes(self) -> AsyncIterator[WatchEvent[KubeNode]]:
        """Endless stream: a RELIST first, then changes. Raises BackendError on loss."""

    @abc.abstractmethod
    def watch_pods(self) -> AsyncIterator[WatchEvent[KubePod]]:
        """Endless stream over all namespaces: a RELIST first, then changes."""

    @abc.abstractmethod
    async def apply_calico(self, pool_cidr: str = POD_POOL) -> list[str]:
        """Apply the bundled Calico manifest (VXLAN backend); returns what was applied,
        one line per object (`daemonset.apps/calico-node created`)."""

    @abc.abstractmethod
    async def ensure_workload(self, workload: DemoWorkload) -> list[str]:
        """Create the namespace, deployment and service when missing; returns what
        was created (empty when all existed)."""

    @abc.abstractmethod
    async def scale_deployment(self, namespace: str, name: str, replicas: int) -> None: ...

    async def deployment_replicas(self, namespace: str, name: str) -> int | None:
        """The deployment's desired replicas (spec.replicas), None when it does not exist.
        Labs that cannot read deployments raise NotImplementedError."""
        raise NotImplementedError

    async def list_services(self, namespace: str | None = None) -> list[KubeService]:
        """Services with their endpoints (core/v1 Endpoints, or EndpointSlices where the
        server has no Endpoints to give)."""
        raise BackendError(f"{self.info().kind} labs cannot read Services")

    async def probe_tcp(self, pod: KubePod, ip: str, port: int, timeout: float) -> TcpProbe:
        """A TCP connect from the pod's network namespace to ip:port (the handshake only,
        nothing sent); the methods and "not probed" words of `probe`."""
        raise BackendError(f"{self.info().kind} labs cannot open a TCP connection from a pod")

    async def resolve(self, pod: KubePod, name: str, timeout: float) -> DnsLookup:
        """`name` resolved from the pod by its own resolver and resolv.conf (getent, or dig
        where the image has it); else from its node in the pod's network and mount
        namespaces; else "not probed" with the reasons, as `probe` words them."""
        raise BackendError(f"{self.info().kind} labs cannot resolve a name from a pod")

    async def pod_resolv_conf(self, pod: KubePod) -> str:
        """The pod's /etc/resolv.conf as its processes see it."""
        raise BackendError(f"{self.info().kind} labs cannot read a pod's resolv.conf")

    @abc.abstractmethod
    async def ping(
        self, pod: KubePod, target_ip: str, count: int = 3, timeout: float = 10.0
    ) -> PingResult:
        """Exec `ping -c count target_ip` in the pod; loss is a result, not an error."""

    # -- overlay ----------------------------------------------------------------------

    @abc.abstractmethod
    async def open_capture(
        self, node: str, interface: str = "eth0", bpf: str | None = None
    ) -> CaptureStream:
        """Start capturing on `node`; the stream yields pcap bytes. `bpf` None: the
        overlay's filter for this lab (`capture_filter`)."""

    def capture_filter(self) -> str:
        """The overlay's capture filter for this lab in either Calico mode: VXLAN on the
        lab's port, or plain IP between addresses of its pod pool (BGP mode)."""
        info = self.info()
        return pod_traffic_bpf(info.pod_pool, info.vxlan_port)

    # -- path trace (fabrictui/actions/trace/run.py, docs/trace.md) -------------------------

    def trace_ports(self) -> dict[tuple[str, str], str]:
        """(host, neighbour) -> the host's interface facing it, for every cable of the lab.
        Labs that cannot watch their hops raise BackendError."""
        raise BackendError(f"{self.info().kind} labs cannot trace a path")

    def pod_interface(self, pod: KubePod) -> str:
        """The pod's host-side interface on its node (Calico's caliXXXXXXXXXXX)."""
        return calico_veth(pod.namespace, pod.name)

    async def open_trace_capture(self, host: str, interface: str, bpf: str) -> CaptureStream:
        """Capture on any host of the lab (nodes and switches) and any interface; the stream
        stops at the source on close(), and also when this app goes away."""
        raise BackendError(f"{self.info().kind} labs cannot capture on {host} {interface}")

    async def read_state(self, host: str, read: str, arg: str = "") -> str:
        """The text one state read prints on `host` (`backends.trace_ports.TRACE_READS`: route,
        routes, neigh, fdb, links). Unreachable when the host does not answer."""
        raise BackendError(f"{self.info().kind} labs cannot read {read} on {host}")

    async def probe(
        self,
        pod: KubePod,
        target_ip: str,
        count: int,
        size: int,
        timeout: float,
        df: bool = False,
    ) -> PingResult:
        """`ping -c count -s size` from the pod (`-M do` when `df`: don't fragment, the path
        MTU probe; one refused for its size carries `too_big_mtu`); labs that cannot choose
        the size refuse any size but ping's default, and every DF probe."""
        if df:
            raise BackendError(f"{self.info().kind} labs cannot send don't-fragment probes")
        if size != DEFAULT_PING_SIZE:
            raise BackendError(f"{self.info().kind} labs cannot set the probe size")
        return await self.ping(pod, target_ip, count, timeout)

    async def network_policies(self) -> PolicyReading:
        """The lab's network policies (Kubernetes NetworkPolicy, Calico NetworkPolicy and
        GlobalNetworkPolicy) and its namespaces' labels; a kind the API does not serve is
        in the reading's `unseen`, not an error."""
        raise BackendError(f"{self.info().kind} labs cannot read network policy")

    # -- the BGP scenario: Calico peering with the leaves (docs/bgp-scenario.md) ---------

    async def calico_mode(self) -> str | None:
        """How Calico carries pod traffic, read from the cluster's IPPools: "vxlan" (a pool
        with vxlanMode Always/CrossSubnet), "bgp" (no encapsulation), None when Calico has
        no pool yet. Labs that cannot tell say "vxlan", the scenario they were built for."""
        return "vxlan"

    async def switch_dialect(self, switch: str) -> str:
        """The language the switch is configured in: "nclu" (Cumulus `net add ...`) or
        "vtysh" (FRR). Asked of the switch itself where the lab must (a real switch's
        platform is read once, over SSH), so a plan made before any poll is right."""
        return "vtysh"

    async def configure_switch(self, switch: str, lines: list[str]) -> list[str]:
        """Apply configuration lines in the switch's dialect (`net add ...` then `net
        commit`, or a vtysh `configure terminal` session); returns what the switch said."""
        raise BackendError(f"{self.info().kind} labs cannot configure {switch}")

    async def apply_objects(self, docs: list[dict[str, Any]]) -> list[str]:
        """Apply Kubernetes objects, in order, by the method the server has (server-side
        apply, or create-or-replace on a server without it) (Calico's IPPool, BGPPeer,
        BGPConfiguration, node annotations); one line per object, as kubectl prints it."""
        raise BackendError(f"{self.info().kind} labs cannot apply Kubernetes objects")

    async def server_facts(self, group_versions: Sequence[str] = ()) -> ServerFacts:
        """What the lab's API server says about itself: its version, the group versions
        its discovery lists, and the kinds served in `group_versions` (those it serves)."""
        raise BackendError(f"{self.info().kind} labs cannot read the API server's discovery")

    async def preview_objects(self, docs: list[dict[str, Any]]) -> list[str]:
        """For a plan: `label: new`, `label: exists, unchanged` or `label: exists, would
        change` for each object, read from the cluster, nothing written."""
        raise BackendError(f"{self.info().kind} labs cannot read Kubernetes objects")

    async def delete_objects(self, docs: list[dict[str, Any]]) -> list[str]:
        """Delete Kubernetes objects (BGP mode's BGPPeers on the way back to VXLAN); one
        line per object, an object already gone is not an error."""
        raise BackendError(f"{self.info().kind} labs cannot delete Kubernetes objects")

    async def switch_routes(self, switch: str) -> list[Route]:
        """The switch's IPv4 routing table (`show ip route json`, parsed)."""
        raise BackendError(f"{self.info().kind} labs cannot read {switch}'s routes")

    async def node_bgp_status(self, node: str) -> list[BirdProtocol]:
        """The node's BIRD protocols (`birdcl show protocols` in calico-node), parsed."""
        raise BackendError(f"{self.info().kind} labs cannot read BIRD on {node}")

    # -- drill down (issue 26): one object in detail, read when asked --------------------

    async def bgp_neighbor(self, switch: str, peer: str) -> BgpNeighbor:
        """One session as the switch shows it (`show bgp neighbors PEER json`, NCLU's text
        where no JSON is served); `peer` as the switch names it (address or interface).
        NotFound, in the switch's words, when it has no such neighbour."""
        raise BackendError(f"{self.info().kind} labs cannot read {switch}'s BGP neighbors")

    async def bgp_neighbor_logged(self, switch: str, peer: str) -> LoggedChange | None:
        """The last change of the session with `peer` as the switch's FRR logged it
        (`%ADJCHANGE`, with the NOTIFICATION before it), for a neighbour it no longer lists
        (a deleted dynamic neighbour); None when the log has none."""
        raise BackendError(f"{self.info().kind} labs cannot read {switch}'s FRR log")

    async def node_bgp_session(self, node: str, protocol: str) -> BirdSession:
        """One of the node's BIRD protocols in detail (`birdcl show protocols all NAME`);
        NotFound, in BIRD's words, when it has none of that name."""
        raise BackendError(f"{self.info().kind} labs cannot read BIRD on {node}")

    async def switch_interfaces(self, switch: str) -> list[Interface]:
        """The switch's interfaces: state, speed, MTU and error counters (/sys/class/net)."""
        raise BackendError(f"{self.info().kind} labs cannot read {switch}'s interfaces")

    async def read_object(
        self, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any]:
        """The API object of a "pod" or a "node", as the API serves it; NotFound in its words."""
        raise BackendError(f"{self.info().kind} labs cannot read Kubernetes objects")

    async def list_events(
        self,
        namespace: str | None = None,
        about: tuple[str, str] | None = None,
        warnings_only: bool = False,
    ) -> list[KubeEvent]:
        """Events (events.k8s.io where served, else core/v1) of `namespace` (None: all), only
        those of the object `about` = (kind, name) when given, only Warnings if asked."""
        raise BackendError(f"{self.info().kind} labs cannot read events")

    async def pod_log(
        self, namespace: str, name: str, container: str | None = None,
        previous: bool = False, tail: int | None = None,
    ) -> list[str]:  # fmt: skip
        """A container's log, its newest lines (bounded); the API's refusal in its words."""
        raise BackendError(f"{self.info().kind} labs cannot read logs")

    def follow_pod_log(
        self, namespace: str, name: str, container: str | None = None, tail: int | None = None
    ) -> AsyncIterator[str]:
        """A container's log as it is written, until the stream ends (the pod went)."""
        raise BackendError(f"{self.info().kind} labs cannot follow logs")

    # -- faults (labs that can break themselves on purpose) ----------------------------

    def faults(self) -> list[Fault]:
        """Faults this lab can inject, with whether each is active now."""
        return []

    async def set_fault(self, fault_id: str, active: bool) -> None:
        raise BackendError(f"{self.info().kind} labs cannot inject faults")
