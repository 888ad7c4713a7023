"""The way from a pod to a Service, step by step, up to the endpoint the pod trace then
follows (docs/trace.md, "Tracing a Service"):

1. the Service: it exists, has a ClusterIP and the port asked for;
2. its endpoints: some, and some ready (else: which labels the selector asks for and which
   pods come closest; kube-proxy's REJECT on the sending node and the connect it refuses);
3. kube-proxy's rule on the SENDING node (`iptables-save -t nat` read there): KUBE-SERVICES
   -> which KUBE-SVC- chain -> which KUBE-SEP- chains, with their odds and DNAT targets;
4. a TCP connect from the pod to ClusterIP:port; when it fails, one to each ready endpoint;
5. the endpoint traced on: one that did not answer, else one on another node (kube-proxy
   picks at random; the one across the fabric shows the most of the path).

What could not be read or run is `unobserved`, never failed. The pod trace itself is
`run.py`'s; this module hands it the endpoint."""

from __future__ import annotations

import asyncio
import dataclasses

from fabrictui.actions.progress import Progress, Report
from fabrictui.actions.trace.svcsteps import (
    ServiceRef,
    ServiceStep,
    ServiceTrace,
    StepState,
    matching,
    near_misses,
    selector_text,
)
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.model import KubePod, KubeService, ServiceEndpoint, ServicePort, TcpProbe, Verdict
from fabrictui.parsers import ParseError
from fabrictui.parsers.iptables import (
    ServicePath,
    parse_iptables_save,
    parse_nat_table,
    reject_rule,
)

CONNECT_TIMEOUT = 3.0  # seconds for one TCP handshake, as the Services check
NO_ENDPOINTS = "refused by kube-proxy: no endpoints"
# an endpoint kept by hand (the API server's address behind `kubernetes`): no pod path
NO_POD = "a host address, not a pod: the pod trace does not go further"


class ServiceInputError(BackendError):
    """The target names several Services, or a Service in a way that cannot be traced."""


def pick_service(services: list[KubeService], ref: ServiceRef) -> KubeService | None:
    found = [s for s in services if ref.matches(s)]
    if ref.ip is not None and ref.port is not None:
        found = [s for s in found if any(p.port == ref.port for p in s.ports)] or found
    if len(found) > 1:
        names = ", ".join(sorted(s.key for s in found)[:4])
        raise ServiceInputError(f"{ref.text!r} matches several Services ({names}); give NS/NAME")
    return found[0] if found else None


def pick_port(svc: KubeService, wanted: int | None) -> ServicePort | None:
    if wanted is not None:
        return next((p for p in svc.ports if p.port == wanted), None)
    return next((p for p in svc.ports if p.protocol.upper() == "TCP"), None)


def target_port(svc: KubeService, port: ServicePort) -> int:
    """The endpoints' port: the targetPort when a number, else what they serve."""
    if port.target_port.isdigit():
        return int(port.target_port)
    return svc.endpoint_ports[0] if svc.endpoint_ports else port.port


def _connect_text(probe: TcpProbe, refused_means: str = "") -> str:
    if probe.not_probed is not None:
        return f"not probed ({probe.not_probed})"
    took = f" in {probe.elapsed_ms:.1f} ms" if probe.elapsed_ms is not None else ""
    if probe.connected:
        return f"connected{took} (via {probe.via})"
    why = refused_means if probe.error == "refused" and refused_means else probe.error
    return f"{why or 'failed'}{took} (via {probe.via})"


def _endpoint_text(e: ServiceEndpoint) -> str:
    who = (e.pod or "").split("/")[-1] or "no pod"
    return f"{e.ip} ({who}{', ' + e.node if e.node else ''}){'' if e.ready else ' not ready'}"


