"""Path trace: one probe's whole path, where it stopped, and why (docs/trace.md).

`run_trace(backend, report, source, target)`: read the lab (hosts, nodes, pods), derive the
observation points for the pair (`trace_points`), start a capture at every point at once
(`trace_capture`), ping from the source pod, stop every capture, correlate the sightings
(`trace_correlate`) and, where the probe went dark, read the state that decides that hop and
name the cause (`trace_causes`). Backend-agnostic: the demo lab, the rehearsal lab and
Vagrant/inventory labs answer the same `LabBackend` calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import time
from collections.abc import Sequence

from fabrictui.actions.progress import Progress, Report
from fabrictui.actions.trace.capture import PointCaptures
from fabrictui.actions.trace.causes import PathContext, explain
from fabrictui.actions.trace.correlate import correlate
from fabrictui.actions.trace.dns import resolve_step
from fabrictui.actions.trace.dnsname import DnsRef, DnsResolution, parse_dns_ref
from fabrictui.actions.trace.model import Correlation, Probe, TraceResult
from fabrictui.actions.trace.points import observation_points
from fabrictui.actions.trace.policy import policy_cause
from fabrictui.actions.trace.service import ServiceFollower, pick_service
from fabrictui.actions.trace.sizes import size_notes
from fabrictui.actions.trace.svcsteps import (
    RefError,
    ServiceRef,
    ServiceTrace,
    ip_ref,
    name_ref,
    parse_ref,
)
from fabrictui.backends.base import DEFAULT_PING_SIZE, BackendError, LabBackend, NotFound
from fabrictui.intent.labshape import LabShape
from fabrictui.model import KubeNode, KubePod, KubeService, PingResult

__all__ = ["TraceInputError", "TraceResult", "find_pod", "resolve_target", "run_trace"]


class TraceInputError(BackendError):
    """The pods or address asked for do not name something the trace can start from."""


def find_pod(pods: Sequence[KubePod], ref: str) -> KubePod:
    """`NS/NAME`, or `NAME` (or its random suffix) when one pod in the lab has it."""
    namespace, _, name = ref.rpartition("/")
    if not name:
        raise TraceInputError(f"{ref!r} names no pod")
    candidates = [p for p in pods if (not namespace or p.namespace == namespace)]
    exact = [p for p in candidates if p.name == name]
    if not exact:
        exact = [p for p in candidates if p.short_name == name]
    if not exact:
        where = f" in namespace {namespace}" if namespace else ""
        raise NotFound(f"no pod {name!r}{where}")
    if len(exact) > 1:
        names = ", ".join(sorted(p.key for p in exact)[:4])
        raise TraceInputError(f"{ref!r} matches several pods ({names}); give NAMESPACE/NAME")
    return exact[0]


def resolve_target(
    pods: Sequence[KubePod], nodes: Sequence[KubeNode], target: str
) -> tuple[KubePod | None, str, str | None]:
    """(pod, address, node whose block holds it) for a pod reference or an address."""
    try:
        address = str(ipaddress.IPv4Address(target))
    except ValueError:
        pod = find_pod(pods, target)
        if not pod.ip:
            raise TraceInputError(f"{pod.key} has no IP address ({pod.status})") from None
        return pod, pod.ip, pod.node
    pod = next((p for p in pods if p.ip == address and p.node), None)
    if pod is not None:
        return pod, address, pod.node
    addr = ipaddress.IPv4Address(address)
    for node in nodes:
        if any(addr in ipaddress.IPv4Network(b) for b in node.calico_blocks):
            return None, address, node.name
    return None, address, None


def ping_summary(result: PingResult) -> str:
    if result.not_probed is not None:
        return f"not probed: {result.not_probed}"
    line = f"{result.received}/{result.transmitted} replies via {result.via}"
    if result.rtt_avg_ms is not None:
        line += f", rtt avg {result.rtt_avg_ms:.3f} ms"
    if result.error:
        line += f" ({result.error})"
    return line


async def run_trace(
    backend: LabBackend,
    report: Report,
    source: str,
    target: str,
    count: int = 3,
    size: int = DEFAULT_PING_SIZE,
    timeout: float = 10.0,
) -> TraceResult:
    phases: list[tuple[str, float]] = []
    mark = time.monotonic()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        phases.append((name, now - mark))
        mark = now

    report(Progress("reading the lab", 0.0))
    hosts, nodes, pods = await asyncio.gather(
        backend.list_hosts(), backend.list_nodes(), backend.list_pods()
    )
    src = find_pod(pods, source)
    if not src.ip or not src.node or not src.running:
        raise TraceInputError(
            f"source pod {src.key} is {src.status} ({src.ready_text}): nothing to send from"
        )
    via: ServiceTrace | None = None
    dns: DnsResolution | None = None
    name = dns_target(pods, target)
    if name is not None:  # a DNS name: resolved from the source pod first, as an app does
        dns = await resolve_step(backend, report, src, pods, name)
        phase("resolve the name")
        if dns.address is None:  # the lookup failed or could not run: nothing to trace
            return dns_only(src, dns, tuple(phases))
        target = dns.address
        if name.port is not None and not any(p.ip == dns.address for p in pods):
            target += f":{name.port}"  # the port is for a Service the name stands for
    found = await _service_target(backend, pods, nodes, target)
    if not isinstance(found[0], ServiceRef):
        dst, dst_ip, dst_node = found  # type: ignore[misc]
    else:  # a Service: follow it to an endpoint, then trace the way to that endpoint
        ref, services = found  # type: ignore[misc]
        via = await ServiceFollower(backend, report, src, pods).follow(ref, services)
        phase("follow the service")
        if via.endpoint is None:  # it broke before an endpoint: nothing to trace further
            return dataclasses.replace(service_only(src, via, tuple(phases)), dns=dns)
        dst, dst_ip, dst_node = resolve_target(pods, nodes, via.endpoint)
    if dst_ip == src.ip:
        raise TraceInputError(f"{src.key} and {target} are the same address ({dst_ip})")
    shape = LabShape.of(hosts)
    ports = backend.trace_ports()
    dst_iface = backend.pod_interface(dst) if dst is not None and dst.node else None
    points = observation_points(
        shape, ports, src.node, backend.pod_interface(src), dst_node, dst_iface
    )
    probe = Probe(src.ip, dst_ip, count=count)
    phase("read the lab")
    report(Progress(f"capturing at {len({p.key for p in points})} points", 0.2))
    captures = PointCaptures(backend, probe, backend.info().vxlan_port)
    try:
        await captures.open(points)
        phase("start captures")
        who = dst.key if dst is not None else dst_ip
        report(Progress(f"pinging {who} ({dst_ip}) from {src.key}", 0.4))
        try:
            ping = await backend.probe(src, dst_ip, count, size, timeout)
        except BackendError as err:
            ping = PingResult.failed(src.key, dst_ip, str(err))
        phase("probe")
        await captures.settle(end=(points[0].key, count) if points else None)
        phase("settle")
    finally:
        await captures.close()
    phase("stop captures")
    report(Progress("correlating", 0.8))
    corr = correlate(points, captures.sightings, probe, unobserved=captures.failed.keys())
    notes = [f"{h} {i}: no capture: {why}" for (h, i), why in sorted(captures.failed.items())]
    if ping.not_probed is not None:
        notes.append(f"probe not sent: {ping.not_probed}")
    if not ping.probed:
        # nothing was sent: the empty captures say nothing about the path, nothing was lost
        corr = dataclasses.replace(corr, lost_at=None)
    if size > DEFAULT_PING_SIZE and ping.probed and not ping.ok:  # the size may be why
        notes += await size_notes(backend, points, backend.pod_interface(src), size)
    if ping.ok and not (corr.delivered and corr.replied):
        notes.append("the ping got its replies; the captures missed part of the path")
        corr = dataclasses.replace(corr, lost_at=None)
    context = PathContext(
        backend,
        shape,
        ports,
        {h.name: h for h in hosts},
        {n.name: n for n in nodes},
        pods,
        src,
        dst,
        src.ip,
        dst_ip,
        src.node,
        dst_node,
    )
    if dst_node is None:
        context.say(f"no pod and no node's Calico block holds {dst_ip}")
    # a missing program explains itself; an exec that failed may be explained by the lab
    cause = await explain(context, corr, ping) if ping.not_probed is None else None
    if ping.probed and not ping.ok:
        denied, lines = await policy_cause(backend, src, dst)
        context.evidence.extend(lines)
        if denied:  # the captures say where it went dark, the policy why
            if cause:
                context.evidence.append(f"where it went dark: {cause}")
            cause = denied
    phase("read state")
    result = TraceResult(
        source=src.key,
        target=dst.key if dst is not None else dst_ip,
        src_ip=src.ip,
        dst_ip=dst_ip,
        src_node=src.node,
        dst_node=dst_node,
        correlation=corr,
        cause=cause,
        evidence=tuple(context.evidence),
        ping_text=ping_summary(ping),
        ping_ok=ping.ok,
        ping_via=ping.via,
        phases=tuple(phases),
        capture_spread_s=captures.spread,
        notes=tuple(notes),
        probed=ping.probed,
    )
    result = dataclasses.replace(result, dns=dns)
    return result if via is None else with_service(result, via)


def dns_target(pods: Sequence[KubePod], target: str) -> DnsRef | None:
    """The DNS name `--to` is written as (dnsname.py), or None: a dotted name is a pod's
    when a pod has it (pods first, as for Services)."""
    try:
        ref = parse_dns_ref(target)
    except RefError as err:
        raise TraceInputError(str(err)) from None
    if ref is None or ref.explicit:
        return ref
    try:
        find_pod(pods, target)
    except NotFound:
        return ref
    except TraceInputError:  # several pods have it: the pod trace says so
        return None
    return None


Found = tuple[KubePod | None, str, str | None] | tuple[ServiceRef, list[KubeService]]


async def _service_target(
    backend: LabBackend, pods: list[KubePod], nodes: list[KubeNode], target: str
) -> Found:
    """What `--to` names: a pod or an address (pod, address, node) as before, or a Service
    (its ref and the lab's Services). Services are read only when the target is written as
    one or no pod answers to it, so a pod trace costs what it did."""
    try:
        ref = parse_ref(target)
    except RefError as err:
        raise TraceInputError(str(err)) from None
    if ref is None:
        try:
            pod, ip, node = resolve_target(pods, nodes, target)
        except NotFound as err:
            ref = name_ref(target)
            try:
                services = await backend.list_services(ref.namespace)
            except BackendError:
                raise err from None
            if pick_service(services, ref) is None:
                where = f" in namespace {ref.namespace}" if ref.namespace else ""
                raise NotFound(f"no pod or Service {ref.name!r}{where}") from None
            return ref, services
        if pod is not None or node is not None:
            return pod, ip, node
        try:  # an address no pod or block holds: a ClusterIP?
            services = await backend.list_services()
        except BackendError:
            return pod, ip, node
        if not any(s.cluster_ip == ip for s in services):
            return pod, ip, node
        return ip_ref(ip), services
    return ref, await backend.list_services(ref.namespace)


def service_only(
    src: KubePod, via: ServiceTrace, phases: tuple[tuple[str, float], ...]
) -> TraceResult:
    """A Service trace that stopped before an endpoint: its steps, no pod path."""
    stopped = _stopped_before_a_path(src, via.label, via.cause, "the Service", phases)
    return dataclasses.replace(stopped, dst_ip=via.cluster_ip or "", service=via)


def dns_only(
    src: KubePod, dns: DnsResolution, phases: tuple[tuple[str, float], ...]
) -> TraceResult:
    """A trace to a DNS name whose lookup failed or could not run: its step, no path."""
    stopped = _stopped_before_a_path(src, dns.label, dns.cause, "the lookup of the name", phases)
    return dataclasses.replace(stopped, dns=dns)


def _stopped_before_a_path(
    src: KubePod,
    target: str,
    cause: str | None,
    where: str,
    phases: tuple[tuple[str, float], ...],
) -> TraceResult:
    """The one shape of a trace that ended before any pod-to-pod path was probed."""
    return TraceResult(
        source=src.key,
        target=target,
        src_ip=src.ip or "",
        dst_ip="",
        src_node=src.node or "",
        dst_node=None,
        correlation=Correlation((), None, None, False, False, None, None),
        cause=cause,
        evidence=(),
        ping_text=f"no ping: the trace stopped at {where}",
        phases=phases,
        probed=False,
    )


def with_service(result: TraceResult, via: ServiceTrace) -> TraceResult:
    """The pod trace to the endpoint under the Service's steps; an endpoint that did not
    answer takes the pod trace's cause as its why."""
    cause = result.cause
    if via.cause is not None:
        if result.cause:
            cause = f"{via.cause}: {result.cause}"
        elif result.delivered:
            cause = f"{via.cause}, though pings reach it: nothing listens on the port there?"
        else:
            cause = via.cause
    return dataclasses.replace(result, target=via.label, cause=cause, service=via)
