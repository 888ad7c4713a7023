"""A cluster named by its kubeconfig alone (`--kubeconfig FILE`, `--context`, KUBECONFIG).

fabrictui runs on what it can reach: the Kubernetes API (nodes, pods, Calico, probes
from pods). No inventory was given, so there are no switches to read and no SSH to
the nodes: the fabric panes and checks say so ("not observed") and how to add one,
rather than failing or guessing. The nodes stand in for the host list, racks read
from their names as for Vagrant machines (`-l1-`), so rack-aware checks still run.

With `--jump HOST` the API is reached through that host (an `ssh -L` forward, TLS still
checking the server's own name), as a cluster behind a bastion is: the server is asked
whether it answers through the tunnel, before anything else runs.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlparse

import yaml

from fabrictui import deadlines
from fabrictui.backends.base import BackendError, CaptureStream
from fabrictui.backends.real.backend import RealLabBackend
from fabrictui.backends.real.inventory import HostMeta, Inventory, rack_from_name, role_from_name
from fabrictui.backends.real.kube.client import KubeClient
from fabrictui.backends.real.kube.precheck import ANSWER_SECONDS, KubeTarget, server_silence
from fabrictui.backends.real.ssh import SshPool
from fabrictui.backends.real.ssh.target import parse_jump
from fabrictui.model import Host, KubeNode, LabInfo, Role, VmState

NO_INVENTORY = (
    "no switch inventory was given, so the fabric is not observed; to add one, pass "
    "--lab DIR (a Vagrant project or rehearsal lab) or --lab FILE.toml (an inventory, "
    "docs/real-labs.md) with this --kubeconfig"
)


def _role(node: KubeNode) -> Role:
    if {"control-plane", "master"} & set(node.roles):
        return Role.MASTER
    named = role_from_name(node.name)
    return named if named is Role.MASTER else Role.WORKER


class KubeconfigLabBackend(RealLabBackend):
    """A real lab with a cluster and nothing else known about it."""

    target: KubeTarget

    @classmethod
    def for_kubeconfig(cls, target: KubeTarget, jump: str | None = None) -> KubeconfigLabBackend:
        root = target.path.parent
        # the jump host is the pool's one target: the API's way in, not a lab host
        hops = {f"--jump {jump}": parse_jump(jump, name=f"--jump {jump}")} if jump else {}
        inventory = Inventory(
            name=target.context,
            kind="kubeconfig",
            root=root,
            hosts=(),
            targets={},
            kubeconfig=target.path,
        )
        backend = cls(
            kind="kubeconfig",
            name=target.context,
            root=root,
            pool=SshPool(hops),
            kube=KubeClient(target.path, target.context),
            inventory=inventory,
            jump=jump,
        )
        backend.source = str(target.path)
        backend.target = target
        return backend

    async def start(self) -> None:
        await super().start()
        await self._ensure_kube()  # through --jump: does the server answer? (else exit 2)

    async def _ensure_kube(self) -> None:
        """Dialled as the kubeconfig says; with --jump, through a forward on that host,
        opened again when its connection was lost."""
        if self.jump is None:
            return
        via = f"--jump {self.jump}"
        async with self._kube_lock:
            if self._tunnel_alive(via):
                return
            text = await deadlines.in_thread(self.target.path.read_text, 5.0, "read kubeconfig")
            try:
                config = yaml.safe_load(text)
            except yaml.YAMLError:
                raise BackendError(f"{self.target.origin}: not valid YAML any more") from None
            await self._tunnel_api(via, config if isinstance(config, dict) else {})
            scheme = urlparse(self.target.server).scheme
            port = self._tunnel.get_port()

            def silence() -> str | None:
                return server_silence(scheme, "127.0.0.1", port, ANSWER_SECONDS)

            why = await deadlines.in_thread(silence, ANSWER_SECONDS + 2, "ask the API server")
            if why:
                self._tunnel.close()
                self._tunnel = None
                t = self.target
                raise BackendError(
                    f"{t.origin}: context {t.context!r}: server {t.server} {why} (through {via})"
                )

    def info(self) -> LabInfo:
        return dataclasses.replace(
            super().info(), source=self.source, not_observed=NO_INVENTORY, hint=NO_INVENTORY
        )

    async def list_hosts(self) -> list[Host]:
        """The cluster's nodes: the only hosts this lab knows of."""
        nodes = sorted(await self.list_nodes(), key=lambda n: n.name)
        self._metas = [
            HostMeta(n.name, _role(n), rack_from_name(n.name), n.internal_ip or None) for n in nodes
        ]
        return [
            Host(
                name=meta.name,
                role=meta.role,
                rack=meta.rack,
                # a node the API lists as Ready has a kubelet answering: the machine runs;
                # a NotReady one may be down or only lack its network plugin
                state=VmState.RUNNING if node.ready else VmState.UNKNOWN,
                provider="kubernetes",
                ssh_endpoint="",
                address=meta.address,
            )
            for meta, node in zip(self._metas, nodes, strict=True)
        ]

    async def open_capture(
        self, node: str, interface: str = "eth0", bpf: str | None = None
    ) -> CaptureStream:
        raise BackendError(f"cannot capture on {node} {interface}: {NO_INVENTORY}")

    async def open_trace_capture(self, host: str, interface: str, bpf: str) -> CaptureStream:
        raise BackendError(f"cannot capture on {host} {interface}: {NO_INVENTORY}")
