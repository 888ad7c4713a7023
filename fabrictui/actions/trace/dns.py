"""The trace's `dns` step: a DNS name resolved FROM THE SOURCE POD through the cluster DNS,
by the probe and in the order the cluster DNS check uses (the pod's own getent or dig, else
getent from its node in the pod's namespaces, else not probed: `LabBackend.resolve`).

A failed lookup is named by the check's own diagnosis (`verify/dns.lookup_cause`: the DNS
Service missing, CoreDNS pods not running, kube-dns without endpoints, the pod's resolv.conf
pointing elsewhere, no kube-proxy rule for the DNS ClusterIP on the sending node, then what
the server did: no address, or no answer in time), and the trace stops there. A lookup no
method could run is `unobserved`. The answer is where `run.py` goes on: a ClusterIP to the
Service trace, a pod's address to the pod trace."""

from __future__ import annotations

from collections.abc import Sequence

from fabrictui.actions.progress import Progress, Report
from fabrictui.actions.trace.dnsname import DnsRef, DnsResolution, service_of
from fabrictui.actions.trace.svcsteps import ServiceStep, StepState
from fabrictui.actions.verify.dns import (
    DNS_NAMESPACE,
    DNS_SERVICE,
    LOOKUP_TIMEOUT,
    coredns_line,
    coredns_pods,
    dns_service_line,
    lookup_cause,
    lookup_line,
)
from fabrictui.backends.base import BackendError, LabBackend, Unreachable
from fabrictui.model import DnsLookup, KubePod, KubeService, Verdict

STATES = {Verdict.PASS: StepState.OK, Verdict.FAIL: StepState.FAIL}


async def resolve_step(
    backend: LabBackend, report: Report, src: KubePod, pods: Sequence[KubePod], ref: DnsRef
) -> DnsResolution:
    """`ref.name` resolved from `src`; on failure, why, in the cluster DNS check's words."""
    report(Progress(f"resolving {ref.name} from {src.key} through the cluster DNS", 0.05))
    try:
        lookup = await backend.resolve(src, ref.name, LOOKUP_TIMEOUT)
    except Unreachable:
        raise  # a lab that cannot be reached is the command's error (exit 2), not a step
    except BackendError as err:  # the lookup could not run: nothing was seen wrong
        lookup = DnsLookup(src.key, ref.name, not_probed=str(err))
    line = lookup_line(lookup)
    evidence: list[str] = []
    cause = None
    if lookup.verdict is Verdict.FAIL:
        cause = await _cause(backend, src, pods, lookup, evidence)
    step = ServiceStep("dns", STATES.get(lookup.verdict, StepState.UNOBSERVED), line,
                       tuple(evidence))  # fmt: skip
    return DnsResolution(
        ref.name, src.key, step, lookup.addresses, lookup.answered_as, lookup.elapsed_ms,
        lookup.via, lookup.program, cause, ref.port,
    )  # fmt: skip


async def _cause(
    backend: LabBackend, src: KubePod, pods: Sequence[KubePod], lookup: DnsLookup,
    evidence: list[str],
) -> str:  # fmt: skip
    try:
        services = await backend.list_services()
    except BackendError as err:  # the lookup failed (seen); why could not be read
        evidence.append(f"Services not read: {err}")
        return f"{lookup.name}: {lookup.error} (why not observed: Services could not be read)"
    by_key: dict[tuple[str, str], KubeService] = {(s.namespace, s.name): s for s in services}
    dns = by_key.get((DNS_NAMESPACE, DNS_SERVICE))
    evidence += [dns_service_line(dns), coredns_line(coredns_pods(pods))]
    meant = service_of(lookup.name, src.namespace)
    wanted = {lookup.name: by_key.get(meant)} if meant is not None else {}
    return await lookup_cause(backend, pods, dns, src, lookup, evidence, wanted)
