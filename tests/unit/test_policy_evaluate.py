"""The policy evaluator: Kubernetes NetworkPolicy and Calico (Global)NetworkPolicy read from
API objects, then asked about one packet between two pods (issue 19)."""

from __future__ import annotations

from typing import Any

import pytest

from fabrictui.actions.policy.evaluate import Endpoint, evaluate, pod_policies
from fabrictui.model import KubePod
from fabrictui.parsers import ParseError
from fabrictui.parsers.netpolicy import (
    PolicyReading,
    calico_policy,
    kube_network_policy,
    namespace_labels,
)
from fabrictui.parsers.selectors import calico_selector, label_selector

WEB = Endpoint("space1", "web-1", {"app": "nginx"}, {"team": "a"}, "10.244.1.5")
CLIENT = Endpoint("space1", "client", {"app": "client"}, {"team": "a"}, "10.244.2.7")
OTHER = Endpoint("space2", "other", {"app": "client"}, {"team": "b"}, "10.244.3.9")


def knp(name: str, spec: dict[str, Any], namespace: str = "space1") -> Any:
    return kube_network_policy({"metadata": {"name": name, "namespace": namespace}, "spec": spec})


def cnp(name: str, spec: dict[str, Any], namespace: str | None = "space1") -> Any:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return calico_policy({"metadata": meta, "spec": spec}, global_=namespace is None)


DENY_ALL_INGRESS = {"podSelector": {}, "policyTypes": ["Ingress"]}


def test_no_policy_allows() -> None:
    d = evaluate([], CLIENT, WEB)
    assert d.allowed and d.policy is None


def test_deny_all_ingress_isolates_every_pod_of_its_namespace_only() -> None:
    deny = knp("deny-all", DENY_ALL_INGRESS)
    d = evaluate([deny], CLIENT, WEB)
    assert not d.allowed and d.policy is deny and d.rule is None and d.direction == "ingress"
    assert "NetworkPolicy space1/deny-all selects space1/web-1 for ingress" in d.words(
        "space1/client", "space1/web-1"
    )
    # the pod in space2 is not selected: traffic to it passes
    assert evaluate([deny], WEB, OTHER).allowed


def test_allow_rule_by_pod_selector_and_port() -> None:
    allow = knp(
        "web",
        {
            "podSelector": {"matchLabels": {"app": "nginx"}},
            "ingress": [
                {"from": [{"podSelector": {"matchLabels": {"app": "client"}}}],
                 "ports": [{"protocol": "TCP", "port": 80}]}
            ],
        },
    )  # fmt: skip
    assert evaluate([allow], CLIENT, WEB, "TCP", 80).allowed
    assert evaluate([allow], CLIENT, WEB, "TCP", 80).rule == 0
    assert not evaluate([allow], CLIENT, WEB, "TCP", 443).allowed
    assert not evaluate([allow], CLIENT, WEB, "UDP", 80).allowed
    # a ping has no port: a rule with ports never lets it through
    assert not evaluate([allow], CLIENT, WEB, "ICMP").allowed
    # the pod selector of a peer sees only the policy's own namespace
    assert not evaluate([allow], OTHER, WEB, "TCP", 80).allowed


def test_namespace_selector_and_both_selectors() -> None:
    by_ns = knp(
        "from-team-b",
        {
            "podSelector": {},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}}}]}],
        },
    )
    assert evaluate([by_ns], OTHER, WEB).allowed
    assert not evaluate([by_ns], CLIENT, WEB).allowed
    both = knp(
        "both",
        {"podSelector": {}, "ingress": [{"from": [{
            "namespaceSelector": {"matchLabels": {"team": "b"}},
            "podSelector": {"matchLabels": {"app": "nginx"}}}]}]},
    )  # fmt: skip
    assert not evaluate([both], OTHER, WEB).allowed  # right namespace, wrong pod


def test_ip_block_with_except() -> None:
    pol = knp(
        "cidr",
        {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {
            "cidr": "10.244.0.0/16", "except": ["10.244.2.0/24"]}}]}]},
    )  # fmt: skip
    assert evaluate([pol], OTHER, WEB).allowed
    assert not evaluate([pol], CLIENT, WEB).allowed


