"""Network policy as the API serves it -> one model for both kinds.

Kubernetes NetworkPolicy (networking.k8s.io/v1) and Calico's NetworkPolicy and
GlobalNetworkPolicy (crd.projectcalico.org/v1, the CRDs of Calico 3.10's manifest) become
the same `Policy`: a selector of the endpoints it applies to, the directions it covers, and
ordered rules with an action. A Kubernetes policy is what Calico makes of it: order 1000,
every rule Allow, so one evaluator (actions/policy) serves both.

A rule's `source` and `destination` are each a tuple of `Peer`s of which any may match
(empty: anything); a Kubernetes ingress rule's `from` is its source and its ports sit on
the destination; a Calico rule's source and destination entity rules are one peer each."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fabrictui.parsers import ParseError, json_list, json_map
from fabrictui.parsers.selectors import ALL, Selector, calico_selector, label_selector

K8S_ORDER = 1000.0  # where Calico places a Kubernetes NetworkPolicy among its own
ACTIONS = ("Allow", "Deny", "Log", "Pass")
PORT_PROTOCOLS = ("TCP", "UDP", "SCTP", "UDPLITE")


@dataclass(frozen=True, slots=True)
class PortMatch:
    """A port or range; `protocol` None when the rule's protocol applies (Calico)."""

    first: int
    last: int
    protocol: str | None = None
    name: str = ""  # a named port (matched by no number: the container's ports are unknown)

    def text(self) -> str:
        port = self.name or (str(self.first) if self.first == self.last else
                             f"{self.first}:{self.last}")  # fmt: skip
        return f"{self.protocol}/{port}" if self.protocol else port


@dataclass(frozen=True, slots=True)
class Peer:
    """One side of a rule; every field given must match (AND)."""

    selector: Selector | None = None  # the pods' labels
    not_selector: Selector | None = None
    namespaces: Selector | None = None  # the labels of the pod's namespace
    namespace: str | None = None  # only pods of this namespace (a namespaced policy)
    nets: tuple[str, ...] = ()
    not_nets: tuple[str, ...] = ()
    ports: tuple[PortMatch, ...] = ()
    not_ports: tuple[PortMatch, ...] = ()

    @property
    def names_pods(self) -> bool:
        """Whether the peer says anything of pods (else only addresses and ports)."""
        pods = (self.selector, self.not_selector, self.namespaces, self.namespace)
        return any(x is not None for x in pods)

    def selects_pod(
        self, namespace: str, labels: Mapping[str, str], namespace_labels: Mapping[str, str]
    ) -> bool:
        """The pod conditions (namespace, namespace labels, pod labels) all hold."""
        if self.namespace is not None and self.namespace != namespace:
            return False
        if self.namespaces is not None and not self.namespaces.matches(namespace_labels):
            return False
        if self.selector is not None and not self.selector.matches(labels):
            return False
        return self.not_selector is None or not self.not_selector.matches(labels)


@dataclass(frozen=True, slots=True)
class Rule:
    action: str
    protocol: str | None = None
    not_protocol: str | None = None
    source: tuple[Peer, ...] = ()
    destination: tuple[Peer, ...] = ()


@dataclass(frozen=True, slots=True)
class Policy:
    kind: str  # NetworkPolicy (Kubernetes), CalicoNetworkPolicy, GlobalNetworkPolicy
    name: str
    namespace: str | None
    selector: Selector
    types: tuple[str, ...]  # "Ingress", "Egress"
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()
    order: float | None = None  # None: after every ordered policy
    namespaces: Selector | None = None  # a GlobalNetworkPolicy's namespaceSelector

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def selects(
        self,
        namespace: str,
        labels: Mapping[str, str],
        namespace_labels: Mapping[str, str],
        direction: str,
    ) -> bool:
        """Whether the policy applies to a pod for `direction` ("ingress"/"egress")."""
        if direction.capitalize() not in self.types:
            return False
        if self.namespace is not None and self.namespace != namespace:
            return False
        if self.namespaces is not None and not self.namespaces.matches(namespace_labels):
            return False
        return self.selector.matches(labels)

    @property
    def label(self) -> str:
        kind = {"CalicoNetworkPolicy": "Calico NetworkPolicy"}.get(self.kind, self.kind)
        return f"{kind} {self.key}"


@dataclass(frozen=True, slots=True)
class PolicyReading:
    """What a lab's API holds: the policies, the namespaces' labels, and the kinds it could
    not read ("Calico GlobalNetworkPolicy: not served")."""

    policies: tuple[Policy, ...] = ()
    namespace_labels: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    unseen: tuple[str, ...] = ()

    def labels_of(self, namespace: str) -> dict[str, str]:
        for name, labels in self.namespace_labels:
            if name == namespace:
                return dict(labels)
        return {}


def _cidr(value: Any, what: str) -> str:
    try:
        return str(ipaddress.ip_network(str(value), strict=False))
    except ValueError:
        raise ParseError(f"{what}: {value!r} is not a CIDR") from None


