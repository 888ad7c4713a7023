"""The Service check: the workload's Service (the seed's `nginx-service`) as an application
reaches it, step by step, naming the first step that breaks (docs/services.md):

1. the Service exists, with a ClusterIP and ports;
2. it has endpoints: else the selector matches no pod, or (pods match) none has an address;
3. an endpoint is ready: else the pods behind it are not ready;
4. a TCP connect from a pod to ClusterIP:port opens; when it does not, the sending node's
   nat table (`iptables-save -t nat`, over SSH) says whether kube-proxy has a rule for
   ClusterIP:port there, and a connect to each endpoint whether an endpoint is unreachable.

What could not be read (the nat table, a probe no method could run) is not observed."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from fabrictui.actions.progress import Progress, Report
from fabrictui.actions.verify.diagnose import LabSnapshot
from fabrictui.backends.base import BackendError, DemoWorkload, LabBackend
from fabrictui.model import CheckResult, KubePod, KubeService, TcpProbe, Verdict
from fabrictui.parsers import ParseError
from fabrictui.parsers.iptables import parse_nat_table

NAME = "nginx-service"
CONNECT_TIMEOUT = 3.0  # seconds for one TCP handshake
NO_ENDPOINTS = "refused by kube-proxy: no endpoints"
MAX_SOURCES = 3  # pods (on distinct nodes) tried in turn when a connect cannot be run


def _selector_text(svc: KubeService) -> str:
    return ",".join(f"{k}={v}" for k, v in svc.selector) or "(none)"


def _matching(svc: KubeService, pods: tuple[KubePod, ...]) -> list[KubePod]:
    wanted = dict(svc.selector)
    return [
        p
        for p in pods
        if p.namespace == svc.namespace
        and wanted
        and all(dict(p.labels).get(k) == v for k, v in wanted.items())
    ]


def _sources(snap: LabSnapshot, svc: KubeService) -> list[KubePod]:
    """The pods the connects may go from, best first, one per node: running pods of the
    Service's namespace that are not endpoints (a connect DNATed back to its own sender
    tests hairpinning, not the Service), then its endpoints, then any other pod-network
    pod. A pod whose connect cannot be run (its node's SSH refused) gives way to the next."""
    endpoint_pods = {e.pod for e in svc.endpoints}
    running = sorted((p for p in snap.pods if p.running and p.ip and p.node), key=lambda p: p.key)

    def rank(p: KubePod) -> int:
        if p.namespace == svc.namespace:
            return 0 if p.key not in endpoint_pods else 1
        return 2 if p.namespace != "kube-system" else 3

    found: list[KubePod] = []
    for pod in sorted((p for p in running if rank(p) < 3), key=rank):
        if pod.node not in {f.node for f in found}:
            found.append(pod)
    return found[:MAX_SOURCES]


def _probe_line(probe: TcpProbe, what: str) -> str:
    if probe.not_probed is not None:
        return f"{what} {probe.target}: not probed ({probe.not_probed})"
    took = f" in {probe.elapsed_ms:.1f} ms" if probe.elapsed_ms is not None else ""
    if probe.connected:
        return f"{what} {probe.target}: connected{took} (via {probe.via})"
    return f"{what} {probe.target}: {probe.error or 'failed'}{took} (via {probe.via})"


async def check_service(
    backend: LabBackend, snap: LabSnapshot, workload: DemoWorkload, report: Report
) -> CheckResult:
    started = time.monotonic()
    key = f"{workload.namespace}/{workload.service}"
    try:
        services = await backend.list_services(workload.namespace)
    except BackendError as err:
        return CheckResult.not_observed(NAME, f"could not read Services: {err}")
    svc = next((s for s in services if s.name == workload.service), None)
    if svc is None:
        return CheckResult(NAME, False, (), f"service {key} does not exist")
    ports = ", ".join(f"{p.port}/{p.protocol}->{p.target_port}" for p in svc.ports)
    evidence = [
        f"service {key}: ClusterIP {svc.cluster_ip or 'None'}, ports {ports or 'none'}, "
        f"selector {_selector_text(svc)}",
        f"endpoints {svc.endpoints_text} ready: "
        + (
            ", ".join(f"{e.ip}{'' if e.ready else ' (not ready)'}" for e in svc.endpoints) or "none"
        ),
    ]

    def failed(cause: str) -> CheckResult:
        evidence.append(f"checked in {time.monotonic() - started:.2f} s")
        return CheckResult(NAME, False, tuple(evidence), cause)

    if not svc.endpoints:
        evidence.append(await _refused(backend, snap, svc))
        matching = _matching(svc, snap.pods)
        if not matching:
            return failed(
                f"no endpoints: the selector {_selector_text(svc)} matches no pod in "
                f"{svc.namespace}"
            )
        names = ", ".join(p.name for p in matching[:4])
        return failed(f"no endpoints although the selector matches {len(matching)} pods ({names})")
    if not svc.ready:
        pods = ", ".join((e.pod or e.ip).split("/")[-1] for e in svc.endpoints[:4])
        return failed(f"endpoint not ready: none of the {len(svc.endpoints)} endpoints is ({pods})")
    tcp = [p for p in svc.ports if p.protocol.upper() == "TCP"]
    if not svc.cluster_ip or not tcp:
        evidence.append("headless, or no TCP port: nothing to connect to at a ClusterIP")
        return CheckResult(NAME, True, tuple(evidence))
    sources = _sources(snap, svc)
    if not sources:
        return CheckResult.not_observed(NAME, "no running pod to connect from", tuple(evidence))
    port = tcp[0]
    # the endpoints' port: the Service's targetPort when a number, else what they serve
    target_port = int(port.target_port) if port.target_port.isdigit() else port.port
    if not port.target_port.isdigit() and svc.endpoint_ports:
        target_port = svc.endpoint_ports[0]
    for source in sources:
        report(Progress(f"connecting from {source.key} to {svc.cluster_ip}:{port.port}"))
        to_service = await backend.probe_tcp(source, svc.cluster_ip, port.port, CONNECT_TIMEOUT)
        evidence.append(_probe_line(to_service, f"from {source.key} to ClusterIP"))
        if to_service.verdict is not Verdict.NOT_OBSERVED:
            break
    to_endpoints = await asyncio.gather(
        *(backend.probe_tcp(source, e.ip, target_port, CONNECT_TIMEOUT) for e in svc.ready)
    )
    for endpoint, probe in zip(svc.ready, to_endpoints, strict=True):
        evidence.append(_probe_line(probe, f"  to endpoint {endpoint.pod or endpoint.ip}"))
    dead = [
        (e, p) for e, p in zip(svc.ready, to_endpoints, strict=True) if p.verdict is Verdict.FAIL
    ]
    if to_service.verdict is Verdict.PASS and not dead:
        unseen = [p for p in to_endpoints if p.verdict is Verdict.NOT_OBSERVED]
        evidence.append(f"checked in {time.monotonic() - started:.2f} s")
        return CheckResult(
            NAME, True, tuple(evidence), unseen=tuple(f"endpoint {p.target}" for p in unseen)
        )
    if to_service.verdict is Verdict.FAIL:
        rule = await _node_rule(backend, source, svc.cluster_ip, port.port, port.protocol)
        evidence.append(rule[1])
        if rule[0] is False:
            return failed(
                f"no kube-proxy rule for {svc.cluster_ip}:{port.port} on {source.node} "
                f"(the sending node)"
            )
    if dead:
        names = ", ".join(f"{e.pod or e.ip} ({p.error})" for e, p in dead)
        return failed(f"endpoint unreachable: {names}")
    if to_service.verdict is Verdict.NOT_OBSERVED:
        return CheckResult.not_observed(
            NAME, f"could not connect from a pod: {to_service.not_probed}", tuple(evidence)
        )
    return failed(
        f"ClusterIP {svc.cluster_ip}:{port.port} did not connect ({to_service.error}) though "
        "its endpoints answer"
    )


async def _refused(backend: LabBackend, snap: LabSnapshot, svc: KubeService) -> str:
    """What a connect to a Service without endpoints meets: kube-proxy's REJECT refuses it
    at once (nothing else answers on a ClusterIP); a kube-proxy without one lets it time out."""
    tcp = [p for p in svc.ports if p.protocol.upper() == "TCP"]
    sources = _sources(snap, svc)
    if not svc.cluster_ip or not tcp or not sources:
        return "no connect to the ClusterIP (no TCP port, or no pod to connect from)"
    try:
        probe = await backend.probe_tcp(sources[0], svc.cluster_ip, tcp[0].port, CONNECT_TIMEOUT)
    except BackendError as err:
        return (
            f"from {sources[0].key} to ClusterIP {svc.cluster_ip}:{tcp[0].port}: not probed ({err})"
        )
    if probe.error == "refused":
        probe = dataclasses.replace(probe, error=NO_ENDPOINTS)
    return _probe_line(probe, f"from {sources[0].key} to ClusterIP")


async def _node_rule(
    backend: LabBackend, pod: KubePod, ip: str, port: int, protocol: str
) -> tuple[bool | None, str]:
    """Whether the pod's node has kube-proxy's rule for ip:port (None: unreadable), and a
    line of evidence saying what the nat table showed."""
    node = pod.node or ""
    try:
        text = await backend.read_state(node, "nat")
        table = parse_nat_table(text)
    except (BackendError, ParseError) as err:
        return None, f"{node}: nat table not observed ({err})"
    chain = table.service_chain(ip, port, protocol)
    if chain is None:
        return False, f"{node}: no KUBE-SERVICES rule for {ip}:{port} in the nat table"
    hooked = table.jumps("PREROUTING", "KUBE-SERVICES")
    to = ", ".join(table.destinations(chain)) or "no endpoint"
    if not hooked:
        return False, f"{node}: {ip}:{port} -> {chain}, but PREROUTING does not jump to it"
    return True, f"{node}: {ip}:{port} -> {chain} -> DNAT to {to}"