def test_policies_are_a_union_in_kubernetes() -> None:
    deny = knp("deny-all", DENY_ALL_INGRESS)
    allow = knp("allow-client", {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]})
    assert evaluate([deny, allow], CLIENT, WEB).allowed
    assert evaluate([deny, allow], CLIENT, WEB).policy is allow


def test_egress_of_the_source_is_checked_first() -> None:
    no_egress = knp("no-egress", {"podSelector": {"matchLabels": {"app": "client"}},
                                  "policyTypes": ["Egress"]})  # fmt: skip
    d = evaluate([no_egress, knp("deny-all", DENY_ALL_INGRESS)], CLIENT, WEB)
    assert not d.allowed and d.direction == "egress" and d.policy is no_egress
    dns_only = knp(
        "dns", {"podSelector": {}, "egress": [{"ports": [{"protocol": "UDP", "port": 53}]}]}
    )
    assert dns_only.types == ("Ingress", "Egress")
    assert evaluate([dns_only], CLIENT, WEB, "UDP", 53).allowed is False  # web isolated too
    dns_egress = knp("dns", {"podSelector": {}, "policyTypes": ["Egress"],
                             "egress": [{"ports": [{"protocol": "UDP", "port": 53}]}]})  # fmt: skip
    assert evaluate([dns_egress], CLIENT, WEB, "UDP", 53).allowed
    assert not evaluate([dns_egress], CLIENT, WEB, "TCP", 80).allowed


def test_calico_order_first_matching_rule_wins() -> None:
    deny = cnp("deny-clients", {"order": 10, "selector": "app == 'nginx'", "ingress": [
        {"action": "Deny", "source": {"selector": "app == 'client'"}}]})  # fmt: skip
    allow = cnp("allow-all", {"order": 5, "selector": "all()", "ingress": [{"action": "Allow"}]})
    assert evaluate([deny, allow], CLIENT, WEB).allowed  # order 5 first
    later = cnp("allow-all", {"order": 20, "selector": "all()", "ingress": [{"action": "Allow"}]})
    d = evaluate([deny, later], CLIENT, WEB)
    assert not d.allowed and d.policy is deny and d.rule == 0 and d.action == "Deny"
    assert (
        d.words("a", "b") == "Calico NetworkPolicy space1/deny-clients ingress rule 1 (Deny) "
        "denies a -> b"
    )


def test_calico_before_kubernetes_and_pass_and_log() -> None:
    k8s_allow = knp("allow", {"podSelector": {}, "ingress": [{}]})
    deny = cnp("deny", {"order": 100, "ingress": [{"action": "Deny"}]})
    assert not evaluate([k8s_allow, deny], CLIENT, WEB).allowed
    unordered = cnp("deny", {"ingress": [{"action": "Deny"}]})
    assert evaluate([k8s_allow, unordered], CLIENT, WEB).allowed  # no order: after 1000
    log_then_pass = cnp("pass", {"order": 1, "ingress": [{"action": "Log"}, {"action": "Pass"}]})
    d = evaluate([log_then_pass, deny], CLIENT, WEB)
    assert d.allowed and d.action == "Pass" and d.rule == 1


def test_calico_selected_endpoint_without_a_match_is_denied() -> None:
    pol = cnp("only-tcp", {"selector": "app == 'nginx'", "ingress": [
        {"action": "Allow", "protocol": "TCP", "destination": {"ports": ["80:90"]}}]})  # fmt: skip
    assert evaluate([pol], CLIENT, WEB, "TCP", 85).allowed
    d = evaluate([pol], CLIENT, WEB, "ICMP")
    assert not d.allowed and d.rule is None


def test_global_policy_namespace_selector_and_nets() -> None:
    gnp = cnp("global-deny", {"namespaceSelector": "team == 'a'", "selector": "all()",
                              "ingress": [{"action": "Deny", "source": {"nets": ["10.244.3.0/24"]}},
                                          {"action": "Allow"}]}, namespace=None)  # fmt: skip
    assert gnp.label == "GlobalNetworkPolicy global-deny"
    assert not evaluate([gnp], OTHER, WEB).allowed
    assert evaluate([gnp], CLIENT, WEB).allowed
    assert evaluate([gnp], WEB, OTHER).allowed  # space2 is not team a: not selected


