"""Network policy in the lab cluster: what Felix does with NetworkPolicy (and Calico's
NetworkPolicy and GlobalNetworkPolicy, once their CRDs are applied): the rules of
`fabrictui.lab.policy_filter`, written into each node's namespace with `iptables-restore
--noflush`, kept in step with the policies, the pods and the namespaces.

A node's chains are rewritten only when its rules change (a rewrite zeroes the counters
that show what policy dropped); chains of ours that are no longer needed are flushed and
deleted, and a node where no policy selects a pod holds nothing of ours (no jump, no
conntrack match). With the memory data plane nothing is written: the rules are only computed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fabrictui.constants import CALICO_CRD_GROUP
from fabrictui.lab.calico_dataplane import DataplaneError, LinuxDataplane, run, veth_name
from fabrictui.lab.kubeapi.controllers.parts import Reconciler
from fabrictui.lab.policy_filter import MAIN, PodView, Renderer, own_chains, restore_text
from fabrictui.parsers import ParseError
from fabrictui.parsers.netpolicy import Policy, calico_policy, kube_network_policy

if TYPE_CHECKING:
    from fabrictui.lab.kubeapi.controllers.parts import ClusterParts
    from fabrictui.lab.kubeapi.store import Event

log = logging.getLogger(__name__)
Obj = dict[str, Any]

NETPOLS = "networkpolicies.networking.k8s.io"
CALICO_NETPOLS = f"networkpolicies.{CALICO_CRD_GROUP}"
CALICO_GLOBAL = f"globalnetworkpolicies.{CALICO_CRD_GROUP}"
WATCHED = {NETPOLS, CALICO_NETPOLS, CALICO_GLOBAL, "pods", "namespaces"}


def _netns_argv(netns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", netns, *argv]


class PolicyFilter(Reconciler):
    what = "network policy"

    def __init__(self, cluster: ClusterParts) -> None:
        super().__init__()
        self.cluster = cluster
        self.applied: dict[str, list[str]] = {}  # node -> the lines written there
        self.realize = isinstance(cluster.dataplane, LinuxDataplane)

    def on_event(self, event: Event) -> None:
        if event.key in WATCHED:
            self.kick()

    async def stop(self) -> None:
        await self.stop_reconciling()

    # -- what the objects say -------------------------------------------------------------------

    def _list(self, key: str) -> list[Obj]:
        if key not in self.cluster.registry.types:
            return []  # a CRD not applied (yet): none of its objects
        return self.cluster.store.list(key)

    def policies(self) -> list[Policy]:
        out: list[Policy] = []
        sources = (
            (NETPOLS, kube_network_policy),
            (CALICO_NETPOLS, lambda o: calico_policy(o, False)),
            (CALICO_GLOBAL, lambda o: calico_policy(o, True)),
        )
        for key, parse in sources:
            for obj in self._list(key):
                try:
                    out.append(parse(obj))
                except ParseError as err:  # what Felix cannot read it does not render
                    log.warning("network policy: %s", err)
        return out

    def pods(self) -> list[PodView]:
        out = []
        for pod in self.cluster.store.list("pods"):
            meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
            ip, node = status.get("podIP"), spec.get("nodeName")
            if not ip or not node or spec.get("hostNetwork") or meta.get("deletionTimestamp"):
                continue
            ns, name = meta.get("namespace", "default"), meta["name"]
            labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
            out.append(PodView(ns, name, labels, ip, node, veth_name(ns, name)))
        return out

    def desired(self) -> dict[str, list[str]]:
        spaces = {
            ns["metadata"]["name"]: {
                str(k): str(v) for k, v in (ns["metadata"].get("labels") or {}).items()
            }
            for ns in self.cluster.store.list("namespaces")
        }
        renderer = Renderer(self.pods(), self.policies(), spaces)
        return {name: renderer.node(name) for name in sorted(self.cluster.calico.nodes)}

    # -- making it so ---------------------------------------------------------------------------

    async def reconcile(self) -> None:
        wanted = self.desired()
        for name, lines in wanted.items():
            if self.applied.get(name, []) == lines:
                continue
            net = self.cluster.calico.nodes.get(name)
            if self.realize and net is not None and net.netns:
                try:
                    await self._write(net.netns, lines)
                except DataplaneError as exc:
                    log.warning("network policy: %s: %s", name, exc)
                    continue
            self.applied[name] = lines

    async def _write(self, netns: str, lines: list[str]) -> None:
        before = own_chains(await run(_netns_argv(netns, "iptables-save", "-t", "filter")))
        if lines:
            await run(_netns_argv(netns, "iptables-restore", "--noflush"), restore_text(lines))
            try:
                await run(_netns_argv(netns, "iptables", "-C", "FORWARD", "-j", MAIN))
            except DataplaneError:
                await run(_netns_argv(netns, "iptables", "-I", "FORWARD", "1", "-j", MAIN))
        elif MAIN in before:  # nothing selected here any more: the jump goes first
            await run(_netns_argv(netns, "iptables", "-D", "FORWARD", "-j", MAIN))
        kept = {line[1:].split()[0] for line in lines if line.startswith(":")}
        for chain in [c for c in before if c not in kept]:
            await run(_netns_argv(netns, "iptables", "-F", chain))
        for chain in [c for c in before if c not in kept]:
            await run(_netns_argv(netns, "iptables", "-X", chain))
        log.info("network policy: %s: %d filter rules", netns, len(lines))
