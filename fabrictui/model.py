"""Plain data shared by backends, parsers, actions and the UI.

Nothing here does I/O or imports Textual. Everything is immutable so that a
backend can hand the same object to several consumers without copies.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, Literal, NamedTuple, TypeVar

from fabrictui.constants import POD_POOL, VXLAN_PORT, VXLAN_VNI


class VmState(enum.StrEnum):
    """Machine states as `vagrant status --machine-readable` spells them."""

    RUNNING = "running"
    POWEROFF = "poweroff"
    SAVED = "saved"
    ABORTED = "aborted"
    NOT_CREATED = "not_created"
    UNREACHABLE = "unreachable"
    UNKNOWN = "unknown"


class Role(enum.StrEnum):
    SPINE = "spine"
    LEAF = "leaf"
    MASTER = "master"
    WORKER = "worker"
    OTHER = "other"

    @property
    def is_switch(self) -> bool:
        return self in (Role.SPINE, Role.LEAF)

    @property
    def is_k8s(self) -> bool:
        return self in (Role.MASTER, Role.WORKER)


@dataclass(frozen=True, slots=True)
class Host:
    """One machine of the lab as the VM pane shows it."""

    name: str
    role: Role
    rack: int | None
    state: VmState
    provider: str
    ssh_endpoint: str  # "user@127.0.0.1:2222" or "" when unknown
    address: str | None = None  # eth0 for nodes, router-id / loopback for switches
    asn: int | None = None
    # why its management SSH did not answer (state UNREACHABLE): refused, or no answer within
    # the timeout; the machine itself may still run and forward (issue 28)
    ssh_error: str | None = None


# --- BGP --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BgpPeer:
    neighbor: str  # address or interface name (swp51)
    hostname: str | None
    remote_as: int | None
    state: str  # "Established", "Active", "Idle", "Idle (Admin)", ...
    uptime: str  # as the device prints it: "02:07:56", "1d01h44m", "never"
    prefixes_received: int | None
    msg_rcvd: int | None = None
    msg_sent: int | None = None
    # Accepted through a `bgp listen range` (FRR: `*` in text, `dynamicPeer` in JSON).
    dynamic: bool = False
    # Up, but FRR exchanges nothing for want of an eBGP policy: `(Policy)` in
    # State/PfxRcd or PfxSnt, `peerState: "Policy"` in JSON.
    policy_blocked: bool = False

    @property
    def established(self) -> bool:
        return self.state == "Established"

    @property
    def short_hostname(self) -> str | None:
        """`spine-sw1` for `spine-sw1.lab.local`: what topology names match against."""
        if not self.hostname:
            return None
        return self.hostname.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class BgpSummary:
    router_id: str
    local_as: int | None
    peers: tuple[BgpPeer, ...]


@dataclass(frozen=True, slots=True)
class SwitchReading:
    """The latest answer (or failure) of one switch, with when it was taken."""

    switch: str
    summary: BgpSummary | None
    error: str | None
    fetched_at: float  # time.time() of the answer (from Prometheus: the sample's scrape time)
    source: str = "ssh"  # "ssh" or "prometheus": where the reading came from (docs/telemetry.md)


# --- Kubernetes -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KubeNode:
    name: str
    ready: bool
    roles: tuple[str, ...]
    created: float  # epoch seconds
    version: str
    internal_ip: str
    calico_blocks: tuple[str, ...] = ()  # the node's /26 blocks, once Calico runs
    vtep_mac: str | None = None  # constants.CALICO_TUNNEL_MAC_ANNOTATION
    uid: str = ""

    @property
    def status(self) -> str:
        return "Ready" if self.ready else "NotReady"


@dataclass(frozen=True, slots=True)
class KubePod:
    namespace: str
    name: str
    ready_containers: int
    total_containers: int
    status: str  # kubectl's STATUS column: Running, Pending, ContainerCreating, ...
    restarts: int
    created: float
    ip: str | None
    node: str | None
    owner: str | None = None  # deployment / daemonset name
    labels: tuple[tuple[str, str], ...] = ()
    uid: str = ""
    # Why no node takes the pod (the scheduler's PodScheduled=False message), else "".
    unschedulable: str = ""
    image: str = ""  # the first container's image (what a probe in the pod can run)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def ready_text(self) -> str:
        return f"{self.ready_containers}/{self.total_containers}"

    @property
    def running(self) -> bool:
        return self.status == "Running" and self.ready_containers == self.total_containers

    @property
    def short_name(self) -> str:
        return pod_suffix(self.name)


def pod_suffix(name: str) -> str:
    """`nginx-deployment-55457b9d87-z9pl9` -> `z9pl9`: the random part Kubernetes appends,
    which is what tells one owner's pods apart in a narrow column."""
    return name.rsplit("-", 1)[-1]


