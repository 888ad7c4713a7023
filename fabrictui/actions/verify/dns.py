"""The cluster DNS check: from a pod of the workload's namespace, resolve the workload's
Service by its full name and `kubernetes.default` (through the search list) with the pod's
own resolver and resolv.conf, that is through the kube-dns Service, and say the answers and
the time (docs/dns.md). When a lookup fails, the first of these that holds is the cause:

1. the DNS Service kube-system/kube-dns does not exist;
2. the CoreDNS pods are not running or not ready (none at all: scaled to 0?);
3. the DNS Service has no (ready) endpoints;
4. the pod's resolv.conf does not name the DNS Service's ClusterIP;
5. the sending node's nat table has no kube-proxy rule for ClusterIP:53/udp;
6. else what the server did: answered NXDOMAIN or SERVFAIL (getent: no address), or not
   in time.

An answer that is not the Service's ClusterIP fails too. What could not be seen (a lookup
no method could run, a resolv.conf or nat table that could not be read) is not observed, and
never the cause. `lookup_cause` is that diagnosis, in one place: the trace to a DNS name
(`actions/trace/dns.py`) names a failed lookup with it too."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from fabrictui.actions.progress import Progress, Report
from fabrictui.actions.verify.diagnose import LabSnapshot
from fabrictui.actions.verify.service import _node_rule
from fabrictui.backends.base import BackendError, DemoWorkload, LabBackend
from fabrictui.constants import CLUSTER_DOMAIN
from fabrictui.model import CheckResult, DnsLookup, KubePod, KubeService, Verdict
from fabrictui.parsers import ParseError
from fabrictui.parsers.dns import parse_resolv_conf

NAME = "cluster DNS"
LOOKUP_TIMEOUT = 3.0  # seconds for one lookup (libc's own first try waits 5 s)
MAX_SOURCES = 3  # pods on distinct nodes tried in turn when a lookup cannot be run
DNS_NAMESPACE, DNS_SERVICE, DNS_DEPLOYMENT = "kube-system", "kube-dns", "coredns"
DNS_LABEL = ("k8s-app", "kube-dns")


def lookup_names(workload: DemoWorkload) -> tuple[str, str]:
    return (f"{workload.service}.{workload.namespace}.svc.{CLUSTER_DOMAIN}", "kubernetes.default")


def _sources(snap: LabSnapshot, namespace: str) -> list[KubePod]:
    """Running pods to resolve from, one per node: the workload's namespace first, then any
    other namespace but kube-system (whose pods may use their node's network and resolver)."""
    running = sorted((p for p in snap.pods if p.running and p.ip and p.node), key=lambda p: p.key)
    ordered = [p for p in running if p.namespace == namespace]
    ordered += [p for p in running if p.namespace not in (namespace, DNS_NAMESPACE)]
    found: list[KubePod] = []
    for pod in ordered:
        if pod.node not in {f.node for f in found}:
            found.append(pod)
    return found[:MAX_SOURCES]


def lookup_line(lookup: DnsLookup) -> str:
    took = f" in {lookup.elapsed_ms:.1f} ms" if lookup.elapsed_ms is not None else ""
    how = f"({lookup.program} via {lookup.via})"
    if lookup.not_probed is not None:
        return f"from {lookup.source_pod}: {lookup.name}: not probed ({lookup.not_probed})"
    if lookup.verdict is Verdict.PASS:
        named = f" as {lookup.answered_as}" if lookup.answered_as not in (None, lookup.name) else ""
        answer = ", ".join(lookup.addresses)
        return f"from {lookup.source_pod}: {lookup.name} -> {answer}{named}{took} {how}"
    return f"from {lookup.source_pod}: {lookup.name}: {lookup.error}{took} {how}"


def coredns_pods(pods: Sequence[KubePod]) -> list[KubePod]:
    return [p for p in pods if p.namespace == DNS_NAMESPACE and DNS_LABEL in p.labels]


async def check_dns(
    backend: LabBackend, snap: LabSnapshot, workload: DemoWorkload, report: Report
) -> CheckResult:
    started = time.monotonic()
    try:
        services = await backend.list_services()
    except BackendError as err:
        return CheckResult.not_observed(NAME, f"could not read Services: {err}")
    by_key = {(s.namespace, s.name): s for s in services}
    dns = by_key.get((DNS_NAMESPACE, DNS_SERVICE))
    names = lookup_names(workload)
    wanted = {
        names[0]: by_key.get((workload.namespace, workload.service)),
        names[1]: by_key.get(("default", "kubernetes")),
    }
    evidence = [dns_service_line(dns), coredns_line(coredns_pods(snap.pods))]

    def done(cause: str | None = None) -> CheckResult:
        evidence.append(f"checked in {time.monotonic() - started:.2f} s")
        if cause is None:
            return CheckResult(NAME, True, tuple(evidence))
        return CheckResult(NAME, False, tuple(evidence), cause)

    sources = _sources(snap, workload.namespace)
    if not sources:
        return CheckResult.not_observed(NAME, "no running pod to resolve from", tuple(evidence))
    lookups: list[DnsLookup] = []
    source = sources[0]
    for source in sources:
        report(Progress(f"resolving {', '.join(names)} from {source.key}"))
        lookups = list(
            await asyncio.gather(*(backend.resolve(source, n, LOOKUP_TIMEOUT) for n in names))
        )
        evidence += [lookup_line(lookup) for lookup in lookups]
        if all(lookup.verdict is not Verdict.NOT_OBSERVED for lookup in lookups):
            break
    failed = [lookup for lookup in lookups if lookup.verdict is Verdict.FAIL]
    if failed:
        return done(
            await lookup_cause(backend, snap.pods, dns, source, failed[0], evidence, wanted)
        )
    wrong = _wrong_answer(lookups, wanted)
    if wrong:
        return done(wrong)
    unseen = [lookup for lookup in lookups if lookup.verdict is Verdict.NOT_OBSERVED]
    if unseen:
        return CheckResult.not_observed(
            NAME, f"could not resolve from a pod: {unseen[0].not_probed}", tuple(evidence)
        )
    return done()


def dns_service_line(dns: KubeService | None) -> str:
    if dns is None:
        return f"DNS Service {DNS_NAMESPACE}/{DNS_SERVICE}: does not exist"
    ready = ", ".join(f"{e.ip}{'' if e.ready else ' (not ready)'}" for e in dns.endpoints)
    return (
        f"DNS Service {DNS_NAMESPACE}/{DNS_SERVICE}: ClusterIP {dns.cluster_ip or 'None'}, "
        f"endpoints {dns.endpoints_text} ready: {ready or 'none'}"
    )


def coredns_line(pods: list[KubePod]) -> str:
    if not pods:
        return f"CoreDNS pods ({DNS_LABEL[0]}={DNS_LABEL[1]} in {DNS_NAMESPACE}): none"
    return "CoreDNS pods: " + ", ".join(
        f"{p.name} {p.status} {p.ready_text} on {p.node or 'no node'}" for p in pods
    )


def _wrong_answer(lookups: list[DnsLookup], wanted: dict[str, KubeService | None]) -> str:
    for lookup in lookups:
        svc = wanted.get(lookup.name)
        if (
            lookup.verdict is Verdict.PASS
            and svc is not None
            and svc.cluster_ip
            and svc.cluster_ip not in lookup.addresses
        ):
            return (
                f"{lookup.name} answered {', '.join(lookup.addresses)}, but Service "
                f"{svc.namespace}/{svc.name}'s ClusterIP is {svc.cluster_ip} (a stale record)"
            )
    return ""


async def lookup_cause(
    backend: LabBackend,
    pods: Sequence[KubePod],
    dns: KubeService | None,
    source: KubePod,
    lookup: DnsLookup,
    evidence: list[str],
    wanted: dict[str, KubeService | None],
) -> str:
    """The cause of the failed `lookup`, in the order of the module's docstring; what was
    read on the way is appended to `evidence`. `wanted`: the Service each name should be
    (None: no such Service), which an answer without an address is said against."""
    if dns is None:
        return f"the DNS Service {DNS_NAMESPACE}/{DNS_SERVICE} does not exist"
    coredns = coredns_pods(pods)
    if not any(p.running for p in coredns):
        if not coredns:
            scaled = await _scale(backend)
            return f"CoreDNS pods not running: no coredns pod in {DNS_NAMESPACE}{scaled}"
        states = ", ".join(f"{p.name} {p.status} {p.ready_text}" for p in coredns)
        return f"CoreDNS pods not running or not ready: {states}"
    if not dns.ready:
        what = "no endpoints" if not dns.endpoints else "no ready endpoint"
        return f"the DNS Service {DNS_NAMESPACE}/{DNS_SERVICE} has {what}"
    try:
        resolv = parse_resolv_conf(await backend.pod_resolv_conf(source))
    except (BackendError, ParseError) as err:
        evidence.append(f"{source.key}: resolv.conf not observed ({err})")
    else:
        evidence.append(
            f"{source.key}: resolv.conf nameserver {', '.join(resolv.nameservers) or 'none'}, "
            f"search {' '.join(resolv.search) or 'none'}"
        )
        if dns.cluster_ip and dns.cluster_ip not in resolv.nameservers:
            return (
                f"{source.key}'s resolv.conf does not point at the DNS Service (nameserver "
                f"{', '.join(resolv.nameservers) or 'none'}; {DNS_SERVICE} is {dns.cluster_ip})"
            )
    if lookup.error == "timed out" and dns.cluster_ip:
        rule, line = await _node_rule(backend, source, dns.cluster_ip, 53, "udp")
        evidence.append(line)
        if rule is False:
            return (
                f"no kube-proxy rule for {dns.cluster_ip}:53/udp on {source.node} "
                "(the sending node)"
            )
        return f"the DNS server did not answer {lookup.name} within {LOOKUP_TIMEOUT:g} s"
    svc = wanted.get(lookup.name)
    missing = ""
    if lookup.name in wanted and svc is None:
        missing = " (no such Service)"
    if lookup.error and lookup.error.startswith("no address"):
        return (
            f"the server answered no address for {lookup.name}{missing} (NXDOMAIN or SERVFAIL: "
            f"{lookup.program} does not say which)"
        )
    return f"the server answered {lookup.error} for {lookup.name}{missing}"


async def _scale(backend: LabBackend) -> str:
    """`(deployment kube-system/coredns scaled to 0)` when the API says so, else ''."""
    try:
        replicas = await backend.deployment_replicas(DNS_NAMESPACE, DNS_DEPLOYMENT)
    except (BackendError, NotImplementedError):
        return ""
    if replicas == 0:
        return f" (deployment {DNS_NAMESPACE}/{DNS_DEPLOYMENT} scaled to 0)"
    return ""
