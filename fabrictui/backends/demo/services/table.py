"""The demo cluster's Services, kept as kube-controller-manager and kube-proxy keep them.

`default/kubernetes` (the API server, no selector) and each workload's Service (selector
`app=<label>`, port 80). Endpoints are the Running pods the selector matches, ready when
their containers are; a ClusterIP connect goes to a ready endpoint as kube-proxy's DNAT
would, and a Service without endpoints refuses (kube-proxy's REJECT). The fault
`service-no-endpoints:<ns>/<name>` changes the selector to one no pod has, as a typo in a
manifest would; `drop-service-rule:<node>` deletes the node's KUBE-SERVICES rule for the
workload Service's ClusterIP, so connects from that node's pods to it time out."""

from __future__ import annotations

import hashlib
import ipaddress

from fabrictui.backends.base import BackendError, DemoWorkload, NotFound
from fabrictui.backends.demo import topology as topo
from fabrictui.backends.demo.kube import KubeSim
from fabrictui.constants import CLUSTER_DNS_IP, SERVICE_FIRST_IP, SERVICE_RANGE
from fabrictui.model import KubeService, ServiceEndpoint, ServicePort

API_PORT = 6443
BROKEN_SELECTOR = "nginx-typo"  # the label value the no-endpoints fault selects


def cluster_ip(namespace: str, name: str) -> str:
    """A stable ClusterIP of the service range for `namespace/name` (.1 is kubernetes')."""
    net = ipaddress.ip_network(SERVICE_RANGE)
    digest = int.from_bytes(hashlib.sha256(f"{namespace}/{name}".encode()).digest()[:4], "big")
    return str(net.network_address + 16 + digest % (net.num_addresses - 32))