T = TypeVar("T", KubeNode, KubePod)

EventType = Literal["ADDED", "MODIFIED", "DELETED", "RELIST"]


@dataclass(frozen=True, slots=True)
class WatchEvent(Generic[T]):
    """One change of a watched collection.

    RELIST replaces the whole collection with `items` (first list, or after a
    410 Gone / reconnect); the other types carry one object in `obj`.
    """

    type: EventType
    obj: T | None = None
    items: tuple[T, ...] = ()


@dataclass(frozen=True, slots=True)
class ServicePort:
    name: str
    port: int
    protocol: str  # TCP, UDP, SCTP
    target_port: str  # a number or a container port's name, as the Service says


@dataclass(frozen=True, slots=True)
class ServiceEndpoint:
    """One address of a Service's endpoints (core/v1 Endpoints or an EndpointSlice)."""

    ip: str
    ready: bool
    pod: str | None = None  # namespace/name of the targetRef, when it is a pod
    node: str | None = None


@dataclass(frozen=True, slots=True)
class KubeService:
    namespace: str
    name: str
    type: str  # ClusterIP, NodePort, LoadBalancer, ExternalName
    cluster_ip: str | None  # None for a headless Service (clusterIP: None)
    ports: tuple[ServicePort, ...] = ()
    selector: tuple[tuple[str, str], ...] = ()  # () : endpoints are kept by hand
    endpoints: tuple[ServiceEndpoint, ...] = ()
    endpoint_ports: tuple[int, ...] = ()  # the ports the endpoints serve (target ports)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def ready(self) -> tuple[ServiceEndpoint, ...]:
        return tuple(e for e in self.endpoints if e.ready)

    @property
    def endpoints_text(self) -> str:
        """`ready/all`, as the pane shows it."""
        return f"{len(self.ready)}/{len(self.endpoints)}"


# --- Overlay ------------------------------------------------------------------


class VxlanFrame(NamedTuple):
    """One captured frame, decoded as far as it goes.

    A NamedTuple rather than a dataclass: the decoder builds hundreds of
    thousands a second and tuple construction is the cheapest Python offers.
    Fields mirror what `tcpdump -nne` prints; lengths are tcpdump's `length`.
    `is_vxlan` is False for frames that are not VXLAN; `note` then says what
    they are (or why decoding stopped).
    """

    time: float
    outer_src_mac: str
    outer_dst_mac: str
    outer_src: str
    outer_dst: str
    udp_src: int
    udp_dst: int
    vni: int | None
    flags: int | None
    inner_src_mac: str
    inner_dst_mac: str
    inner_src: str
    inner_dst: str
    proto: str  # "ICMP", "TCP", "UDP", or the IP protocol number as text
    icmp_type: int | None
    icmp_id: int | None
    icmp_seq: int | None
    length: int  # outer frame length (orig_len)
    inner_length: int  # inner Ethernet frame length
    is_vxlan: bool = True
    note: str = ""
    node: str = ""  # capture point, filled by the capture layer
    inner_sport: int | None = None  # inner TCP/UDP ports (None for ICMP and others)
    inner_dport: int | None = None
    # the outer IPv4 header's identification (None: IPv6 or no IP header): routers keep
    # it, so it tells a frame's sighting on the receiving node from its neighbours'
    ip_id: int | None = None


