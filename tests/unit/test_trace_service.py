"""The trace to a Service (issue 19): how `--to` names one, kube-proxy's rule followed in
`iptables-save` text, the pods that come closest to a selector, and on the demo lab each
broken step named (no Service, no endpoints, no rule on the sending node, an endpoint
that does not answer, then the pod trace's cause)."""

from __future__ import annotations

import pytest

from fabrictui.actions.progress import ignore
from fabrictui.actions.trace.run import TraceInputError, run_trace
from fabrictui.actions.trace.svcsteps import RefError, StepState, near_misses, parse_ref
from fabrictui.backends.base import NotFound
from fabrictui.model import KubePod, KubeService, Verdict
from fabrictui.parsers.iptables import parse_iptables_save, parse_nat_table, reject_rule
from tests._paths import TEST_DATA
from tests.demo_helpers import fast_backend

DATA = TEST_DATA
SRC = "z9pl9"  # on k8s-node-l2-1; nginx-service has a pod on every other worker


def test_target_syntax() -> None:
    assert parse_ref("space1/web-1") is None  # a pod, or a Service when no pod has it
    assert parse_ref("10.80.0.10") is None  # an address, or a ClusterIP no pod holds
    ref = parse_ref("svc/space1/nginx-service:80")
    assert ref and (ref.namespace, ref.name, ref.port, ref.explicit) == (
        "space1", "nginx-service", 80, True,
    )  # fmt: skip
    ref = parse_ref("10.80.0.10:8080")
    assert ref and (ref.ip, ref.port) == ("10.80.0.10", 8080)
    ref = parse_ref("service/nginx-service")
    assert ref and ref.namespace is None and ref.port is None
    for bad in ("svc/a:http", "10.80.0.10:0", "svc/a/b/c", "svc/"):
        with pytest.raises(RefError):
            parse_ref(bad)


def test_rule_followed_in_real_iptables_save_text() -> None:
    """Written by the rehearsal lab's kube-proxy with iptables-restore and read back with
    iptables-save (tests/data/iptables/lab-kube-proxy.txt): 4 endpoints of
    nginx-service, the statistic module's odds making each a quarter."""
    text = (DATA / "iptables" / "lab-kube-proxy.txt").read_text()
    table = parse_nat_table(text)
    path = table.service_path("10.96.0.20", 80, "TCP")
    assert path is not None and path.chain.startswith("KUBE-SVC-")
    assert "PREROUTING" in path.hooks and "space1/nginx-service:" in path.comment
    assert len(path.picks) == 4
    assert [round(p.share, 3) for p in path.picks] == [0.25] * 4
    assert sorted(path.targets) == sorted(
        f"{ip}:80" for ip in ("10.65.76.193", "10.67.209.2", "10.68.86.129", "10.76.172.132")
    )
    assert table.service_path("10.96.0.20", 81) is None
    assert table.service_path("10.96.0.30", 80) is None  # no endpoints: no nat rule
    # the filter table: the REJECT kube-proxy writes for the Service without endpoints
    rules = parse_iptables_save(text.split("*nat")[0])
    reject = reject_rule(rules, "10.96.0.30", 80, "tcp")
    assert reject is not None and reject.comment == "space1/empty-service: has no endpoints"
    assert "icmp-port-unreachable" in reject.spec
    assert reject_rule(rules, "10.96.0.20", 80) is None


def test_hand_written_table_and_missing_hook() -> None:
    table = parse_nat_table((DATA / "iptables" / "nat-kube-proxy.txt").read_text())
    path = table.service_path("10.80.0.10", 80)
    assert path and [p.to for p in path.picks] == ["10.68.86.129:80", "10.65.76.193:80"]
    assert [p.share for p in path.picks] == [0.5, 0.5] and path.hooks == ("PREROUTING",)
    bare = parse_nat_table((DATA / "iptables" / "nat-no-kube-proxy.txt").read_text())
    assert bare.service_path("10.80.0.10", 80) is None


def _pod(name: str, ns: str = "space1", **labels: str) -> KubePod:
    return KubePod(ns, name, 1, 1, "Running", 0, 0.0, "10.0.0.1", "n1",
                   labels=tuple(labels.items()))  # fmt: skip


def test_near_misses_name_what_the_pods_carry() -> None:
    svc = KubeService("space1", "web", "ClusterIP", "10.80.0.9",
                      selector=(("app", "web"), ("tier", "front")))  # fmt: skip
    pods = [
        _pod("web-1", app="web", tier="back"),
        _pod("web-2", app="web", tier="back"),
        _pod("db-1", app="db"),
        _pod("web-x", "space2", app="web", tier="front"),
    ]
    text = near_misses(svc, pods)
    assert text.startswith("closest: 2 pods carry app=web,tier=back (web-1, web-2)")
    assert "1 pod carries app=db (db-1)" in text
    assert "1 pod in namespace space2 match it" in text
    assert "no pod in space1 has a label app" in near_misses(svc, [_pod("x", other="1")])


# -- on the demo lab ---------------------------------------------------------------------------


