"""A real lab: a Vagrant project, a rehearsal lab or a hand-written inventory.

`RealLabBackend` composes the pieces: hosts from Vagrant (or the inventory),
commands and captures over one `SshPool`, switch reads through
`SwitchReader`, and Kubernetes through `KubeClient`. Nothing here knows about
the UI; every method returns model objects or raises `BackendError`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from fabrictui import audit, deadlines
from fabrictui.backends.base import (
    DEFAULT_PING_SIZE,
    BackendError,
    CaptureStream,
    DemoWorkload,
    LabBackend,
    Unreachable,
)
from fabrictui.backends.real.bgp import BgpModeReal
from fabrictui.backends.real.bgp_detail import BgpDetailReal
from fabrictui.backends.real.capture import SshCapture, open_ssh_capture
from fabrictui.backends.real.faults import RehearsalFaults
from fabrictui.backends.real.inventory import HostMeta, Inventory
from fabrictui.backends.real.kube.client import KubeClient
from fabrictui.backends.real.kube.config import Secrets, resolve_kubeconfig
from fabrictui.backends.real.kube.drill import KubeDrillReal
from fabrictui.backends.real.kube.policies import read_policies
from fabrictui.backends.real.kube.services import list_services
from fabrictui.backends.real.probes.capture_point import CapturePoints
from fabrictui.backends.real.probes.dns import DnsProbeReal
from fabrictui.backends.real.probes.node import probe_by_any_method
from fabrictui.backends.real.probes.tcp import tcp_probe_by_any_method
from fabrictui.backends.real.prometheus.mixin import PrometheusTelemetry
from fabrictui.backends.real.ssh import HostKeyError, SshPool, SshTarget
from fabrictui.backends.real.switches import SwitchReader
from fabrictui.backends.real.trace import RemoteTrace
from fabrictui.backends.real.vagrant import VagrantLab
from fabrictui.backends.trace_ports import conventional_ports, inventory_ports
from fabrictui.constants import POD_POOL, VXLAN_PORT, VXLAN_VNI
from fabrictui.intent import labshape
from fabrictui.intent.labshape import LabShape
from fabrictui.model import (
    Host,
    KubeNode,
    KubePod,
    KubeService,
    LabInfo,
    PingResult,
    Role,
    SwitchReading,
    TcpProbe,
    VmState,
    WatchEvent,
)
from fabrictui.parsers.netpolicy import PolicyReading

log = logging.getLogger(__name__)

# Where a cluster's admin kubeconfig lives on its master (kubeadm), tried in order
# (with sudo), then the login user's own ~/.kube/config (without).
MASTER_KUBECONFIGS = ("/etc/kubernetes/admin.conf",)


def expected_sessions(metas: list[HostMeta]) -> tuple[tuple[str, str], ...]:
    """Every (leaf, spine) pair, by name: the eBGP sessions a healthy leaf-spine fabric has."""
    return labshape.expected_sessions(sorted(metas, key=lambda m: m.name))


def ssh_argv_for(target: SshTarget, jump: str | None = None) -> list[str]:
    """An interactive `ssh` reaching `target` with the same settings the pool uses."""
    argv = ["ssh", "-p", str(target.port)]
    for key in target.identity_files:
        argv += ["-i", key]
    if target.identities_only:
        argv += ["-o", "IdentitiesOnly=yes"]
    if target.check_host_key:
        argv += ["-o", "StrictHostKeyChecking=yes"]
        if target.known_hosts:
            argv += ["-o", "UserKnownHostsFile=" + " ".join(target.known_hosts)]
    else:  # the Vagrant-managed loopback forward, as Vagrant itself configures it
        argv += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    hop = target.proxy_jump or jump
    if hop:
        argv += ["-J", hop]
    argv.append(f"{target.user}@{target.host}" if target.user else target.host)
    return argv


class RealLabBackend(
    PrometheusTelemetry,
    KubeDrillReal,
    BgpModeReal,
    RehearsalFaults,
    DnsProbeReal,
    BgpDetailReal,
    LabBackend,
):
    source = ""  # the directory or file the lab came from (set by backends/select.py)

    def __init__(
        self,
        *,
        kind: str,
        name: str,
        root: Path,
        pool: SshPool,
        kube: KubeClient,
        vagrant: VagrantLab | None = None,
        inventory: Inventory | None = None,
        jump: str | None = None,
        capture_sudo: bool = True,
        master_kubeconfigs: tuple[str, ...] = MASTER_KUBECONFIGS,
    ) -> None:
        if (vagrant is None) == (inventory is None):
            raise ValueError("a real lab is either a Vagrant project or an inventory")
        self.kind = kind
        self.name = name
        self.root = root
        self.pool = pool
        # every remote command an audited action makes lands in the audit log
        pool.add_observer(lambda host, line: audit.record_call(f"ssh {host}: {line}"))
        self.kube = kube
        self.vagrant = vagrant
        self.inventory = inventory
        self.jump = jump
        self.capture_sudo = capture_sudo
        self.switches = SwitchReader(
            pool,
            platform_hints={m.name: m.platform for m in inventory.hosts} if inventory else None,
        )
        self._metas: list[HostMeta] = list(inventory.hosts) if inventory else []
        self.tracer = RemoteTrace(pool, self.switches, capture_sudo)
        self.taps = CapturePoints(pool, capture_sudo, lambda: (self.trace_ports(), self._metas))
        self._active_faults: set[str] = set()
        self._captures: list[SshCapture] = []
        self.master_kubeconfigs = master_kubeconfigs
        self._kube_lock = asyncio.Lock()
        self._tunnel: Any = None
        self._tunnel_master: str | None = None
        self._tunnel_generation = 0

    # -- construction -------------------------------------------------------------

    @classmethod
    def for_vagrant(
        cls,
        root: Path,
        kubeconfig: str | None = None,
        context: str | None = None,
        jump: str | None = None,
    ) -> RealLabBackend:
        root = root.resolve()
        return cls(
            kind="vagrant",
            name=root.name or "vagrant",
            root=root,
            pool=SshPool([], jump=jump),
            kube=KubeClient(resolve_kubeconfig(kubeconfig, None), context),
            vagrant=VagrantLab(root),
            jump=jump,
        )

    @classmethod
    def for_inventory(
        cls,
        inventory: Inventory,
        kubeconfig: str | None = None,
        context: str | None = None,
        jump: str | None = None,
    ) -> RealLabBackend:
        jump = jump or inventory.jump
        return cls(
            kind=inventory.kind,
            name=inventory.name,
            root=inventory.root,
            pool=SshPool(inventory.targets, jump=jump),
            kube=KubeClient(resolve_kubeconfig(kubeconfig, inventory.kubeconfig), context),
            inventory=inventory,
            jump=jump,
        )

    # -- lifecycle ----------------------------------------------------------------

    def shape(self) -> LabShape:
        """The lab's shape as the inventory or Vagrant lists it (hosts as last read)."""
        return LabShape.of(self._metas, self.inventory.links if self.inventory else ())

    def info(self) -> LabInfo:
        inv = self.inventory
        return LabInfo(
            name=self.name,
            kind=self.kind,
            source=self.source,
            pod_pool=inv.pod_pool if inv else POD_POOL,
            vni=inv.vni if inv else VXLAN_VNI,
            vxlan_port=inv.vxlan_port if inv else VXLAN_PORT,
            expected_sessions=expected_sessions(self._metas),
            # link and host addresses -> host name, to name peers shown without a hostname
            peer_addresses=self.shape().peer_addresses(),
        )

    async def start(self) -> None:
        if self.vagrant is not None:
            await self._refresh_vagrant(force=True)

    async def close(self) -> None:
        # Captures first: stopping one needs the pool (to check tcpdump is gone).
        captures, self._captures = list(self._captures), []
        await asyncio.gather(
            self.switches.close(),
            self.tracer.close(),
            *(c.close() for c in captures),
            return_exceptions=True,
        )
        await self.pool.close()
        await self.kube.close()

    # -- hosts -----------------------------------------------------------------------

    async def _refresh_vagrant(self, force: bool = False) -> list[Host]:
        assert self.vagrant is not None
        hosts = await self.vagrant.list_hosts(force)
        self._metas = [HostMeta(h.name, h.role, h.rack, h.address, h.asn) for h in hosts]
        current = self.pool.targets
        for name, target in self.vagrant.targets().items():
            if current.get(name) != target:
                self.pool.add_target(target)
        return hosts

    async def list_hosts(self) -> list[Host]:
        if self.vagrant is not None:
            return await self._refresh_vagrant()
        assert self.inventory is not None
        metas = self._metas

        async def probe(meta: HostMeta) -> Host:
            target = self.inventory.targets.get(meta.name) if self.inventory else None
            ssh_error: str | None = None
            if target is None:
                state, endpoint = VmState.UNKNOWN, ""
            else:
                endpoint = target.endpoint
                try:
                    with deadlines.probing():  # unreachable is this probe's answer
                        await self.pool.connect(meta.name)
                    state = VmState.RUNNING
                except HostKeyError:
                    state = VmState.UNKNOWN
                except Unreachable as err:
                    # only the management path is known to be cut: the checks and the VMs
                    # pane weigh it against what the fabric and the API say of the machine
                    state, ssh_error = VmState.UNREACHABLE, str(err)
                except BackendError:
                    state = VmState.UNKNOWN
            return Host(
                name=meta.name,
                role=meta.role,
                rack=meta.rack,
                state=state,
                provider="netns" if self.kind == "rehearsal" else "ssh",
                ssh_endpoint=endpoint,
                address=meta.address,
                asn=meta.asn,
                ssh_error=ssh_error,
            )

        return list(await asyncio.gather(*(probe(m) for m in metas)))

    async def vm_action(self, host: str, action: str) -> AsyncIterator[str]:
        if self.vagrant is None:
            raise BackendError(f"{self.kind} labs cannot {action} VMs")
        async for line in self.vagrant.vm_action(host, action):
            yield line
        await self._refresh_vagrant(force=True)

    def ssh_command(self, host: str) -> list[str] | None:
        inv = self.inventory
        if inv is not None and inv.ssh_config is not None and inv.ssh_config.is_file():
            argv = ["ssh", "-F", str(inv.ssh_config)]
            if self.jump:
                argv += ["-J", self.jump]
            return [*argv, host]
        target = self.pool.targets.get(host)
        if target is None:
            return None
        return ssh_argv_for(target, self.jump)

    # -- fabric ------------------------------------------------------------------------

    async def ssh_bgp_summary(self, switch: str) -> SwitchReading:
        """Over SSH (PrometheusTelemetry.bgp_summary chooses: docs/telemetry.md)."""
        if switch not in self.pool.targets:
            why = "no SSH endpoint (machine not running?)" if self.vagrant else "not in inventory"
            return SwitchReading(switch, None, f"{switch}: {why}", time.time())
        return await self.switches.read(switch)

    async def bgp_summaries(self, switches: list[str]) -> list[SwitchReading]:
        return list(await asyncio.gather(*(self.bgp_summary(s) for s in switches)))

    # -- Kubernetes -----------------------------------------------------------------------

    async def _ensure_kube(self) -> None:
        """With no kubeconfig, read the master's and reach its API through an SSH tunnel."""
        kube = self.kube
        if kube.kubeconfig is not None and kube.config_dict is None:
            return
        async with self._kube_lock:
            master = self._tunnel_master or self._master()
            if master is None:
                return  # KubeClient then says there is no kubeconfig
            if self._tunnel_alive(master):
                return
            if kube.config_dict is None:
                kube.config_dict = await self._fetch_kubeconfig(master)
                kube.secrets = Secrets.from_config(kube.config_dict)
            await self._tunnel_api(master, kube.config_dict)

    def _tunnel_alive(self, via: str) -> bool:
        """The API tunnel through `via` is open on the connection it was made on."""
        return (
            self._tunnel is not None
            and self.pool.is_connected(via)
            and self.pool.generation(via) == self._tunnel_generation
        )

    async def _tunnel_api(self, via: str, config: dict[str, Any]) -> tuple[str, int]:
        """Reach the API server `config` names through an SSH forward on host `via` (as
        `ssh -L`); the client then dials 127.0.0.1, TLS still checking the server's name.
        Returns the server's (host, port) as the kubeconfig names it."""
        scheme, host, port = _api_endpoint(config, self.kube.context)
        listener = await self.pool.forward_local(via, host, port)
        self._tunnel, self._tunnel_master = listener, via
        self._tunnel_generation = self.pool.generation(via)
        self.kube.reset(f"{scheme}://127.0.0.1:{listener.get_port()}")
        log.info("Kubernetes API %s:%d reached through ssh to %s", host, port, via)
        return host, port

    def _master(self) -> str | None:
        targets = self.pool.targets
        return next(
            (m.name for m in self._metas if m.role is Role.MASTER and m.name in targets), None
        )

    async def _fetch_kubeconfig(self, master: str) -> dict[str, Any]:
        attempts: list[tuple[list[str], bool]] = [
            (["cat", p], True) for p in self.master_kubeconfigs
        ]
        attempts.append((["sh", "-c", 'cat "$HOME/.kube/config"'], False))
        for argv, sudo in attempts:
            result = await self.pool.run(master, argv, sudo=sudo)
            if not result.ok:
                continue
            try:
                data = yaml.safe_load(result.stdout)
            except yaml.YAMLError:
                continue
            if isinstance(data, dict) and data.get("clusters"):
                return data
        raise BackendError(
            f"no kubeconfig: none given, and none readable on {master} "
            f"({', '.join(self.master_kubeconfigs)} or ~/.kube/config)"
        )

    async def list_nodes(self) -> list[KubeNode]:
        await self._ensure_kube()
        return await self.kube.list_nodes()

    async def list_pods(self, namespace: str | None = None) -> list[KubePod]:
        await self._ensure_kube()
        return await self.kube.list_pods(namespace)

    async def network_policies(self) -> PolicyReading:
        await self._ensure_kube()
        return await read_policies(self.kube)

    async def list_services(self, namespace: str | None = None) -> list[KubeService]:
        await self._ensure_kube()
        return await list_services(self.kube, namespace)

    async def probe_tcp(self, pod: KubePod, ip: str, port: int, timeout: float) -> TcpProbe:
        await self._ensure_kube()
        return await tcp_probe_by_any_method(
            self.kube, self.pool, pod, ip, port, timeout, self.capture_sudo
        )

    async def watch_nodes(self) -> AsyncIterator[WatchEvent[KubeNode]]:  # type: ignore[override]
        await self._ensure_kube()
        async for event in self.kube.watch_nodes():
            yield event

    async def watch_pods(self) -> AsyncIterator[WatchEvent[KubePod]]:  # type: ignore[override]
        await self._ensure_kube()
        async for event in self.kube.watch_pods():
            yield event

    async def apply_calico(self, pool_cidr: str = POD_POOL) -> list[str]:
        await self._ensure_kube()
        return await self.kube.apply_calico(pool_cidr)

    async def ensure_workload(self, workload: DemoWorkload) -> list[str]:
        await self._ensure_kube()
        return await self.kube.ensure_workload(workload)

    async def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        await self._ensure_kube()
        await self.kube.scale_deployment(namespace, name, replicas)

    async def deployment_replicas(self, namespace: str, name: str) -> int | None:
        await self._ensure_kube()
        return await self.kube.deployment_replicas(namespace, name)

    async def ping(
        self, pod: KubePod, target_ip: str, count: int = 3, timeout: float = 10.0
    ) -> PingResult:
        return await self.probe(pod, target_ip, count, DEFAULT_PING_SIZE, timeout)

    async def probe(
        self,
        pod: KubePod,
        target_ip: str,
        count: int,
        size: int,
        timeout: float,
        df: bool = False,
    ) -> PingResult:
        """The pod's own ping, else the node's in the pod's namespace (probes/node.py)."""
        await self._ensure_kube()
        kube, pool, sudo = self.kube, self.pool, self.capture_sudo
        return await probe_by_any_method(kube, pool, pod, target_ip, count, timeout, size, sudo, df)

    # -- overlay ------------------------------------------------------------------------------

    async def open_capture(
        self, node: str, interface: str = "eth0", bpf: str | None = None
    ) -> CaptureStream:
        if node not in self.pool.targets:
            raise BackendError(f"{node}: no SSH endpoint to capture from")
        if bpf is None:
            bpf = self.capture_filter()
        if interface == "eth0" and not await self.taps.has_tcpdump(node):
            capture = await self.taps.open_at_leaf(node, bpf)
        else:
            capture = await open_ssh_capture(self.pool, node, interface, bpf, self.capture_sudo)
        self._captures = [c for c in self._captures if not c.stopped]
        self._captures.append(capture)
        return capture

    # -- path trace (backends/real/trace.py) ------------------------------------------------------

    def trace_ports(self) -> dict[tuple[str, str], str]:
        """The ports the inventory lists; the Cumulus convention for what it does not."""
        ports = conventional_ports(self.shape())
        if self.inventory is not None:
            ports.update(inventory_ports(list(self.inventory.links)))
        return ports

    async def open_trace_capture(self, host: str, interface: str, bpf: str) -> CaptureStream:
        return await self.tracer.open_capture(host, interface, bpf)

    async def read_state(self, host: str, read: str, arg: str = "") -> str:
        meta = next((m for m in self._metas if m.name == host), None)
        is_switch = meta is not None and meta.role.is_switch
        return await self.tracer.read(host, read, arg, is_switch)


def _api_endpoint(config: dict[str, Any], context: str | None) -> tuple[str, str, int]:
    """Scheme, host and port of the API server the kubeconfig's (current) context uses."""
    try:
        name = context or config.get("current-context")
        ctx = next(c["context"] for c in config.get("contexts", []) if c.get("name") == name)
        cluster = next(
            c["cluster"] for c in config.get("clusters", []) if c.get("name") == ctx["cluster"]
        )
        url = urlparse(str(cluster["server"]))
    except (StopIteration, KeyError, TypeError, AttributeError):
        raise BackendError("the kubeconfig names no usable cluster") from None
    if not url.hostname:
        raise BackendError("the kubeconfig has no API server address")
    scheme = url.scheme or "https"
    return scheme, url.hostname, url.port or (443 if scheme == "https" else 80)