def _port(value: Any, what: str, protocol: str | None, end: Any = None) -> PortMatch:
    if isinstance(value, bool):
        raise ParseError(f"{what}: {value!r} is not a port")
    if isinstance(value, int):
        last = end if isinstance(end, int) and not isinstance(end, bool) else value
        if not 0 < value <= last <= 65535:
            raise ParseError(f"{what}: port {value} is out of range")
        return PortMatch(value, last, protocol)
    if isinstance(value, str) and value:
        first, sep, last_text = value.partition(":")
        if first.isdigit() and (not sep or last_text.isdigit()):
            lo, hi = int(first), int(last_text or first)
            if not 0 < lo <= hi <= 65535:
                raise ParseError(f"{what}: ports {value} are out of range")
            return PortMatch(lo, hi, protocol)
        return PortMatch(0, 0, protocol, name=value)
    raise ParseError(f"{what}: {value!r} is not a port")


def _meta(obj: Mapping[str, Any], what: str) -> tuple[str, str | None]:
    meta = json_map(obj.get("metadata"), f"{what}.metadata")
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise ParseError(f"{what}: no metadata.name")
    ns = meta.get("namespace")
    return name, ns if isinstance(ns, str) and ns else None


# -- Kubernetes NetworkPolicy ---------------------------------------------------------------


def _k8s_peer(raw: Any, what: str, namespace: str) -> Peer:
    peer = json_map(raw, what)
    block = json_map(peer.get("ipBlock"), f"{what}.ipBlock")
    if block:
        excepted = json_list(block.get("except"), f"{what}.ipBlock.except")
        return Peer(
            nets=(_cidr(block.get("cidr"), f"{what}.ipBlock.cidr"),),
            not_nets=tuple(_cidr(c, f"{what}.ipBlock.except") for c in excepted),
        )
    if "podSelector" not in peer and "namespaceSelector" not in peer:
        raise ParseError(f"{what}: neither podSelector, namespaceSelector nor ipBlock")
    pods = label_selector(peer.get("podSelector"), f"{what}.podSelector")
    if "namespaceSelector" in peer:
        spaces = label_selector(peer.get("namespaceSelector"), f"{what}.namespaceSelector")
        return Peer(selector=pods, namespaces=spaces)
    return Peer(selector=pods, namespace=namespace)


def _k8s_rule(raw: Any, what: str, namespace: str, ingress: bool) -> Rule:
    rule = json_map(raw, what)
    ports: list[PortMatch] = []
    for i, p in enumerate(json_list(rule.get("ports"), f"{what}.ports")):
        p = json_map(p, f"{what}.ports[{i}]")
        proto = str(p.get("protocol") or "TCP").upper()
        if "port" not in p:  # every port of the protocol
            ports.append(PortMatch(1, 65535, proto))
        else:
            ports.append(_port(p["port"], f"{what}.ports[{i}]", proto, p.get("endPort")))
    field = "from" if ingress else "to"
    peers = [
        _k8s_peer(p, f"{what}.{field}[{i}]", namespace)
        for i, p in enumerate(json_list(rule.get(field), f"{what}.{field}"))
    ]
    with_ports = Peer(ports=tuple(ports)) if ports else None
    if ingress:
        return Rule("Allow", source=tuple(peers), destination=(with_ports,) if with_ports else ())
    if with_ports is not None:
        # the ports belong to the destination the peers name: both must match
        peers = [_with_ports(p, with_ports.ports) for p in peers] or [with_ports]
    return Rule("Allow", destination=tuple(peers))


def _with_ports(peer: Peer, ports: tuple[PortMatch, ...]) -> Peer:
    return Peer(
        peer.selector, peer.not_selector, peer.namespaces, peer.namespace, peer.nets,
        peer.not_nets, ports,
    )  # fmt: skip


def kube_network_policy(obj: Any) -> Policy:
    """One networking.k8s.io/v1 NetworkPolicy object."""
    obj = json_map(obj, "NetworkPolicy")
    name, namespace = _meta(obj, "NetworkPolicy")
    namespace = namespace or "default"
    what = f"NetworkPolicy {namespace}/{name}"
    spec = json_map(obj.get("spec"), f"{what}.spec")
    selector = label_selector(spec.get("podSelector"), f"{what}.spec.podSelector")
    ingress = tuple(
        _k8s_rule(r, f"{what}.ingress[{i}]", namespace, True)
        for i, r in enumerate(json_list(spec.get("ingress"), f"{what}.ingress"))
    )
    egress = tuple(
        _k8s_rule(r, f"{what}.egress[{i}]", namespace, False)
        for i, r in enumerate(json_list(spec.get("egress"), f"{what}.egress"))
    )
    types = json_list(spec.get("policyTypes"), f"{what}.policyTypes")
    if not types:  # the API's default: Ingress, and Egress when there are egress rules
        types = ["Ingress"] + (["Egress"] if egress else [])
    for t in types:
        if t not in ("Ingress", "Egress"):
            raise ParseError(f"{what}.policyTypes: unknown type {t!r}")
    return Policy(
        "NetworkPolicy", name, namespace, selector, tuple(types), ingress, egress, K8S_ORDER
    )


