"""The LabBackend calls of Services for the demo lab, mixed into DemoBackend (which owns
the table, the cluster and the traffic they read)."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from fabrictui import audit
from fabrictui.backends.base import BackendError
from fabrictui.backends.demo import topology as topo
from fabrictui.backends.demo.services.table import API_PORT, ServiceTable
from fabrictui.model import KubePod, KubeService, TcpProbe
from fabrictui.parsers import ParseError
from fabrictui.parsers.ping import parse_ping_output

if TYPE_CHECKING:
    from fabrictui.backends.demo.kube import KubeSim
    from fabrictui.backends.demo.traffic import Traffic


class DemoServiceCalls:
    service_table: ServiceTable
    kube: KubeSim
    traffic: Traffic

    if TYPE_CHECKING:  # DemoBackend's

        def _ensure_driver(self) -> None: ...

        def _now(self) -> float: ...

    async def list_services(self, namespace: str | None = None) -> list[KubeService]:
        self._ensure_driver()
        self._now()
        return self.service_table.services(namespace)

    async def probe_tcp(self, pod: KubePod, ip: str, port: int, timeout: float) -> TcpProbe:
        """As the node-side probe of a real lab (nginx has no curl): the handshake crosses
        where an echo to the chosen endpoint would, and a Service without endpoints or a
        pod port nothing listens on refuses."""
        try:
            ipaddress.IPv4Address(ip)
        except ValueError:
            raise BackendError(f"tcp probe: {ip!r} is not an IPv4 address") from None
        self._ensure_driver()
        self._now()
        audit.record_call(f"demo: on {pod.node}: nsenter -t PID -n bash -c </dev/tcp/{ip}/{port}")
        rec = self.kube.pod(pod.namespace, pod.name)
        if rec.status != "Running" or rec.ip is None:
            raise BackendError(f"cannot enter {pod.key}'s network namespace: pod is {rec.status}")
        target = ip
        service = self.service_table.by_ip(ip)
        if service is not None:
            if self.service_table.rule_dropped(pod.node, service):  # no DNAT: nothing answers
                return TcpProbe(pod.key, ip, port, False, timeout * 1000, "timed out")
            ready = list(service.ready)
            if not ready or port not in {p.port for p in service.ports}:
                return TcpProbe(pod.key, ip, port, False, 0.2, "refused")
            # kube-proxy's DNAT picks at random; the demo picks by the source, steadily
            chosen = ready[sum(map(ord, pod.key)) % len(ready)]
            if chosen.pod is None:  # the API server on its host (`kubernetes`) answers
                return TcpProbe(pod.key, ip, port, True, 0.4)
            target = chosen.ip
        elif port == API_PORT and ip in {n.ip for n in topo.NODES if n.role.value == "master"}:
            return TcpProbe(pod.key, ip, port, True, 0.4)  # the API server, directly
        elif self.kube.pod_by_ip(ip) is None or port != 80:
            return TcpProbe(pod.key, ip, port, False, timeout * 1000, "timed out")
        text = await self.traffic.run_ping(rec, target, 1, timeout, 56)
        try:
            stats = parse_ping_output(text)
        except ParseError as err:
            raise BackendError(f"tcp probe from {pod.key}: {err}") from None
        if stats.received:
            return TcpProbe(pod.key, ip, port, True, stats.rtt_avg_ms)
        return TcpProbe(pod.key, ip, port, False, timeout * 1000, "timed out")