def test_calico_rule_selector_is_namespaced_unless_told() -> None:
    pol = cnp("from-clients", {"selector": "all()", "ingress": [
        {"action": "Allow", "source": {"selector": "app == 'client'"}}]})  # fmt: skip
    assert evaluate([pol], CLIENT, WEB).allowed
    assert not evaluate([pol], OTHER, WEB).allowed
    anyns = cnp("from-clients", {"selector": "all()", "ingress": [
        {"action": "Allow", "source": {"selector": "app == 'client'",
                                       "namespaceSelector": "all()"}}]})  # fmt: skip
    assert evaluate([anyns], OTHER, WEB).allowed


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("all()", {}, True),
        ("", {}, True),
        ("app == 'nginx'", {"app": "nginx"}, True),
        ('app == "nginx"', {"app": "web"}, False),
        ("app != 'nginx'", {}, True),
        ("has(app) && !has(debug)", {"app": "x"}, True),
        ("has(app) && !has(debug)", {"app": "x", "debug": "1"}, False),
        ("a in {'1', '2'} || b == 'x'", {"b": "x"}, True),
        ("a not in {'1'}", {"a": "1"}, False),
        ("!(a == '1' || a == '2')", {"a": "3"}, True),
        (
            "name starts with 'ng' && name ends with 'x' && name contains 'in'",
            {"name": "nginx"},
            True,
        ),
    ],
)
def test_calico_selectors(text: str, labels: dict[str, str], expected: bool) -> None:
    assert calico_selector(text).matches(labels) is expected


@pytest.mark.parametrize(
    "text",
    ["app ==", "app = 'x'", "(a == 'b'", "a in {1}", "has(", "a ~ 'b'", "(" * 5000, "!" * 5000],
)
def test_bad_selectors_name_the_text(text: str) -> None:
    with pytest.raises(ParseError, match="selector"):
        calico_selector(text)


def test_label_selector_expressions() -> None:
    sel = label_selector({"matchLabels": {"app": "nginx"}, "matchExpressions": [
        {"key": "tier", "operator": "NotIn", "values": ["db"]},
        {"key": "debug", "operator": "DoesNotExist"}]})  # fmt: skip
    assert sel.matches({"app": "nginx"})
    assert not sel.matches({"app": "nginx", "tier": "db"})
    assert not sel.matches({"app": "nginx", "debug": ""})
    with pytest.raises(ParseError, match="operator"):
        label_selector({"matchExpressions": [{"key": "a", "operator": "Like"}]})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"ingress": [{"from": [{}]}]}, "neither podSelector"),
        ({"ingress": [{"from": [{"ipBlock": {"cidr": "nope"}}]}]}, "not a CIDR"),
        ({"ingress": [{"ports": [{"port": 70000}]}]}, "out of range"),
        ({"policyTypes": ["Sideways"]}, "unknown type"),
        ({"ingress": "all"}, "not a list"),
    ],
)
def test_bad_kubernetes_policies(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ParseError, match=message):
        knp("bad", {"podSelector": {}, **spec})


def test_bad_calico_action() -> None:
    with pytest.raises(ParseError, match="action"):
        cnp("bad", {"ingress": [{"action": "Drop"}]})


def test_pod_policies_and_namespace_labels() -> None:
    reading = PolicyReading(
        (knp("deny-all", DENY_ALL_INGRESS),
         cnp("team", {"namespaceSelector": "team == 'a'", "types": ["Egress"],
                      "egress": [{"action": "Allow"}]}, namespace=None)),
        namespace_labels({"items": [{"metadata": {"name": "space1", "labels": {"team": "a"}}}]}),
    )  # fmt: skip
    pod = KubePod("space1", "web-1", 1, 1, "Running", 0, 0.0, "10.244.1.5", "n1",
                  labels=(("app", "nginx"),))  # fmt: skip
    found = [(p.key, ways) for p, ways in pod_policies(reading, pod)]
    assert found == [("space1/deny-all", ("ingress",)), ("team", ("egress",))]
