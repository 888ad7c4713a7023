"""The demo cluster's DNS, as CoreDNS answers it behind the kube-dns Service, and the
LabBackend calls of the DNS check, mixed into DemoBackend (docs/dns.md).

A pod resolves with its image's getent (nginx has libc's) and the resolv.conf the kubelet
wrote: libc asks for each name of the search list in turn, through the kube-dns ClusterIP,
which kube-proxy sends to a ready coredns pod; the query crosses the fabric where an echo to
that pod would. CoreDNS answers `<svc>.<ns>.svc.cluster.local` with the ClusterIP and
NXDOMAIN for the rest of the zone. The fault `dns-down` is CoreDNS scaled to 0
(`kubectl -n kube-system scale deployment coredns --replicas=0`): the pods go, the Service
has no endpoints, kube-proxy has no rule, and every lookup times out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fabrictui import audit
from fabrictui.backends.base import BackendError
from fabrictui.backends.demo.kube import KubeSim
from fabrictui.backends.demo.services.table import ServiceTable
from fabrictui.constants import CLUSTER_DOMAIN, cluster_resolv_conf
from fabrictui.model import DnsLookup, KubePod
from fabrictui.parsers import ParseError
from fabrictui.parsers.dns import parse_resolv_conf
from fabrictui.parsers.ping import parse_ping_output

if TYPE_CHECKING:
    from fabrictui.backends.demo.traffic import Traffic

COREDNS = "coredns"
COREDNS_REPLICAS = 2  # kubeadm's
NO_ADDRESS = "no address (getent: not found)"  # as the real probe words getent's exit 2


def scale_coredns(kube: KubeSim, replicas: int, t: float) -> None:
    """The coredns Deployment scaled: its pods terminate, or new ones are scheduled."""
    pods = [
        p
        for p in kube.pods.values()
        if p.namespace == "kube-system" and p.owner == COREDNS and not p.terminating
    ]
    for pod in pods[replicas:]:
        kube._terminate(pod, t)
    template = kube.names.template_hash(COREDNS)
    for _ in range(replicas - len(pods)):
        kube._add_pod("kube-system", f"coredns-{template}-{kube.names.suffix(COREDNS)}", COREDNS,
                      t, labels=(("k8s-app", "kube-dns"),), tolerates_master=False)  # fmt: skip
    kube._schedule_pending(t)


class DemoDnsCalls:
    service_table: ServiceTable
    kube: KubeSim
    traffic: Traffic

    if TYPE_CHECKING:  # DemoBackend's

        def _ensure_driver(self) -> None: ...

        def _now(self) -> float: ...

    async def pod_resolv_conf(self, pod: KubePod) -> str:
        self._ensure_driver()
        self._now()
        rec = self.kube.pod(pod.namespace, pod.name)
        if rec.host_network:  # dnsPolicy ClusterFirst on the host network: the node's own
            raise BackendError(f"{pod.key} uses its node's resolv.conf (host network)")
        return cluster_resolv_conf(pod.namespace)

    async def resolve(self, pod: KubePod, name: str, timeout: float) -> DnsLookup:
        self._ensure_driver()
        self._now()
        audit.record_call(f"demo: exec in {pod.key}: timeout {timeout:g} getent hosts {name}")
        rec = self.kube.pod(pod.namespace, pod.name)
        if rec.status != "Running" or rec.ip is None:
            raise BackendError(f"cannot exec in {pod.key}: pod is {rec.status}")
        try:
            resolv = parse_resolv_conf(await self.pod_resolv_conf(pod))
        except ParseError as err:
            raise BackendError(str(err)) from None
        timed_out = DnsLookup(pod.key, name, elapsed_ms=timeout * 1000, error="timed out",
                              via="pod")  # fmt: skip
        dns = self.service_table.by_ip(resolv.nameservers[0]) if resolv.nameservers else None
        ready = [e for e in dns.ready if e.pod is not None] if dns is not None else []
        if not ready:  # no DNAT on the node: the query goes nowhere
            return timed_out
        # kube-proxy picks at random; the demo picks by the source, steadily
        server = ready[sum(map(ord, pod.key)) % len(ready)]
        text = await self.traffic.run_ping(rec, server.ip, 1, timeout, 56)
        try:
            stats = parse_ping_output(text)
        except ParseError as err:
            raise BackendError(f"lookup from {pod.key}: {err}") from None
        if not stats.received:
            return timed_out
        zone = {
            f"{s.name}.{s.namespace}.svc.{CLUSTER_DOMAIN}": s.cluster_ip
            for s in self.service_table.services()
            if s.cluster_ip
        }
        asked = resolv.candidates(name)
        took = (stats.rtt_avg_ms or 0.5) * len(asked)  # one round trip a name asked
        for candidate in asked:
            if candidate in zone:
                index = asked.index(candidate) + 1
                return DnsLookup(pod.key, name, (zone[candidate],), candidate,
                                 (stats.rtt_avg_ms or 0.5) * index, via="pod")  # fmt: skip
        return DnsLookup(pod.key, name, elapsed_ms=took, error=NO_ADDRESS, via="pod")