def is_native(frame: VxlanFrame) -> bool:
    """A plain IP packet read as pod traffic (Calico's BGP mode: no encapsulation): not
    VXLAN, yet its inner fields are filled, from the packet itself (the inner addresses
    are the outer ones). The decoder fills `proto` for exactly these among non-VXLAN
    frames. Reads only `is_vxlan` and `proto`, so it applies to anything with those two
    fields (the flow counters' keys)."""
    return not frame.is_vxlan and frame.proto != ""


# --- Actions and checks ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PingResult:
    source_pod: str  # namespace/name
    target_ip: str
    transmitted: int
    received: int
    rtt_min_ms: float | None
    rtt_avg_ms: float | None
    rtt_max_ms: float | None
    ttl: int | None = None
    error: str | None = None  # exec failed, timeout, ... (loss is not an error)
    # How the probe ran (the stable "via" of the JSON outputs): "pod" (the pod's own
    # tool, through the API's exec), "node" (the pod's network namespace entered from
    # its node), "ephemeral" (a debug container).
    via: str = "pod"
    # Why no method could run the probe (a missing program is not a network fault):
    # such a pair is "not probed", never a failure or a loss.
    not_probed: str | None = None
    # A "don't fragment" probe refused for its size (`ping -M do`): the MTU reported and who
    # reported it ("local": the sending kernel; else the router's address). Data, not an error.
    too_big_mtu: int | None = None
    too_big_from: str | None = None

    @classmethod
    def failed(cls, source: str, target: str, error: str) -> PingResult:
        """A ping that never ran or whose output could not be read: nothing sent."""
        return cls(source, target, 0, 0, None, None, None, error=error)

    @classmethod
    def unprobed(cls, source: str, target: str, why: str, via: str = "pod") -> PingResult:
        """No probe could run (its program is missing everywhere it was tried)."""
        return cls(source, target, 0, 0, None, None, None, via=via, not_probed=why)

    @property
    def loss_pct(self) -> float:
        if self.transmitted == 0:
            return 100.0
        return 100.0 * (self.transmitted - self.received) / self.transmitted

    @property
    def ok(self) -> bool:
        return self.error is None and self.transmitted > 0 and self.received == self.transmitted

    @property
    def probed(self) -> bool:
        """Echoes went out: the pair was observed. A ping that never ran (the exec or the API
        failed, its output could not be read) says nothing about the path."""
        return self.transmitted > 0

    @property
    def verdict(self) -> Verdict:
        if self.ok:
            return Verdict.PASS
        return Verdict.FAIL if self.probed else Verdict.NOT_OBSERVED


@dataclass(frozen=True, slots=True)
class TcpProbe:
    """A TCP connect from a pod to ip:port: did the handshake complete (a Service's
    ClusterIP, an endpoint). Refused or timed out is a result; a probe no method could
    run is "not probed", in the words of PingResult's."""

    source_pod: str  # namespace/name
    target_ip: str
    port: int
    connected: bool
    elapsed_ms: float | None = None
    error: str | None = None  # why the connection did not open ("refused", "timed out")
    via: str = "node"  # as PingResult.via
    not_probed: str | None = None

    @property
    def target(self) -> str:
        return f"{self.target_ip}:{self.port}"

    @property
    def verdict(self) -> Verdict:
        if self.not_probed is not None:
            return Verdict.NOT_OBSERVED
        return Verdict.PASS if self.connected else Verdict.FAIL


