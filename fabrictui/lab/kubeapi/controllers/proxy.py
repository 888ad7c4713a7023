"""kube-proxy in iptables mode, on every node of the rehearsal lab: each Service
ClusterIP:port gets, in the node's network namespace's nat table,

    -A KUBE-SERVICES -d CLUSTERIP/32 -p tcp -m comment --comment "ns/name:port"
       -m tcp --dport PORT -j KUBE-SVC-<hash>
    -A KUBE-SVC-<hash> -m statistic --mode random --probability 1/n -j KUBE-SEP-<hash>
    ...                                   (the last endpoint without a probability)
    -A KUBE-SEP-<hash> -s ENDPOINT/32 -j KUBE-MARK-MASQ      (a pod reaching itself)
    -A KUBE-SEP-<hash> -p tcp -m tcp -j DNAT --to-destination ENDPOINT:TARGETPORT

with PREROUTING and OUTPUT jumping to KUBE-SERVICES and POSTROUTING masquerading what
KUBE-MARK-MASQ marked. A Service port without ready endpoints gets, as kube-proxy 1.15
writes it, a REJECT in the filter table's own KUBE-SERVICES chain (reached from INPUT,
FORWARD and OUTPUT for new connections), so a connect is refused at once:

    -A KUBE-SERVICES -d CLUSTERIP/32 -p tcp -m comment --comment "ns/name:port has no
       endpoints" -m tcp --dport PORT -j REJECT --reject-with icmp-port-unreachable

Chains are named as kube-proxy names them (16 characters of base32 of SHA-256). The
rules are written with `iptables-restore --noflush` (declaring a chain flushes
it; chains no longer wanted are deleted), only when the ready endpoints or the Services
changed, so a rule removed by hand stays removed until the next change (a real kube-proxy
also resyncs every 30 s; docs/rehearsal-lab-kubeapi.md). The nat table is this module's
alone; in the filter table it has only its KUBE-SERVICES chain (the rest belongs to the
policy rules). The rules go with the node's network namespace at `lab down`."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
from typing import Any

from fabrictui.lab.kubeapi.controllers.parts import ClusterParts
from fabrictui.lab.kubeapi.objects import name_of, ns_of

log = logging.getLogger(__name__)
Obj = dict[str, Any]
# the jumps into kube-proxy's chains, as kube-proxy's comments word them
HOOKS = (
    ("PREROUTING", "KUBE-SERVICES", "kubernetes service portals"),
    ("OUTPUT", "KUBE-SERVICES", "kubernetes service portals"),
    ("POSTROUTING", "KUBE-POSTROUTING", "kubernetes postrouting rules"),
)
# the filter table's jumps to its KUBE-SERVICES (the REJECTs): new connections only
FILTER_HOOKS = ("INPUT", "FORWARD", "OUTPUT")
FILTER_MATCH = ["-m", "conntrack", "--ctstate", "NEW"]
MASQ_MARK = "0x4000/0x4000"
Rules = tuple[list[str], list[str]]  # chains, rule lines
Wanted = tuple[list[str], list[str], list[str]]  # nat chains, nat rules, filter rules


def _hash(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


def svc_chain(port_name: str, protocol: str) -> str:
    return "KUBE-SVC-" + _hash(port_name + protocol.lower())


def sep_chain(port_name: str, protocol: str, endpoint: str) -> str:
    return "KUBE-SEP-" + _hash(port_name + protocol.lower() + endpoint)


def _ready(endpoints: Obj | None, port_name: str) -> list[str]:
    """ip:port of the ready addresses serving the Service port named `port_name`."""
    found: list[str] = []
    for subset in (endpoints or {}).get("subsets") or []:
        port = next(
            (p for p in subset.get("ports") or [] if (p.get("name") or "") == port_name), None
        )
        if port is None:
            continue
        found += [f"{a['ip']}:{port['port']}" for a in subset.get("addresses") or []]
    return sorted(found)


def render(services: list[Obj], endpoints: dict[tuple[str, str], Obj]) -> Rules:
    """The chains kube-proxy keeps and the `iptables-restore` rule lines of them."""
    chains = ["KUBE-SERVICES", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"]
    rules = [
        f"-A KUBE-MARK-MASQ -j MARK --set-xmark {MASQ_MARK}",
        f'-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT"'
        f" -m mark --mark {MASQ_MARK} -j MASQUERADE",
    ]
    for svc in sorted(services, key=lambda s: (ns_of(s), name_of(s))):
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == "None":
            continue
        eps = endpoints.get((ns_of(svc), name_of(svc)))
        for port in spec.get("ports") or []:
            pname = f"{ns_of(svc)}/{name_of(svc)}:{port.get('name') or ''}"
            proto = str(port.get("protocol") or "TCP").lower()
            ready = _ready(eps, port.get("name") or "")
            if not ready:
                continue  # kube-proxy REJECTs these in the filter table, not the lab's
            chain = svc_chain(pname, proto)
            chains.append(chain)
            rules.append(
                f'-A KUBE-SERVICES -d {ip}/32 -p {proto} -m comment --comment "{pname} cluster IP"'
                f" -m {proto} --dport {port['port']} -j {chain}"
            )
            for index, target in enumerate(ready):
                sep = sep_chain(pname, proto, target)
                chains.append(sep)
                left = len(ready) - index
                odds = f"--probability {1 / left:.11f} " if left > 1 else ""
                rules.append(
                    f"-A {chain} {'-m statistic --mode random ' if odds else ''}{odds}-j {sep}"
                )
                rules.append(f"-A {sep} -s {target.rsplit(':', 1)[0]}/32 -j KUBE-MARK-MASQ")
                rules.append(f"-A {sep} -p {proto} -m {proto} -j DNAT --to-destination {target}")
    return chains, rules


def render_rejects(services: list[Obj], endpoints: dict[tuple[str, str], Obj]) -> list[str]:
    """The filter table's REJECT for each Service port without a ready endpoint."""
    rules: list[str] = []
    for svc in sorted(services, key=lambda s: (ns_of(s), name_of(s))):
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == "None":
            continue
        eps = endpoints.get((ns_of(svc), name_of(svc)))
        for port in spec.get("ports") or []:
            if _ready(eps, port.get("name") or ""):
                continue
            pname = f"{ns_of(svc)}/{name_of(svc)}:{port.get('name') or ''}"
            proto = str(port.get("protocol") or "TCP").lower()
            rules.append(
                f'-A KUBE-SERVICES -d {ip}/32 -p {proto} -m comment --comment "{pname} has no '
                f'endpoints" -m {proto} --dport {port["port"]} -j REJECT '
                "--reject-with icmp-port-unreachable"
            )
    return rules