class ServiceFollower:
    """Follows one Service from one pod; `steps` grows as it goes."""

    def __init__(
        self, backend: LabBackend, report: Report, src: KubePod, pods: list[KubePod]
    ) -> None:
        self.backend = backend
        self.report = report
        self.src = src
        self.pods = pods
        self.steps: list[ServiceStep] = []

    def add(
        self, step: str, state: StepState, text: str, evidence: list[str] | None = None
    ) -> None:
        self.steps.append(ServiceStep(step, state, text, tuple(evidence or ())))

    def stop(
        self, svc: KubeService | None, ref: ServiceRef, port: int | None, cause: str | None
    ) -> ServiceTrace:
        return ServiceTrace(
            svc.key if svc else ref.label,
            svc.cluster_ip if svc else ref.ip,
            port,
            tuple(self.steps),
            cause,
        )

    async def follow(self, ref: ServiceRef, services: list[KubeService]) -> ServiceTrace:
        svc = pick_service(services, ref)
        if svc is None:
            what = (
                f"no Service has ClusterIP {ref.ip}"
                if ref.ip
                else f"service {ref.label} does not exist"
            )
            self.add("service", StepState.FAIL, what)
            return self.stop(None, ref, ref.port, what)
        ports = ", ".join(f"{p.port}/{p.protocol}->{p.target_port}" for p in svc.ports) or "none"
        port = pick_port(svc, ref.port)
        if port is None or not svc.cluster_ip:
            why = (
                f"service {svc.key} is headless (no ClusterIP): kube-proxy has nothing to do; "
                "trace one of its pods"
                if not svc.cluster_ip
                else f"service {svc.key} has no {f'port {ref.port}' if ref.port else 'TCP port'} "
                f"(its ports: {ports})"
            )
            self.add("service", StepState.FAIL, why)
            return self.stop(svc, ref, ref.port, why)
        self.add(
            "service",
            StepState.OK,
            f"{svc.key}: ClusterIP {svc.cluster_ip}, port {port.port}/{port.protocol} -> "
            f"{port.target_port}, selector {selector_text(svc)}",
        )
        if not svc.ready:
            return await self._no_ready(svc, ref, port)
        self.add(
            "endpoints",
            StepState.OK,
            f"{svc.endpoints_text} ready: "
            + ", ".join(_endpoint_text(e) for e in svc.endpoints[:6])
            + (", ..." if len(svc.endpoints) > 6 else ""),
        )
        return await self._through_proxy(svc, ref, port)

    # -- 2. endpoints ---------------------------------------------------------------------------

    async def _no_ready(self, svc: KubeService, ref: ServiceRef, port: ServicePort) -> ServiceTrace:
        if svc.endpoints:
            names = ", ".join((e.pod or e.ip).split("/")[-1] for e in svc.endpoints[:4])
            cause = f"endpoint not ready: none of the {len(svc.endpoints)} endpoints is ({names})"
            self.add("endpoints", StepState.FAIL, cause,
                     [f"endpoint {_endpoint_text(e)}" for e in svc.endpoints])  # fmt: skip
            return self.stop(svc, ref, port.port, cause)
        selected = matching(svc, self.pods)
        if selected:
            states = ", ".join(f"{p.name} {p.status} {p.ready_text}" for p in selected[:4])
            cause = f"no endpoints although the selector matches {len(selected)} pods ({states})"
            evidence = [
                "pods that match but have no address are not Running yet, or the endpoints "
                "controller (kube-controller-manager) is not keeping Endpoints"
            ]
        else:
            cause = (
                f"no endpoints: the selector {selector_text(svc)} matches no pod in {svc.namespace}"
            )
            evidence = [near_misses(svc, self.pods) or "the Service has no selector: its "
                        "Endpoints are kept by hand, and none were written"]  # fmt: skip
        self.add("endpoints", StepState.FAIL, cause, evidence)
        await self._reject(svc, port)
        return self.stop(svc, ref, port.port, cause)

    async def _reject(self, svc: KubeService, port: ServicePort) -> None:
        """What a connect meets on the sending node: kube-proxy's REJECT (refused at once),
        or, where kube-proxy writes none, a timeout."""
        node, ip = self.src.node or "", str(svc.cluster_ip)
        proto = port.protocol.lower()
        self.report(Progress(f"reading {node}'s filter table for {ip}:{port.port}"))
        try:
            rules = parse_iptables_save(await self.backend.read_state(node, "filter"))
            rule = reject_rule(rules, ip, port.port, proto)
            seen = (
                f"{node}: KUBE-SERVICES REJECT for {ip}:{port.port} ({rule.comment})"
                if rule is not None
                else f"{node}: no kube-proxy REJECT for {ip}:{port.port} in the filter table"
            )
        except (BackendError, ParseError) as err:
            rule, seen = None, f"{node}: filter table not observed ({err})"
        probe = await self._connect(ip, port.port)
        # nothing listens on a ClusterIP: a refusal there is kube-proxy's REJECT
        line = f"from {self.src.key} to {ip}:{port.port}: {_connect_text(probe, NO_ENDPOINTS)}"
        if probe.error == "timed out" and rule is None:
            line += " (no REJECT: kube-proxy here lets it time out)"
        self.add("kube-proxy rule", StepState.OK if rule else StepState.SKIPPED, seen, [line])

    # -- 3. kube-proxy's rule, 4. the connect, 5. the endpoint ---------------------------------

    async def _connect(self, ip: str, port: int) -> TcpProbe:
        self.report(Progress(f"connecting from {self.src.key} to {ip}:{port}"))
        try:
            return await self.backend.probe_tcp(self.src, ip, port, CONNECT_TIMEOUT)
        except BackendError as err:
            return TcpProbe(self.src.key, ip, port, False, not_probed=str(err))

    async def _rule(self, ip: str, port: ServicePort) -> tuple[ServicePath | None, str | None]:
        """The nat table's path for ip:port on the sending node; (None, why) when it could
        not be read."""
        node = self.src.node or ""
        self.report(Progress(f"reading kube-proxy's rules on {node}"))
        try:
            table = parse_nat_table(await self.backend.read_state(node, "nat"))
        except (BackendError, ParseError) as err:
            return None, f"{node}: nat table not observed ({err})"
        return table.service_path(ip, port.port, port.protocol), None

    async def _through_proxy(
        self, svc: KubeService, ref: ServiceRef, port: ServicePort
    ) -> ServiceTrace:
        ip, node = str(svc.cluster_ip), self.src.node or ""
        path, unread = await self._rule(ip, port)
        by_ip = {e.ip: e for e in svc.endpoints}
        rule_step: ServiceStep
        if unread is not None:
            rule_step = ServiceStep("kube-proxy rule", StepState.UNOBSERVED, unread)
        elif path is None or "PREROUTING" not in path.hooks:
            why = (
                f"{node}: no KUBE-SERVICES rule for {ip}:{port.port} in the nat table"
                if path is None
                else f"{node}: {ip}:{port.port} -> {path.chain}, but PREROUTING does not jump "
                "to KUBE-SERVICES"
            )
            rule_step = ServiceStep("kube-proxy rule", StepState.FAIL, why)
        else:
            lines = []
            for pick in path.picks:
                ep = by_ip.get((pick.to or "").rsplit(":", 1)[0])
                whose = f" = {_endpoint_text(ep)}" if ep else " (not an endpoint of the Service)"
                lines.append(f"{pick.chain} {pick.share:.0%} -> DNAT to {pick.to or 'nothing'}"
                             f"{whose if pick.to else ''}")  # fmt: skip
            ruled = {t.rsplit(":", 1)[0] for t in path.targets}
            missing = [e.ip for e in svc.ready if e.ip not in ruled]
            if missing:
                lines.append(f"ready endpoints without a rule on {node}: {', '.join(missing)} "
                             "(kube-proxy there not synced)")  # fmt: skip
            text = (
                f"{node}: KUBE-SERVICES {ip}:{port.port}/{port.protocol.lower()} -> {path.chain} "
                f"-> {len(path.picks)} endpoint chain{'s' if len(path.picks) != 1 else ''}"
            )
            ok = any(t.rsplit(":", 1)[0] in {e.ip for e in svc.ready} for t in path.targets)
            if not ok:
                text += f": none DNATs to a ready endpoint (kube-proxy on {node} not synced)"
            rule_step = ServiceStep("kube-proxy rule", StepState.OK if ok else StepState.FAIL,
                                    text, tuple(lines))  # fmt: skip
        to_service = await self._connect(ip, port.port)
        connect = f"from {self.src.key} to {ip}:{port.port}: {_connect_text(to_service)}"
        if rule_step.state is StepState.FAIL:
            if to_service.verdict is Verdict.PASS:  # the rule is not how this lab does it
                rule_step = ServiceStep(
                    "kube-proxy rule", StepState.UNOBSERVED,
                    rule_step.text + ", yet the connect works (kube-proxy in ipvs or nftables "
                    "mode?)", rule_step.evidence,
                )  # fmt: skip
            else:
                self.steps.append(rule_step)
                self.add("connect", StepState.FAIL, connect)
                cause = (
                    f"no kube-proxy rule for {ip}:{port.port} on {node} (the sending node)"
                    if path is None or "PREROUTING" not in path.hooks
                    else f"kube-proxy's rule for {ip}:{port.port} on {node} DNATs to no ready "
                    "endpoint (not synced)"
                )
                return self.stop(svc, ref, port.port, cause)
        self.steps.append(rule_step)
        state = {Verdict.PASS: StepState.OK, Verdict.FAIL: StepState.FAIL}.get(
            to_service.verdict, StepState.UNOBSERVED
        )
        self.add("connect", state, connect)
        return await self._endpoint(svc, ref, port, path, to_service)

    async def _endpoint(
        self, svc: KubeService, ref: ServiceRef, port: ServicePort, path: ServicePath | None,
        to_service: TcpProbe,
    ) -> ServiceTrace:  # fmt: skip
        tport = target_port(svc, port)
        ready = list(svc.ready)
        order = [t.rsplit(":", 1)[0] for t in path.targets] if path else []
        ready.sort(key=lambda e: (e.ip not in order, order.index(e.ip) if e.ip in order else 0))
        if to_service.verdict is Verdict.FAIL:
            self.report(Progress(f"connecting to the {len(ready)} endpoints directly"))
            direct = await asyncio.gather(*(self._connect(e.ip, tport) for e in ready))
            lines = [f"to {_endpoint_text(e)}:{tport}: {_connect_text(p)}"
                     for e, p in zip(ready, direct, strict=True)]  # fmt: skip
            dead = [(e, p) for e, p in zip(ready, direct, strict=True) if p.verdict is Verdict.FAIL]
            if not dead:
                cause = (
                    f"ClusterIP {svc.cluster_ip}:{port.port} did not connect ({to_service.error}) "
                    "though its endpoints answer"
                )
                self.add("endpoint", StepState.OK, "every ready endpoint answers directly", lines)
                return self.stop(svc, ref, port.port, cause)
            dead.sort(key=lambda d: d[0].pod is None)  # a pod's path can be traced on
            chosen, probe = dead[0]
            text = f"endpoint unreachable: {(chosen.pod or chosen.ip)} ({probe.error})"
            self.add("endpoint", StepState.FAIL, text, lines)
            if chosen.pod is None:
                self.steps[-1] = dataclasses.replace(
                    self.steps[-1], evidence=(*lines, f"{chosen.ip} is no pod: {NO_POD}")
                )
                return self.stop(svc, ref, port.port, text)
            return self._handover(svc, port, chosen, text)
        others = [e for e in ready if e.ip != self.src.ip]  # not back to itself (hairpin)
        if not others:
            self.add("endpoint", StepState.OK, f"the only endpoint is {self.src.key} itself: "
                     "no path between pods to trace")  # fmt: skip
            return self.stop(svc, ref, port.port, None)
        others.sort(key=lambda e: e.pod is None)  # pods first: their path can be traced
        away = [e for e in others if e.pod and e.node and e.node != self.src.node]
        chosen = (away or others)[0]
        if chosen.pod is None:
            self.add("endpoint", StepState.OK, f"{_endpoint_text(chosen)}:{tport}: {NO_POD}")
            return self.stop(svc, ref, port.port, None)
        why = (
            "kube-proxy picks one at random for each connection; traced: one on another node"
            if away
            else "kube-proxy picks one at random for each connection"
        )
        self.add("endpoint", StepState.OK, f"{_endpoint_text(chosen)}:{tport}: {why}")
        return self._handover(svc, port, chosen, None)

    def _handover(
        self, svc: KubeService, port: ServicePort, chosen: ServiceEndpoint, cause: str | None
    ) -> ServiceTrace:
        return ServiceTrace(svc.key, svc.cluster_ip, port.port, tuple(self.steps), cause,
                            chosen.pod or chosen.ip, chosen.ip)  # fmt: skip