@dataclass(frozen=True, slots=True)
class DnsLookup:
    """A name resolved from a pod, through the pod's resolver and resolv.conf (the cluster
    DNS): the addresses, the time it took, or why it failed ("NXDOMAIN", "SERVFAIL",
    "timed out", "no address"); a lookup no method could run is "not probed"."""

    source_pod: str  # namespace/name
    name: str
    addresses: tuple[str, ...] = ()
    answered_as: str | None = None  # the name that answered, after the search list
    elapsed_ms: float | None = None
    error: str | None = None
    via: str = "node"  # as PingResult.via
    program: str = "getent"  # getent, dig
    not_probed: str | None = None

    @property
    def verdict(self) -> Verdict:
        if self.not_probed is not None:
            return Verdict.NOT_OBSERVED
        return Verdict.PASS if self.addresses and self.error is None else Verdict.FAIL


class Verdict(enum.StrEnum):
    """A check's three verdicts: what was seen is right, what was seen is wrong, or what the
    check needs could not be read (a host without an answer, an API that timed out, a capture
    that could not run). Not observed is never a failure: nothing was seen to be wrong."""

    PASS = "pass"
    FAIL = "fail"
    NOT_OBSERVED = "not_observed"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    passed: bool
    evidence: tuple[str, ...] = ()
    cause: str | None = None  # one line naming what broke (or could not be read), when not passed
    # False when the check could not decide for want of evidence (then `passed` is False and
    # `cause` says what could not be read and what the rest of the evidence says)
    observed: bool = True
    # what a check that decided could not see, in words ("spine-sw1: management SSH ...")
    unseen: tuple[str, ...] = ()

    @property
    def state(self) -> Verdict:
        if self.passed:
            return Verdict.PASS
        return Verdict.FAIL if self.observed else Verdict.NOT_OBSERVED

    @classmethod
    def not_observed(cls, name: str, cause: str, evidence: tuple[str, ...] = ()) -> CheckResult:
        return cls(name, False, evidence, cause, observed=False)


def checks_verdict(results: Iterable[CheckResult]) -> Verdict:
    """The verdict of a verification: a pass that could not see everything counts as not
    observed, so a script learns that something was not seen."""
    listed = list(results)
    return overall((r.state for r in listed), partial=any(r.unseen for r in listed))


def overall(states: Iterable[Verdict], partial: bool = False) -> Verdict:
    """The verdict of several: any failure fails; else anything not observed (or a pass that
    could not see everything, `partial`) is not observed; else pass."""
    seen = set(states)
    if Verdict.FAIL in seen:
        return Verdict.FAIL
    if Verdict.NOT_OBSERVED in seen or partial:
        return Verdict.NOT_OBSERVED
    return Verdict.PASS


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault a backend can inject (demo lab, rehearsal lab)."""

    id: str  # "stop-spine:spine-sw1"
    title: str  # "Stop spine spine-sw1"
    active: bool = False


@dataclass(frozen=True, slots=True)
class LabInfo:
    """What the header shows about the lab in use."""

    name: str
    kind: str  # "demo", "rehearsal", "vagrant", "inventory", "kubeconfig"
    badge: str = ""  # "DEMO" for the built-in lab: shown prominently
    hint: str = ""  # e.g. how to point fabrictui at a real lab
    source: str = ""  # where the lab came from: a directory, a file, "--demo ready"
    # why the fabric (switches, SSH to the nodes) is not observed and how to add it;
    # empty when the lab lists its switches
    not_observed: str = ""
    pod_pool: str = POD_POOL
    vni: int = VXLAN_VNI
    vxlan_port: int = VXLAN_PORT
    expected_sessions: tuple[tuple[str, str], ...] = field(default=())  # (leaf, spine)
    # (neighbor address as a switch sees it, host that owns it): names peers whose
    # summary shows no hostname, and the far end of a session in check messages
    peer_addresses: tuple[tuple[str, str], ...] = field(default=())

    def to_json(self) -> dict[str, str]:
        """The `"lab"` object of every JSON output: which lab it describes."""
        return {"kind": self.kind, "name": self.name, "source": self.source}

    def describe(self) -> str:
        """The first line of every text output: which lab it describes."""
        return f"lab: {self.name} [{self.kind}]" + (f" from {self.source}" if self.source else "")