def filter_text(rejects: list[str]) -> str:
    """Declaring the chain flushes it: the REJECTs are exactly the Services without
    endpoints now."""
    return "\n".join(["*filter", ":KUBE-SERVICES - [0:0]", *rejects, "COMMIT", ""])


def restore_text(chains: list[str], rules: list[str], stale: list[str]) -> str:
    lines = ["*nat"] + [f":{c} - [0:0]" for c in [*chains, *stale]] + rules
    lines += [f"-X {c}" for c in stale]
    return "\n".join([*lines, "COMMIT", ""])


class ServiceProxy:
    def __init__(self, cluster: ClusterParts, iptables: str = "iptables") -> None:
        self.cluster = cluster
        self.iptables = iptables
        self.written: dict[str, Wanted] = {}  # node -> what was last written there
        self.wanted: Wanted = ([], [], [])
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def reconcile(self) -> None:
        """Compute the rules; write them to every node whose rules differ (in the background,
        one writer at a time)."""
        store = self.cluster.store
        eps = {(ns_of(e), name_of(e)): e for e in store.view("endpoints")}
        services = store.view("services")
        self.wanted = (*render(services, eps), render_rejects(services, eps))
        nodes = self.cluster.calico.nodes
        if all(self.written.get(n) == self.wanted for n, net in nodes.items() if net.netns):
            return
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._sync())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _sync(self) -> None:
        while True:
            self._again = False
            wanted = self.wanted
            for name, net in list(self.cluster.calico.nodes.items()):
                if not net.netns or self.written.get(name) == wanted:
                    continue
                try:
                    await self._write(net.netns, wanted, self.written.get(name, ([], [], []))[0])
                    self.written[name] = wanted
                except Exception as err:  # the next change tries again
                    log.warning("kube-proxy rules on %s: %s", name, err)
            if not self._again:
                return

    async def _write(self, netns: str, wanted: Wanted, had: list[str]) -> None:
        chains, rules, rejects = wanted
        stale = [c for c in had if c not in chains]
        await self._run(netns, [f"{self.iptables}-restore", "--noflush"],
                        restore_text(chains, rules, stale))  # fmt: skip
        await self._run(netns, [f"{self.iptables}-restore", "--noflush"], filter_text(rejects))
        for hook in FILTER_HOOKS:
            rule = [*FILTER_MATCH, "-m", "comment", "--comment", "kubernetes service portals",
                    "-j", "KUBE-SERVICES"]  # fmt: skip
            try:
                await self._run(netns, [self.iptables, "-C", hook, *rule], None)
            except RuntimeError:
                await self._run(netns, [self.iptables, "-A", hook, *rule], None)
        for hook, target, comment in HOOKS:
            rule = ["-t", "nat", "-m", "comment", "--comment", comment, "-j", target]
            try:
                await self._run(netns, [self.iptables, "-C", hook, *rule[2:]], None, rule[:2])
            except RuntimeError:
                await self._run(netns, [self.iptables, "-I", hook, *rule[2:]], None, rule[:2])

    async def _run(
        self, netns: str, argv: list[str], stdin: str | None, table: list[str] | None = None
    ) -> None:
        full = [argv[0], *(table or []), *argv[1:]]
        proc = await self.cluster.dataplane.spawn(netns, full, stdin=stdin is not None)
        _, err = await proc.communicate(stdin.encode() if stdin is not None else None)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(full[:4])}: {err.decode(errors='replace').strip()}")