class ServiceTable:
    def __init__(self, kube: KubeSim, workload: DemoWorkload | None = None) -> None:
        self.kube = kube
        self.workload = workload or DemoWorkload()
        self.broken: set[str] = set()  # namespace/name whose selector no pod matches
        self.dropped: set[str] = set()  # nodes whose rule for the workload Service was deleted

    def services(self, namespace: str | None = None) -> list[KubeService]:
        found = [self._kubernetes(), self._kube_dns()]
        wl = self.workload
        for ns, name in sorted(self.kube.services):
            label = wl.app_label
            if f"{ns}/{name}" in self.broken:
                label = BROKEN_SELECTOR
            found.append(self._selecting(ns, name, (("app", label),)))
        return [s for s in found if namespace is None or s.namespace == namespace]

    def _kubernetes(self) -> KubeService:
        master = next(n for n in topo.NODES if n.role.value == "master")
        return KubeService(
            "default", "kubernetes", "ClusterIP", SERVICE_FIRST_IP,
            (ServicePort("https", 443, "TCP", str(API_PORT)),), (),
            (ServiceEndpoint(master.ip, True),), (API_PORT,),
        )  # fmt: skip

    def _kube_dns(self) -> KubeService:
        """kubeadm's cluster DNS Service, selecting the coredns pods (docs/dns.md)."""
        ports = (ServicePort("dns", 53, "UDP", "53"), ServicePort("dns-tcp", 53, "TCP", "53"),
                 ServicePort("metrics", 9153, "TCP", "9153"))  # fmt: skip
        return self._selecting("kube-system", "kube-dns", (("k8s-app", "kube-dns"),), ports,
                               CLUSTER_DNS_IP)  # fmt: skip

    def _selecting(
        self,
        ns: str,
        name: str,
        selector: tuple[tuple[str, str], ...],
        ports: tuple[ServicePort, ...] = (ServicePort("", 80, "TCP", "80"),),
        ip: str | None = None,
    ) -> KubeService:
        wanted = dict(selector)
        endpoints = []
        for pod in sorted(self.kube.pods.values(), key=lambda p: p.key):
            labels = dict(pod.labels)
            if pod.namespace != ns or pod.terminating or pod.ip is None or pod.host_network:
                continue
            if all(labels.get(k) == v for k, v in wanted.items()):
                ready = pod.status == "Running" and pod.ready
                endpoints.append(ServiceEndpoint(pod.ip, ready, pod.key, pod.node))
        served = tuple(sorted({int(p.target_port) for p in ports})) if endpoints else ()
        return KubeService(
            ns, name, "ClusterIP", ip or cluster_ip(ns, name), ports, selector,
            tuple(endpoints), served,
        )  # fmt: skip

    def by_ip(self, ip: str) -> KubeService | None:
        return next((s for s in self.services() if s.cluster_ip == ip), None)

    def set_broken(self, key: str, active: bool) -> None:
        ns, _, name = key.partition("/")
        if (ns, name) not in self.kube.services:
            raise NotFound(f'services "{name}" not found in namespace {ns}')
        (self.broken.add if active else self.broken.discard)(key)

    def rule_dropped(self, node: str | None, svc: KubeService) -> bool:
        """The drop-service-rule fault: `node` lost its KUBE-SERVICES rule for `svc`."""
        wl = self.workload
        return node in self.dropped and svc.key == f"{wl.namespace}/{wl.service}"

    def set_dropped(self, node: str, active: bool) -> None:
        if node not in topo.NODE_BY_NAME:
            raise NotFound(f"drop-service-rule: no node named {node!r}")
        (self.dropped.add if active else self.dropped.discard)(node)

    def nat_table(self, node: str) -> str:
        """`iptables-save -t nat` of a node, as kube-proxy's iptables mode writes it: per
        Service port with ready endpoints a KUBE-SVC- chain, a KUBE-SEP- chain per endpoint
        picked with the statistic module's odds, and its DNAT."""
        if node not in topo.NODE_BY_NAME:
            raise BackendError(f"{node}: no nat table (not a Kubernetes node)")
        chains = ["KUBE-SERVICES", "KUBE-MARK-MASQ"]
        rules = [
            '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
            '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
            "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
        ]
        for svc in self.services():
            ready = list(svc.ready)
            for port in svc.ports:
                if not ready:
                    continue  # kube-proxy REJECTs it in the filter table
                proto = port.protocol.lower()
                chain = service_chain(svc, port)
                chains.append(chain)
                if not self.rule_dropped(node, svc):
                    rules.append(
                        f"-A KUBE-SERVICES -d {svc.cluster_ip}/32 -p {proto} -m comment"
                        f' --comment "{svc.key}:{port.name} cluster IP" -m {proto}'
                        f" --dport {port.port} -j {chain}"
                    )
                target = port.target_port if port.target_port.isdigit() else str(port.port)
                for index, ep in enumerate(ready):
                    sep = "KUBE-SEP-" + chain[len("KUBE-SVC-") :][:8] + f"{index:08X}"
                    chains.append(sep)
                    left = len(ready) - index
                    odds = (
                        f"-m statistic --mode random --probability {1 / left:.11f} "
                        if left > 1
                        else ""
                    )
                    rules += [
                        f"-A {chain} {odds}-j {sep}",
                        f"-A {sep} -s {ep.ip}/32 -j KUBE-MARK-MASQ",
                        f"-A {sep} -p {proto} -m {proto} -j DNAT --to-destination {ep.ip}:{target}",
                    ]
        head = ["*nat", ":PREROUTING ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
        return "\n".join([*head, *(f":{c} - [0:0]" for c in chains), *rules, "COMMIT", ""])


def service_chain(svc: KubeService, port: ServicePort) -> str:
    """KUBE-SVC- and 16 characters of a hash of the service port, as kube-proxy names it."""
    text = f"{svc.key}:{port.name}{port.protocol.lower()}"
    return "KUBE-SVC-" + hashlib.sha256(text.encode()).hexdigest()[:16].upper()
