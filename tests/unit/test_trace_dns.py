"""The trace to a DNS name (issue 19): how `--to` names one, which Service a cluster name
stands for, and on the demo lab: the name resolved from the source pod then traced as the
Service (healthy), `dns-down` named by the cluster DNS check's own cause with the trace
stopped there, an answer that is a pod's address traced as a pod, a lookup no method could
run not observed, and both kinds recorded and replayed whole."""

from __future__ import annotations

import dataclasses

import pytest

from fabrictui.actions.progress import ignore
from fabrictui.actions.trace.dnsname import DnsRef, parse_dns_ref, service_of
from fabrictui.actions.trace.run import TraceInputError, run_trace
from fabrictui.actions.trace.svcsteps import RefError, StepState
from fabrictui.backends.base import BackendError
from fabrictui.model import DnsLookup, Verdict
from fabrictui.session.record.format import dumps, loads
from tests.demo_helpers import fast_backend

SRC = "z9pl9"  # space1, on k8s-node-l2-1
FULL = "nginx-service.space1.svc.cluster.local"


def test_target_syntax() -> None:
    assert parse_dns_ref("nginx-service.space1") == DnsRef("nginx-service.space1",
                                                           "nginx-service.space1")  # fmt: skip
    assert parse_dns_ref(f"{FULL}.:8080") == DnsRef(f"{FULL}.:8080", f"{FULL}.", 8080)
    assert parse_dns_ref("dns/nginx-service") == DnsRef(
        "dns/nginx-service", "nginx-service", None, True
    )
    # pods, Services and addresses are written as before
    for other in ("z9pl9", "space1/nginx-service", "svc/a.b", "10.80.0.11", "10.80.0.11:80"):
        assert parse_dns_ref(other) is None, other
    for bad in ("dns/", "dns/a..b", "dns/-x.y", "a.b:http", "dns/10.80.0.10", "x" * 64 + ".a"):
        with pytest.raises(RefError):
            parse_dns_ref(bad)


def test_which_service_a_cluster_name_stands_for() -> None:
    assert service_of("nginx-service", "space1") == ("space1", "nginx-service")
    assert service_of("kubernetes.default", "space1") == ("default", "kubernetes")
    assert service_of("web.ns.svc", "x") == ("ns", "web")
    assert service_of(f"{FULL}.", "x") == ("space1", "nginx-service")
    assert service_of("www.example.org", "x") is None
    assert service_of("short.", "x") is None  # absolute: no search list


@pytest.fixture
async def lab():
    backend = fast_backend("ready", speed=200.0)
    await backend.start()
    yield backend
    await backend.close()


async def test_healthy_name_is_resolved_then_traced_as_the_service(lab) -> None:
    (svc,) = await lab.list_services("space1")
    for target in ("nginx-service.space1", FULL, "dns/nginx-service", f"{FULL}:80"):
        result = await run_trace(lab, ignore, SRC, target, count=1)
        assert result.verdict is Verdict.PASS and result.delivered, (target, result.cause)
        dns = result.dns
        assert dns is not None and dns.step.state is StepState.OK
        assert dns.addresses == (svc.cluster_ip,) and dns.answered_as == FULL
        named = "" if dns.name == FULL else f" as {FULL}"  # after the search list
        assert f"{dns.name} -> {svc.cluster_ip}{named} in " in dns.step.text
        assert result.service is not None and result.service.endpoint and result.hops
        out = result.to_json()
        assert out["dns"]["name"] == target.removeprefix("dns/").removesuffix(":80")
        assert [s["step"] for s in out["steps"]] == [
            "dns", "service", "endpoints", "kube-proxy rule", "connect", "endpoint"
        ]  # fmt: skip
        assert out["service"][0]["step"] == "service"  # its keys as they were


async def test_dns_down_names_coredns_and_stops_the_trace(lab) -> None:
    # a name the zone does not have: the check's words, and which Service is missing
    result = await run_trace(lab, ignore, SRC, "nope.space1")
    assert result.verdict is Verdict.FAIL
    assert result.cause == (
        "the server answered no address for nope.space1 (no such Service) (NXDOMAIN or "
        "SERVFAIL: getent does not say which)"
    )
    await lab.set_fault("dns-down", True)
    result = await run_trace(lab, ignore, SRC, "nginx-service.space1")
    assert result.verdict is Verdict.FAIL and not result.delivered and result.hops == ()
    assert result.stopped_at == "DNS" and result.service is None and not result.probed
    assert result.cause and result.cause.startswith("CoreDNS pods not running")
    assert result.dns and result.dns.step.state is StepState.FAIL
    assert "timed out" in result.dns.step.text
    assert any(e.startswith("DNS Service kube-system/kube-dns:") for e in result.dns.step.evidence)


async def test_an_answer_that_is_a_pods_address_is_traced_as_the_pod(lab, monkeypatch) -> None:
    pods = {p.short_name: p for p in await lab.list_pods("space1")}
    dst = pods["nnzz5"]
    name = f"{dst.ip.replace('.', '-')}.space1.pod.cluster.local"

    async def resolve(pod, asked, timeout):  # CoreDNS' pod records (the demo has none)
        return DnsLookup(pod.key, asked, (dst.ip,), asked, 1.5, via="pod")

    monkeypatch.setattr(lab, "resolve", resolve)
    result = await run_trace(lab, ignore, SRC, f"{name}:80", count=1)
    assert result.verdict is Verdict.PASS and result.service is None
    assert result.target == dst.key and result.dst_ip == dst.ip and result.dns
    assert [s["step"] for s in result.to_json()["steps"]] == ["dns"]


async def test_a_lookup_no_method_could_run_is_not_observed(lab, monkeypatch) -> None:
    async def resolve(pod, asked, timeout):
        raise BackendError("no getent in image x; k8s-node-l2-1: ssh refused")

    monkeypatch.setattr(lab, "resolve", resolve)
    result = await run_trace(lab, ignore, SRC, "dns/nginx-service")
    assert result.verdict is Verdict.NOT_OBSERVED and result.cause is None
    assert result.dns and result.dns.step.state is StepState.UNOBSERVED
    assert "not probed (no getent in image x" in result.dns.step.text


async def test_bad_names_and_dotted_pod_names(lab) -> None:
    with pytest.raises(TraceInputError, match="is no DNS name"):
        await run_trace(lab, ignore, SRC, "dns/bad..name")
    # a pod whose name has a dot stays a pod
    pods = await lab.list_pods("space1")
    dotted = dataclasses.replace(pods[1], name="web.v2")
    lab_pods = lab.list_pods

    async def list_pods(namespace=None):
        return [dotted if p.key == pods[1].key else p for p in await lab_pods(namespace)]

    lab.list_pods = list_pods
    result = await run_trace(lab, ignore, SRC, "web.v2", count=1)
    assert result.dns is None and result.dst_ip == dotted.ip


async def test_dns_traces_are_recorded_and_replayed_whole(lab) -> None:
    results = [await run_trace(lab, ignore, SRC, "nginx-service.space1", count=1)]
    await lab.set_fault("dns-down", True)
    results.append(await run_trace(lab, ignore, SRC, "nginx-service.space1"))
    assert results[0].hops and results[1].stopped_at == "DNS"
    for result in results:
        again = loads(dumps(result))
        assert again == result and again.dns is not None
        assert again.to_json() == result.to_json()