# -- Calico NetworkPolicy and GlobalNetworkPolicy -------------------------------------------


def _calico_ports(raw: Any, what: str) -> tuple[PortMatch, ...]:
    return tuple(_port(p, what, None) for p in json_list(raw, what))


def _calico_entity(raw: Any, what: str, namespace: str | None) -> Peer:
    entity = json_map(raw, what)
    selector = entity.get("selector")
    spaces = entity.get("namespaceSelector")
    return Peer(
        selector=calico_selector(selector, f"{what}.selector") if selector else None,
        not_selector=(
            calico_selector(entity["notSelector"], f"{what}.notSelector")
            if entity.get("notSelector")
            else None
        ),
        namespaces=calico_selector(spaces, f"{what}.namespaceSelector") if spaces else None,
        # a namespaced policy's selectors see its own namespace unless told otherwise
        namespace=namespace if selector and not spaces else None,
        nets=tuple(_cidr(n, f"{what}.nets") for n in json_list(entity.get("nets"), f"{what}.nets")),
        not_nets=tuple(
            _cidr(n, f"{what}.notNets") for n in json_list(entity.get("notNets"), f"{what}.notNets")
        ),
        ports=_calico_ports(entity.get("ports"), f"{what}.ports"),
        not_ports=_calico_ports(entity.get("notPorts"), f"{what}.notPorts"),
    )


def _protocol(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ParseError(f"{what}: {value!r} is not a protocol")
    return str(value).upper()


def _calico_rule(raw: Any, what: str, namespace: str | None) -> Rule:
    rule = json_map(raw, what)
    action = str(rule.get("action") or "").capitalize()
    if action not in ACTIONS:
        raise ParseError(f"{what}: action {rule.get('action')!r} is not one of {ACTIONS}")
    source = _calico_entity(rule.get("source"), f"{what}.source", namespace)
    dest = _calico_entity(rule.get("destination"), f"{what}.destination", namespace)
    return Rule(
        action,
        _protocol(rule.get("protocol"), f"{what}.protocol"),
        _protocol(rule.get("notProtocol"), f"{what}.notProtocol"),
        () if source == Peer() else (source,),
        () if dest == Peer() else (dest,),
    )


def calico_policy(obj: Any, global_: bool) -> Policy:
    """One crd.projectcalico.org/v1 NetworkPolicy (or GlobalNetworkPolicy, `global_`)."""
    kind = "GlobalNetworkPolicy" if global_ else "CalicoNetworkPolicy"
    obj = json_map(obj, kind)
    name, namespace = _meta(obj, kind)
    namespace = None if global_ else (namespace or "default")
    what = f"{kind} {namespace + '/' if namespace else ''}{name}"
    spec = json_map(obj.get("spec"), f"{what}.spec")
    order = spec.get("order")
    if order is not None and (isinstance(order, bool) or not isinstance(order, (int, float))):
        raise ParseError(f"{what}.order: {order!r} is not a number")
    ingress = tuple(
        _calico_rule(r, f"{what}.ingress[{i}]", namespace)
        for i, r in enumerate(json_list(spec.get("ingress"), f"{what}.ingress"))
    )
    egress = tuple(
        _calico_rule(r, f"{what}.egress[{i}]", namespace)
        for i, r in enumerate(json_list(spec.get("egress"), f"{what}.egress"))
    )
    types = [str(t).capitalize() for t in json_list(spec.get("types"), f"{what}.types")]
    if not types:  # Calico's default: Ingress unless only egress rules, Egress if any
        types = (["Ingress"] if ingress or not egress else []) + (["Egress"] if egress else [])
    for t in types:
        if t not in ("Ingress", "Egress"):
            raise ParseError(f"{what}.types: unknown type {t!r}")
    spaces = spec.get("namespaceSelector") if global_ else None
    return Policy(
        kind,
        name,
        namespace,
        calico_selector(spec.get("selector"), f"{what}.selector"),
        tuple(types),
        ingress,
        egress,
        float(order) if order is not None else None,
        calico_selector(spaces, f"{what}.namespaceSelector") if spaces else None,
    )


def policies_from_list(kind: str, data: Any) -> list[Policy]:
    """The items of a list answer: kind is NetworkPolicy, CalicoNetworkPolicy or
    GlobalNetworkPolicy."""
    items = json_list(json_map(data, f"{kind} list").get("items"), f"{kind} list.items")
    if kind == "NetworkPolicy":
        return [kube_network_policy(i) for i in items]
    return [calico_policy(i, kind == "GlobalNetworkPolicy") for i in items]


def namespace_labels(data: Any) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """name -> labels from a NamespaceList."""
    out = []
    for item in json_list(json_map(data, "namespace list").get("items"), "namespace list.items"):
        name, _ = _meta(json_map(item, "namespace"), "namespace")
        labels = json_map(json_map(item.get("metadata"), "namespace").get("labels"), "labels")
        out.append((name, tuple(sorted((str(k), str(v)) for k, v in labels.items()))))
    return tuple(out)


__all__ = ["ALL", "Peer", "Policy", "PolicyReading", "PortMatch", "Rule", "Selector"]
