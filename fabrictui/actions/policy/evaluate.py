"""Does the network policy let a packet from one pod to another through, and which policy
and rule decides? Pure: pods, policies and the packet in, a `Decision` out.

Calico's semantics, which on a Calico cluster are Kubernetes' too (Calico renders a
Kubernetes NetworkPolicy as one of its own with order 1000 and only Allow rules): the
packet passes the source pod's egress policies, then the destination pod's ingress
policies. In each direction the policies that select the pod are taken by order (lowest
first, unordered last, then by name); the first rule whose match fits the packet decides
(Allow, Deny; Pass hands it to the profile, which allows; Log goes on). A pod that some
policy selects and no rule decides for is denied; a pod no policy selects is allowed."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from fabrictui.model import KubePod
from fabrictui.parsers.netpolicy import Peer, Policy, PolicyReading, PortMatch, Rule

PROTOCOL_NUMBERS = {"1": "ICMP", "6": "TCP", "17": "UDP", "132": "SCTP", "58": "ICMPV6"}
PORT_PROTOCOLS = ("TCP", "UDP", "SCTP", "UDPLITE")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A pod as policy sees it: its labels (with those Calico adds), its namespace's labels
    and its IP."""

    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    ip: str | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def of(cls, pod: KubePod, reading: PolicyReading | None = None) -> Endpoint:
        labels = dict(pod.labels)
        # the labels Calico gives every workload endpoint, which its selectors may use
        labels.setdefault("projectcalico.org/namespace", pod.namespace)
        labels.setdefault("projectcalico.org/orchestrator", "k8s")
        spaces = reading.labels_of(pod.namespace) if reading is not None else {}
        spaces.setdefault("projectcalico.org/name", pod.namespace)
        return cls(pod.namespace, pod.name, labels, spaces, pod.ip)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    direction: str = ""  # "ingress" or "egress", where it was decided ("" if no policy)
    policy: Policy | None = None
    rule: int | None = None  # the deciding rule's index; None: no rule matched
    action: str = ""  # the deciding rule's action
    selecting: tuple[Policy, ...] = ()  # the policies that selected the pod that way

    @property
    def rule_text(self) -> str:
        """ "ingress rule 1 (Deny)", or what denied when no rule matched."""
        if self.policy is None:
            return ""
        if self.rule is None:
            return f"no {self.direction} rule allows it"
        return f"{self.direction} rule {self.rule + 1} ({self.action})"

    def words(self, src: str, dst: str) -> str:
        """One line for a check's cause or a ping's diagnosis."""
        if self.policy is None:
            return f"no policy selects {src} (egress) or {dst} (ingress)"
        verb = "allows" if self.allowed else "denies"
        side = dst if self.direction == "ingress" else src
        if self.rule is None and not self.allowed:
            names = ", ".join(p.label for p in self.selecting)
            return (
                f"{names} {'select' if len(self.selecting) > 1 else 'selects'} {side} for "
                f"{self.direction} and no rule allows {src} -> {dst}"
            )
        return f"{self.policy.label} {self.rule_text} {verb} {src} -> {dst}"


def _order(policy: Policy) -> tuple[float, str]:
    return (policy.order if policy.order is not None else math.inf, policy.key)


def applies(policy: Policy, endpoint: Endpoint, direction: str) -> bool:
    """Whether `policy` selects `endpoint` for `direction` ("ingress"/"egress")."""
    return policy.selects(endpoint.namespace, endpoint.labels, endpoint.namespace_labels, direction)


def _in_nets(ip: str | None, nets: Iterable[str]) -> bool:
    if ip is None:
        return False
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in ipaddress.ip_network(n) for n in nets)


def _port_fits(ports: Sequence[PortMatch], protocol: str, port: int | None) -> bool:
    if port is None or protocol not in PORT_PROTOCOLS:
        return False
    return any(
        not p.name and p.first <= port <= p.last and p.protocol in (None, protocol) for p in ports
    )


def peer_matches(
    peer: Peer, endpoint: Endpoint, protocol: str, port: int | None, is_destination: bool
) -> bool:
    """Every condition the peer gives holds for this end of the packet. A source's ports are
    the sender's ephemeral port, which a probe does not know: such a peer never matches."""
    if not peer.selects_pod(endpoint.namespace, endpoint.labels, endpoint.namespace_labels):
        return False
    if peer.nets and not _in_nets(endpoint.ip, peer.nets):
        return False
    if peer.not_nets and _in_nets(endpoint.ip, peer.not_nets):
        return False
    if peer.ports and (not is_destination or not _port_fits(peer.ports, protocol, port)):
        return False
    return not (peer.not_ports and is_destination and _port_fits(peer.not_ports, protocol, port))


def rule_matches(rule: Rule, src: Endpoint, dst: Endpoint, protocol: str, port: int | None) -> bool:
    if rule.protocol is not None and PROTOCOL_NUMBERS.get(rule.protocol, rule.protocol) != protocol:
        return False
    if rule.not_protocol is not None and (
        PROTOCOL_NUMBERS.get(rule.not_protocol, rule.not_protocol) == protocol
    ):
        return False
    if rule.source and not any(peer_matches(p, src, protocol, port, False) for p in rule.source):
        return False
    return not rule.destination or any(
        peer_matches(p, dst, protocol, port, True) for p in rule.destination
    )


def _direction(
    policies: Sequence[Policy],
    direction: str,
    src: Endpoint,
    dst: Endpoint,
    protocol: str,
    port: int | None,
) -> Decision:
    local = dst if direction == "ingress" else src
    chosen = sorted((p for p in policies if applies(p, local, direction)), key=_order)
    for policy in chosen:
        rules = policy.ingress if direction == "ingress" else policy.egress
        for i, rule in enumerate(rules):
            if rule.action == "Log" or not rule_matches(rule, src, dst, protocol, port):
                continue
            allowed = rule.action in ("Allow", "Pass")
            return Decision(allowed, direction, policy, i, rule.action, tuple(chosen))
    if chosen:
        return Decision(False, direction, chosen[0], None, "", tuple(chosen))
    return Decision(True)


def evaluate(
    policies: Sequence[Policy],
    src: Endpoint,
    dst: Endpoint,
    protocol: str = "ICMP",
    port: int | None = None,
) -> Decision:
    """The verdict for one packet from `src` to `dst` (`port` for TCP/UDP/SCTP)."""
    protocol = PROTOCOL_NUMBERS.get(protocol, protocol.upper())
    egress = _direction(policies, "egress", src, dst, protocol, port)
    if not egress.allowed:
        return egress
    ingress = _direction(policies, "ingress", src, dst, protocol, port)
    if not ingress.allowed or ingress.policy is not None:
        return ingress
    return egress


def pod_policies(reading: PolicyReading, pod: KubePod) -> list[tuple[Policy, tuple[str, ...]]]:
    """The policies that select `pod`, each with the directions it covers (a pod's detail)."""
    endpoint = Endpoint.of(pod, reading)
    out = []
    for policy in sorted(reading.policies, key=_order):
        ways = tuple(d for d in ("ingress", "egress") if applies(policy, endpoint, d))
        if ways:
            out.append((policy, ways))
    return out


def pair_decision(
    reading: PolicyReading, src: KubePod, dst: KubePod, protocol: str = "ICMP",
    port: int | None = None,
) -> Decision:  # fmt: skip
    return evaluate(
        reading.policies, Endpoint.of(src, reading), Endpoint.of(dst, reading), protocol, port
    )
