"""BGP mode in the lab cluster: what calico-node does with Calico's BGP objects.

It follows `calico-config`'s `calico_backend`, the IPPool's `vxlanMode`, the BGPPeers,
the BGPConfiguration and the nodes' `projectcalico.org/ASNumber`, and realizes them:

- `calico_backend: bird`: a real BIRD 1.6 in each node's namespace whose calico-node runs
  (`fabrictui.lab.bird`), its peers as calico-node's confd would render them (a BGPPeer
  selecting the node: `Node_<ip>`; one for every node: `Global_<ip>`; the node-to-node
  mesh while `nodeToNodeMeshEnabled` is not false: `Mesh_<ip>`); a changed configuration
  is reloaded (`birdc configure`); another backend stops every BIRD and removes its files;
- `vxlanMode: Never`: the nodes' routes to the other blocks through `vxlan.calico` go, so
  pod traffic follows the node's default route to its leaf, as plain IP; `Always` (or
  CrossSubnet) puts them back.

Changes are applied by one task at a time, in the order they were asked for. With the
memory data plane (no namespaces) nothing is started: the state is only followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import re
import shutil
import signal
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fabrictui.constants import CALICO_CRD_GROUP
from fabrictui.lab import bird
from fabrictui.lab.calico_dataplane import DataplaneError, LinuxDataplane, NodeNet, run
from fabrictui.lab.kubeapi.controllers.parts import Reconciler

if TYPE_CHECKING:
    from fabrictui.lab.kubeapi.controllers.parts import ClusterParts
    from fabrictui.lab.kubeapi.store import Event

log = logging.getLogger(__name__)
Obj = dict[str, Any]

IPPOOLS = f"ippools.{CALICO_CRD_GROUP}"
BGPPEERS = f"bgppeers.{CALICO_CRD_GROUP}"
BGPCONFIGS = f"bgpconfigurations.{CALICO_CRD_GROUP}"
WATCHED = {IPPOOLS, BGPPEERS, BGPCONFIGS, "configmaps", "nodes"}
ASN_ANNOTATION = "projectcalico.org/ASNumber"
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")


def selects(selector: str, labels: Mapping[str, str]) -> bool:
    """The part of Calico's selector language BGPPeers use: `all()`, `has(k)`,
    `k == 'v'`, `k != 'v'`, `k in {'a', 'b'}`, `k not in {...}`, joined by `&&`."""
    for term in (t.strip() for t in selector.split("&&")):
        if not term or term == "all()":
            continue
        has = re.fullmatch(r"(!)?\s*has\(\s*([\w./-]+)\s*\)", term)
        if has:
            if (has.group(2) in labels) == bool(has.group(1)):
                return False
            continue
        match = re.fullmatch(r"([\w./-]+)\s*(==|!=|not in|in)\s*(.+)", term)
        if not match:
            return False  # a selector this lab cannot read selects nothing
        key, op, rest = match.groups()
        values = {a or b for a, b in _QUOTED.findall(rest)}
        value = labels.get(key)
        ok = {
            "==": value in values,
            "!=": value not in values,
            "in": value in values,
            "not in": value not in values,
        }[op]
        if not ok:
            return False
    return True


class BgpMode(Reconciler):
    what = "BGP mode"

    def __init__(self, cluster: ClusterParts) -> None:
        super().__init__()
        self.cluster = cluster
        self.wanted: dict[str, bird.NodeBird] = {}  # node -> the BIRD it runs now
        self.native = False  # the pool does not encapsulate
        self.realize = isinstance(cluster.dataplane, LinuxDataplane)

    def on_event(self, event: Event) -> None:
        if event.key in WATCHED:
            self.kick()

    # -- what the objects say ---------------------------------------------------------------

    def _store(self, key: str) -> list[Obj]:
        if key not in self.cluster.registry.types and key not in ("configmaps", "nodes"):
            return []
        return self.cluster.store.list(key)

    def backend(self) -> str:
        cm = self.cluster.store.get("configmaps", "kube-system", "calico-config") or {}
        return str((cm.get("data") or {}).get("calico_backend", "vxlan"))

    def pool_native(self) -> bool:
        pools = self._store(IPPOOLS)
        return bool(pools) and all(
            str((p.get("spec") or {}).get("vxlanMode", "Never")) == "Never"
            and str((p.get("spec") or {}).get("ipipMode", "Never")) == "Never"
            for p in pools
        )

    def _config(self) -> tuple[bool, int]:
        conf = next((c for c in self._store(BGPCONFIGS) if c["metadata"]["name"] == "default"), {})
        spec = conf.get("spec") or {}
        return spec.get("nodeToNodeMeshEnabled", True) is not False, int(
            spec.get("asNumber") or bird.DEFAULT_AS
        )

    def desired(self) -> dict[str, bird.NodeBird]:
        if self.backend() != "bird":
            return {}
        mesh, default_as = self._config()
        nodes = {n["metadata"]["name"]: n for n in self._store("nodes")}
        built: dict[str, NodeNet] = dict(self.cluster.calico.nodes)

        def asn(name: str) -> int:
            annotations = nodes.get(name, {}).get("metadata", {}).get("annotations") or {}
            value = str(annotations.get(ASN_ANNOTATION, "")).strip()
            return int(value) if value.isdigit() else default_as

        out: dict[str, bird.NodeBird] = {}
        for name, net in built.items():
            labels = nodes.get(name, {}).get("metadata", {}).get("labels") or {}
            peers: list[bird.BirdPeer] = []
            for peer in self._store(BGPPEERS):
                spec = peer.get("spec") or {}
                node, selector = spec.get("node"), spec.get("nodeSelector")
                if (node and node != name) or (selector and not selects(str(selector), labels)):
                    continue
                kind = "Node" if node or selector else "Global"
                with contextlib.suppress(ValueError, TypeError):
                    address = str(ipaddress.ip_address(str(spec.get("peerIP"))))
                    peers.append(bird.BirdPeer(kind, address, int(spec.get("asNumber"))))
            if mesh:
                peers += [
                    bird.BirdPeer("Mesh", other.ip, asn(other_name))
                    for other_name, other in sorted(built.items())
                    if other_name != name
                ]
            out[name] = bird.NodeBird(
                name, net.netns or "", net.ip, asn(name), (net.block,), tuple(peers)
            )
        return out

    # -- making it so ----------------------------------------------------------------------------

    async def reconcile(self) -> None:
        wanted = self.desired()
        if self.realize:
            for name in sorted(set(self.wanted) - set(wanted)):
                await self._stop(self.wanted[name].netns)
            for name, conf in sorted(wanted.items()):
                if self.wanted.get(name) != conf:
                    await self._start_or_reload(conf)
        self.wanted = wanted
        native = self.pool_native()
        if native != self.native:
            if self.realize:
                await self._routes(native)
            self.native = native
            log.info("BGP mode: pool %s", "native (no encapsulation)" if native else "VXLAN")

    async def _start_or_reload(self, conf: bird.NodeBird) -> None:
        directory = bird.bird_dir(conf.netns)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "bird.conf").write_text(bird.render_bird_conf(conf))
        try:
            if bird.socket_path(conf.netns).exists() and self._pid(conf.netns):
                await run(bird.reconfigure_argv(conf.netns))
            else:
                await run(bird.start_argv(conf.netns))
            log.info("BGP mode: BIRD on %s with %d peers", conf.node, len(conf.peers))
        except DataplaneError as exc:
            log.warning("BGP mode: BIRD on %s: %s", conf.node, exc)

    def _pid(self, netns: str) -> int | None:
        try:
            pid = int((bird.bird_dir(netns) / "bird.pid").read_text().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    async def _stop(self, netns: str) -> None:
        pid = self._pid(netns)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            for _ in range(40):
                await asyncio.sleep(0.05)
                if self._pid(netns) is None:
                    break
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(bird.bird_dir(netns), ignore_errors=True)

    async def _routes(self, native: bool) -> None:
        """Native: no route to another block through vxlan.calico; else put them back."""
        nodes = dict(self.cluster.calico.nodes)
        dataplane = self.cluster.dataplane
        for name, net in nodes.items():
            peers = [p for n, p in nodes.items() if n != name]
            try:
                if not native:
                    await dataplane.set_peers(net, peers)
                    continue
                lines = "".join(f"route del {p.block} dev vxlan.calico\n" for p in peers)
                if lines and net.netns:
                    await run(["ip", "-n", net.netns, "-force", "-batch", "-"], lines)
            except DataplaneError as exc:
                log.warning("BGP mode: routes on %s: %s", name, exc)

    async def stop(self) -> None:
        await self.stop_reconciling()
        if self.realize:
            for conf in self.wanted.values():
                await self._stop(conf.netns)
        self.wanted = {}
