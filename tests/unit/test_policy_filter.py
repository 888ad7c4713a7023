"""The rehearsal lab's policy data plane, rendered (lab/policy_filter.py): which chains and
rules a node gets for its pods, in Calico's order, with the comments the counters are read
by; and the real backend's reading of what the API serves (not served: unseen)."""

from __future__ import annotations

from typing import Any

from fabrictui.actions.policy.counters import policy_rules
from fabrictui.backends.real.kube.policies import reading_from
from fabrictui.lab.policy_filter import MAIN, PodView, Renderer, own_chains, restore_text
from fabrictui.parsers.iptables import parse_iptables_save
from fabrictui.parsers.netpolicy import calico_policy, kube_network_policy

WEB = PodView("space1", "web", {"app": "nginx"}, "10.64.0.2", "n1", "cali0000000000a")
CLIENT = PodView("space1", "client", {"app": "client"}, "10.64.0.66", "n2", "cali0000000000b")
OTHER = PodView("space2", "other", {"app": "client"}, "10.64.0.130", "n2", "cali0000000000c")
PODS = [WEB, CLIENT, OTHER]


def knp(name: str, spec: dict[str, Any], namespace: str = "space1") -> Any:
    return kube_network_policy({"metadata": {"name": name, "namespace": namespace}, "spec": spec})


def rules(lines: list[str], chain: str) -> list[str]:
    return [line.removeprefix(f"-A {chain} ") for line in lines if line.startswith(f"-A {chain} ")]


def test_a_node_where_no_policy_selects_a_pod_holds_nothing() -> None:
    assert Renderer(PODS, [], {}).node("n1") == []
    in_space2 = knp("deny", {"podSelector": {}, "policyTypes": ["Ingress"]}, "space2")
    assert Renderer(PODS, [in_space2], {}).node("n1") == []
    lines = Renderer(PODS, [in_space2], {}).node("n2")
    assert rules(lines, MAIN)[0] == "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
    assert rules(lines, MAIN)[1] == "-o cali0000000000c -j ftui-pi-0000000000c"


def test_deny_all_ingress_drops_into_each_selected_pod_with_a_counted_rule() -> None:
    deny = knp("deny-all", {"podSelector": {}, "policyTypes": ["Ingress"]})
    n1 = Renderer(PODS, [deny], {}).node("n1")
    assert rules(n1, MAIN)[1] == "-o cali0000000000a -j ftui-pi-0000000000a"
    assert rules(n1, "ftui-pi-0000000000a") == [
        '-m comment --comment "policy space1/deny-all: no ingress rule allows" -j DROP'
    ]
    n2 = Renderer(PODS, [deny], {}).node("n2")
    assert "-o cali0000000000b -j ftui-pi-0000000000b" in rules(n2, MAIN)
    assert not any("0000000000c" in line for line in n2)  # space2 is not selected


def test_allow_rules_resolve_selectors_to_pod_addresses_and_ports() -> None:
    allow = knp(
        "web",
        {
            "podSelector": {"matchLabels": {"app": "nginx"}},
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": {"team": "b"}}}],
                    "ports": [{"port": 80}, {"protocol": "UDP", "port": 53, "endPort": 60}],
                }
            ],
        },
    )
    lines = Renderer(PODS, [allow], {"space2": {"team": "b"}}).node("n1")
    comment = '-m comment --comment "policy space1/web ingress rule 1 (Allow)" -j ACCEPT'
    assert rules(lines, "ftui-pi-0000000000a") == [
        f"-p tcp -m tcp --dport 80 -s 10.64.0.130/32 {comment}",
        f"-p udp -m udp --dport 53:60 -s 10.64.0.130/32 {comment}",
        '-m comment --comment "policy space1/web: no ingress rule allows" -j DROP',
    ]


def test_egress_and_ip_block_exceptions() -> None:
    pol = knp(
        "out",
        {
            "podSelector": {"matchLabels": {"app": "client"}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "10.64.0.0/24", "except": ["10.64.0.0/26"]}}]}],
        },
    )
    lines = Renderer(PODS, [pol], {}).node("n2")
    assert "-i cali0000000000b -j ftui-pe-0000000000b" in rules(lines, MAIN)
    (jump, last) = rules(lines, "ftui-pe-0000000000b")
    chain = jump.split()[-1]
    assert chain.startswith("ftui-px-") and "no egress rule allows" in last
    assert rules(lines, chain) == [
        "-d 10.64.0.0/26 -j RETURN",
        '-d 10.64.0.0/24 -m comment --comment "policy space1/out egress rule 1 (Allow)" -j ACCEPT',
    ]


def test_calico_order_and_actions() -> None:
    deny_ping = calico_policy(
        {"metadata": {"name": "no-ping"}, "spec": {"order": 10, "selector": "app == 'nginx'",
         "ingress": [{"action": "Deny", "protocol": "ICMP"}, {"action": "Log"},
                     {"action": "Allow"}]}},
        True,
    )  # fmt: skip
    k8s = knp("deny-all", {"podSelector": {}, "policyTypes": ["Ingress"]})
    lines = Renderer(PODS, [k8s, deny_ping], {}).node("n1")
    assert rules(lines, "ftui-pi-0000000000a") == [
        '-p icmp -m comment --comment "policy no-ping ingress rule 1 (Deny)" -j DROP',
        '-m comment --comment "policy no-ping ingress rule 3 (Allow)" -j ACCEPT',
        '-m comment --comment "policy no-ping, policy space1/deny-all: no ingress rule allows" '
        "-j DROP",
    ]


def test_the_counters_find_the_rules_by_their_comment() -> None:
    deny = knp("deny-all", {"podSelector": {}, "policyTypes": ["Ingress"]})
    text = restore_text(Renderer(PODS, [deny], {}).node("n1"))
    assert own_chains(text) == [MAIN, "ftui-pi-0000000000a"]
    saved = "\n".join(
        f"[3:252] {line}" if line.startswith("-A") else line for line in text.splitlines()
    )
    found = policy_rules(parse_iptables_save(saved), "space1/deny-all")
    assert [r.target for r in found.values()] == ["DROP"]
    assert policy_rules(parse_iptables_save(saved), "space1/deny") == {}


def test_the_backend_reading_says_what_is_not_served() -> None:
    items = {"items": [{"metadata": {"name": "d", "namespace": "space1"}, "spec": {}}]}
    reading = reading_from(
        {"NetworkPolicy": items, "CalicoNetworkPolicy": None, "GlobalNetworkPolicy": {"items": []}},
        {"items": [{"metadata": {"name": "space1", "labels": {"team": "a"}}}]},
    )
    assert [p.key for p in reading.policies] == ["space1/d"]
    assert reading.labels_of("space1") == {"team": "a"}
    assert reading.unseen == (
        "CalicoNetworkPolicy: the API does not serve crd.projectcalico.org/v1 networkpolicies",
    )
    broken = reading_from({"NetworkPolicy": {"items": [{"spec": {}}]}}, {"items": []})
    assert broken.unseen == ("NetworkPolicy: NetworkPolicy: no metadata.name",)