@pytest.fixture
async def lab():
    backend = fast_backend("ready", speed=200.0)
    await backend.start()
    yield backend
    await backend.close()


def steps(result) -> dict[str, tuple[StepState, str]]:
    assert result.service is not None
    return {s.step: (s.state, s.text) for s in result.service.steps}


async def test_healthy_service_trace_crosses_to_an_endpoint_on_another_node(lab) -> None:
    (svc,) = await lab.list_services("space1")
    for target in ("nginx-service", "svc/space1/nginx-service", f"{svc.cluster_ip}:80"):
        result = await run_trace(lab, ignore, SRC, target, count=1)
        assert result.verdict is Verdict.PASS and result.cause is None, result.cause
        got = steps(result)
        assert [s for s, (state, _) in got.items() if state is not StepState.OK] == []
        assert "-> KUBE-SVC-" in got["kube-proxy rule"][1]
        assert result.service and result.service.endpoint
        assert result.dst_node not in (None, result.src_node)  # across the fabric
        out = result.to_json()
        assert out["delivered"] and out["hops"] and out["endpoint"] == result.service.endpoint
        assert [s["step"] for s in out["service"]] == [
            "service", "endpoints", "kube-proxy rule", "connect", "endpoint"
        ]  # fmt: skip


async def test_each_broken_step_is_named(lab) -> None:
    result = await run_trace(lab, ignore, SRC, "svc/space1/nope")
    assert result.verdict is Verdict.FAIL and result.cause == "service space1/nope does not exist"
    assert result.hops == ()

    await lab.set_fault("service-no-endpoints:space1/nginx-service", True)
    result = await run_trace(lab, ignore, SRC, "nginx-service")
    assert result.cause == "no endpoints: the selector app=nginx-typo matches no pod in space1"
    state, _ = steps(result)["endpoints"]
    evidence = result.service.steps[1].evidence if result.service else ()
    assert state is StepState.FAIL and evidence[0].startswith("closest: 4 pods carry app=nginx")
    assert "refused by kube-proxy: no endpoints" in result.service.steps[2].evidence[0]
    await lab.set_fault("service-no-endpoints:space1/nginx-service", False)

    await lab.set_fault("drop-service-rule:k8s-node-l2-1", True)
    result = await run_trace(lab, ignore, SRC, "nginx-service")
    assert result.verdict is Verdict.FAIL
    assert result.cause and result.cause.startswith("no kube-proxy rule for ")
    assert result.cause.endswith("on k8s-node-l2-1 (the sending node)")
    # another node's pods still have it
    other = await run_trace(lab, ignore, "x9llj", "nginx-service", count=1)
    assert other.verdict is Verdict.PASS, other.cause
    await lab.set_fault("drop-service-rule:k8s-node-l2-1", False)

    pods = {p.short_name: p for p in await lab.list_pods("space1")}
    dead = pods["nnzz5"]
    await lab.set_fault(f"blackhole-pod:{dead.key}", True)
    result = await run_trace(lab, ignore, SRC, "nginx-service", count=1)
    assert result.verdict is Verdict.FAIL and result.service
    assert result.service.endpoint == dead.key
    assert result.cause and result.cause.startswith(f"endpoint unreachable: {dead.key} (timed out)")
    assert f"black-holes {dead.ip}" in result.cause  # the pod trace's cause takes over
    assert result.lost_at is not None


async def test_an_endpoint_that_is_no_pod_ends_the_trace_at_the_service(lab) -> None:
    """`kubernetes`: its endpoint is the API server's host address, kept by hand."""
    result = await run_trace(lab, ignore, SRC, "svc/default/kubernetes")
    assert result.verdict is Verdict.PASS and result.cause is None and result.hops == ()
    assert result.service and result.service.endpoint is None and result.delivered
    assert steps(result)["endpoint"][1].endswith("a host address, not a pod: the pod trace "
                                                 "does not go further")  # fmt: skip


async def test_pod_targets_and_bad_input_stay_as_they_were(lab) -> None:
    result = await run_trace(lab, ignore, SRC, "nnzz5", count=1)
    assert result.service is None and result.to_json()["service"] is None
    with pytest.raises(NotFound, match="no pod or Service 'nope' in namespace space1"):
        await run_trace(lab, ignore, SRC, "space1/nope")
    with pytest.raises(TraceInputError, match="is not a port number"):
        await run_trace(lab, ignore, SRC, "svc/nginx-service:http")


async def test_a_service_trace_is_recorded_and_replayed_whole(lab) -> None:
    from fabrictui.session.record.format import dumps, loads

    results = [await run_trace(lab, ignore, SRC, "nginx-service", count=1)]  # with hops
    await lab.set_fault("drop-service-rule:k8s-node-l2-1", True)
    results.append(await run_trace(lab, ignore, SRC, "nginx-service", count=1))  # stopped
    assert results[0].hops and not results[1].hops
    for result in results:
        again = loads(dumps(result))
        assert again == result and again.service is not None
        assert again.to_json() == result.to_json()
