"""Network policy as kernel filter rules in the rehearsal lab's node namespaces, as Felix
renders it into iptables: traffic into a pod leaves the node through the pod's `cali*`
veth (ingress), traffic from the pod enters the node through it (egress), and both are
routed, so they cross the node's FORWARD chain. fabrictui owns the chains it names
`ftui-p*` in the filter table (the nat table is another part's):

- FORWARD jumps to `ftui-policy` first; it accepts packets of connections already allowed
  (conntrack ESTABLISHED,RELATED: replies), then sends a selected pod's traffic to its
  chain `ftui-pi-<veth>` (ingress) or `ftui-pe-<veth>` (egress);
- a pod's chain holds the rules of the policies that select it, in Calico's order, one
  iptables rule per address and port, commented `policy <namespace/name> ingress rule N
  (Action)`; Allow and Pass accept, Deny drops, Log is not rendered; the chain ends with a
  DROP commented `policy <key>: no ingress rule allows`, whose counter grows with each
  packet the policies deny.

Selectors are resolved to the pods' IPs here (Felix uses ipsets; the rules are the same).
A rule whose peer names no pod now matches nothing; a peer's addresses with exceptions go
through a chain `ftui-px-<hash>` (jumped to, so its RETURN for an exception resumes the
pod's chain). Source ports and
`notPorts` are not rendered (no probe sends from a chosen port)."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from fabrictui.parsers.netpolicy import Peer, Policy, PortMatch, Rule

MAIN = "ftui-policy"
PREFIX = "ftui-p"
PORT_PROTOCOLS = ("TCP", "UDP", "SCTP")
PROTOCOL_NUMBERS = {"1": "ICMP", "6": "TCP", "17": "UDP", "132": "SCTP"}


@dataclass(frozen=True, slots=True)
class PodView:
    namespace: str
    name: str
    labels: Mapping[str, str]
    ip: str
    node: str
    veth: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class _Chains:
    order: list[str] = field(default_factory=list)
    rules: dict[str, list[str]] = field(default_factory=dict)

    def add(self, chain: str, rule: str) -> None:
        if chain not in self.rules:
            self.order.append(chain)
            self.rules[chain] = []
        self.rules[chain].append(rule)


def _order(policy: Policy) -> tuple[float, str]:
    return (policy.order if policy.order is not None else float("inf"), policy.key)


def _labels(pod: PodView) -> dict[str, str]:
    labels = dict(pod.labels)
    labels.setdefault("projectcalico.org/namespace", pod.namespace)
    labels.setdefault("projectcalico.org/orchestrator", "k8s")
    return labels


def _ns_labels(spaces: Mapping[str, Mapping[str, str]], namespace: str) -> dict[str, str]:
    labels = dict(spaces.get(namespace, {}))
    labels.setdefault("projectcalico.org/name", namespace)
    return labels


def _in(ip: str, nets: Sequence[str]) -> bool:
    addr = ipaddress.ip_address(ip)
    return any(addr in ipaddress.ip_network(n) for n in nets)


def _protocol(name: str | None) -> str | None:
    return None if name is None else PROTOCOL_NUMBERS.get(name, name)


def _port_args(ports: Sequence[PortMatch], rule_protocol: str | None) -> list[str]:
    """`-p P --dport A[:B]` for each numbered port; [] when none can be written."""
    out = []
    for p in ports:
        proto = _protocol(p.protocol) or rule_protocol
        if p.name or proto not in PORT_PROTOCOLS:
            continue
        span = str(p.first) if p.first == p.last else f"{p.first}:{p.last}"
        out.append(f"-p {proto.lower()} -m {proto.lower()} --dport {span}")
    return out


class Renderer:
    """The filter rules of one node, from every pod and policy of the cluster."""

    def __init__(
        self,
        pods: Sequence[PodView],
        policies: Sequence[Policy],
        namespace_labels: Mapping[str, Mapping[str, str]],
    ) -> None:
        self.pods = pods
        self.policies = sorted(policies, key=_order)
        self.spaces = namespace_labels
        self.chains = _Chains()

    def _peer_pods(self, peer: Peer) -> list[PodView]:
        return [
            p
            for p in self.pods
            if peer.selects_pod(p.namespace, _labels(p), _ns_labels(self.spaces, p.namespace))
            and (not peer.nets or _in(p.ip, peer.nets))
            and not (peer.not_nets and _in(p.ip, peer.not_nets))
        ]

    def _remote(self, peer: Peer, flag: str, target: str, comment: str) -> list[str]:
        """The address matches of one remote peer (`-s` or `-d`), each ending in a jump to
        `target`; a net with exceptions goes through its own chain."""
        if peer.names_pods:
            return [f"{flag} {p.ip}/32" for p in self._peer_pods(peer)]
        if not peer.nets:
            return [""]
        if not peer.not_nets:
            return [f"{flag} {n}" for n in peer.nets]
        digest = hashlib.sha1(f"{peer}{target}{comment}".encode()).hexdigest()[:10]
        chain = f"{PREFIX}x-{digest}"
        for n in peer.not_nets:
            self.chains.add(chain, f"{flag} {n} -j RETURN")
        for n in peer.nets:
            self.chains.add(chain, f'{flag} {n} -m comment --comment "{comment}" -j {target}')
        return [f"-j {chain}"]  # -j: its RETURN resumes the pod's chain

    def _local_fits(self, peers: Sequence[Peer], pod: PodView) -> list[Peer]:
        labels, spaces = _labels(pod), _ns_labels(self.spaces, pod.namespace)
        return [
            p
            for p in peers
            if p.selects_pod(pod.namespace, labels, spaces)
            and (not p.nets or _in(pod.ip, p.nets))
            and not (p.not_nets and _in(pod.ip, p.not_nets))
        ]

    def _rule(self, chain: str, pod: PodView, rule: Rule, ingress: bool, comment: str) -> None:
        if rule.action == "Log":
            return
        target = "DROP" if rule.action == "Deny" else "ACCEPT"
        proto = _protocol(rule.protocol)
        proto_arg = f"-p {proto.lower()}" if proto else ""
        not_proto = _protocol(rule.not_protocol)
        extra = f"! -p {not_proto.lower()}" if not_proto else ""
        local_peers, remote_peers = (
            (rule.destination, rule.source) if ingress else (rule.source, rule.destination)
        )
        # the local side must hold for this pod; on ingress its ports are the destination's
        specs = [""]
        if local_peers:
            fitting = self._local_fits(local_peers, pod)
            if not fitting or (not ingress and any(p.ports for p in fitting)):
                return  # the pod's own source port: never matched
            if any(p.ports for p in fitting):
                specs = [a for p in fitting for a in _port_args(p.ports, proto)]
                if not specs:
                    return
        flag = "-s" if ingress else "-d"
        alternatives: list[tuple[str, list[str]]] = []  # (address match, port matches)
        if not remote_peers:
            alternatives.append(("", specs))
        for peer in remote_peers:
            peer_specs = specs
            if peer.ports:
                if ingress:
                    continue  # the remote's source port
                peer_specs = _port_args(peer.ports, proto)
                if not peer_specs:
                    continue
            for address in self._remote(peer, flag, target, comment):
                alternatives.append((address, peer_specs))
        for address, port_specs in alternatives:
            goto = address.startswith("-j ")
            for spec in port_specs:
                words = [spec or proto_arg, extra] + ([] if goto else [address])
                match = " ".join(w for w in words if w)
                if goto:
                    self.chains.add(chain, f"{match} {address}".strip())
                else:
                    tail = f'-m comment --comment "{comment}" -j {target}'
                    self.chains.add(chain, f"{match} {tail}".strip())

    def node(self, node: str) -> list[str]:
        """iptables-restore lines (no table header, no COMMIT) for `node`'s chains; none
        when no policy selects a pod of the node (the node then holds nothing of ours)."""
        self.chains = _Chains()
        self.chains.add(MAIN, "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
        for pod in sorted((p for p in self.pods if p.node == node), key=lambda p: p.veth):
            labels, spaces = _labels(pod), _ns_labels(self.spaces, pod.namespace)
            for direction, flag, tag in (("ingress", "-o", "pi"), ("egress", "-i", "pe")):
                chosen = [
                    p for p in self.policies if p.selects(pod.namespace, labels, spaces, direction)
                ]
                if not chosen:
                    continue
                chain = f"{PREFIX}{tag[1]}-{pod.veth[4:]}"
                self.chains.add(MAIN, f"{flag} {pod.veth} -j {chain}")
                for policy in chosen:
                    rules = policy.ingress if direction == "ingress" else policy.egress
                    for i, rule in enumerate(rules):
                        comment = f"policy {policy.key} {direction} rule {i + 1} ({rule.action})"
                        self._rule(chain, pod, rule, direction == "ingress", comment)
                names = ", ".join(f"policy {p.key}" for p in chosen)[:200]  # iptables: 256
                self.chains.add(
                    chain, f'-m comment --comment "{names}: no {direction} rule allows" -j DROP'
                )
        if len(self.chains.rules[MAIN]) == 1:
            return []  # no pod here is selected: no rule of ours, not even conntrack's
        lines = [f":{c} - [0:0]" for c in self.chains.order]
        for chain in self.chains.order:
            lines += [f"-A {chain} {r}" for r in self.chains.rules[chain]]
        return lines


def restore_text(lines: Sequence[str]) -> str:
    return "*filter\n" + "".join(f"{line}\n" for line in lines) + "COMMIT\n"


def own_chains(save_text: str) -> list[str]:
    """The `ftui-p*` chains an `iptables-save -t filter` lists."""
    return [line[1:].split()[0] for line in save_text.splitlines() if line.startswith(f":{PREFIX}")]
