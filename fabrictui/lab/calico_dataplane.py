"""The Calico VXLAN data plane of the rehearsal lab, built as Felix builds it.

Per node (inside the node's network namespace):

- `vxlan.calico`: VNI 4096, UDP 4789, VTEP on eth0 with the node's address,
  MAC `66:` + SHA-1(node name)[:5], MTU 1450, the node's tunnel address (the
  first address of its /26 block) as a /32;
- for every other node: `<block>/26 via <tunnel ip> dev vxlan.calico onlink`,
  a permanent neighbour entry for the remote tunnel IP with the remote VTEP MAC
  and an FDB entry sending that MAC to the remote node's eth0 address.

Per pod: a namespace with `eth0` (one end of a veth; the other end, `caliXXX`,
sits in the node namespace), the pod IP as /32, a default route via
169.254.1.1 answered by proxy ARP on the `cali` side, and a /32 route to the
pod on the node.

`Dataplane` is the interface the lab API's controllers use; `LinuxDataplane`
does the real work with `ip`/`bridge`/`sysctl` argv calls, `MemoryDataplane`
(in `memory_dataplane.py`) records calls for tests without root.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import ipaddress
import os
import signal
import termios
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from fabrictui.capture.synth import calico_vtep_mac
from fabrictui.constants import VXLAN_DEVICE, VXLAN_PORT, VXLAN_VNI

VXLAN_MTU = 1450
BLOCK_PREFIX = 26
POD_GATEWAY = "169.254.1.1"
HOST_VETH_MAC = "ee:ee:ee:ee:ee:ee"

__all__ = [
    "BLOCK_PREFIX",
    "VXLAN_DEVICE",
    "Dataplane",
    "DataplaneError",
    "LinuxDataplane",
    "NodeNet",
    "PodNet",
    "allocate_block",
    "calico_vtep_mac",
    "veth_name",
]


class DataplaneError(RuntimeError):
    """A data plane command failed; the message names the command and its error."""


@dataclass(frozen=True, slots=True)
class NodeNet:
    name: str
    netns: str | None  # None: no namespace (memory data plane)
    ip: str  # eth0 address, the VTEP
    block: str  # "10.68.86.128/26"
    tunnel_ip: str  # first address of the block
    vtep_mac: str
    vni: int = VXLAN_VNI
    port: int = VXLAN_PORT


@dataclass(frozen=True, slots=True)
class PodNet:
    netns: str  # ftl-<lab_id>-pod-<n>
    node: NodeNet
    ip: str
    host_veth: str  # caliXXXXXXXXXXX


class Dataplane(Protocol):
    async def setup_node(self, node: NodeNet) -> None: ...

    async def set_peers(self, node: NodeNet, peers: Sequence[NodeNet]) -> None: ...

    async def add_pod(self, pod: PodNet) -> None: ...

    async def remove_pod(self, pod: PodNet) -> None: ...

    async def spawn(
        self,
        netns: str | None,
        argv: Sequence[str],
        stdin: bool = False,
        tty_fd: int | None = None,
        path: str | None = None,
    ) -> asyncio.subprocess.Process:
        """Start argv inside netns with pipes for stdout/stderr (and stdin when asked),
        or with the pseudo-terminal `tty_fd` as stdin, stdout, stderr and controlling
        terminal; the process leads its own session so that it can be killed whole.
        `path`: the PATH it runs with (the image's programs), else the host's."""
        ...

    async def close(self) -> None: ...


def veth_name(namespace: str, pod: str) -> str:
    """`cali` + 11 hex digits of SHA-1 of the workload, as Calico's CNI plugin names it."""
    return "cali" + hashlib.sha1(f"{namespace}.{pod}".encode()).hexdigest()[:11]


def allocate_block(pool: str, node_name: str, taken: Iterable[str]) -> str:
    """A deterministic /26 of `pool` for `node_name`, avoiding `taken` blocks."""
    net = ipaddress.ip_network(pool, strict=False)
    if net.prefixlen > BLOCK_PREFIX:
        raise DataplaneError(f"pool {pool} is smaller than a /{BLOCK_PREFIX} block")
    count = 1 << (BLOCK_PREFIX - net.prefixlen)
    used = {str(ipaddress.ip_network(b)) for b in taken}
    start = int.from_bytes(hashlib.sha256(node_name.encode()).digest()[:8], "big") % count
    for i in range(count):
        index = (start + i) % count
        base = int(net.network_address) + index * (1 << (32 - BLOCK_PREFIX))
        block = f"{ipaddress.IPv4Address(base)}/{BLOCK_PREFIX}"
        if block not in used:
            return block
    raise DataplaneError(f"pool {pool} has no free /{BLOCK_PREFIX} block")


async def run(argv: Sequence[str], stdin: str | None = None) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip().splitlines()
        detail = message[-1] if message else f"exit code {proc.returncode}"
        raise DataplaneError(f"{' '.join(argv[:6])}: {detail}")
    return out.decode(errors="replace")


def _batch(lines: Iterable[Sequence[str]]) -> str:
    # ip -batch splits on whitespace; nothing here carries spaces
    return "".join(" ".join(line) + "\n" for line in lines)


class LinuxDataplane:
    """Builds the data plane with iproute2 inside existing node namespaces."""

    def __init__(self, ip: str = "ip", bridge: str = "bridge", sysctl: str = "sysctl") -> None:
        self.ip = ip
        self.bridge = bridge
        self.sysctl = sysctl

    def _ns(self, node: NodeNet) -> str:
        if not node.netns:
            raise DataplaneError(f"node {node.name} has no network namespace")
        return node.netns

    async def _sysctl(self, netns: str, settings: dict[str, str]) -> None:
        await run(
            [self.ip, "netns", "exec", netns, self.sysctl, "-q", "-w"]
            + [f"{k}={v}" for k, v in settings.items()]
        )

    async def setup_node(self, node: NodeNet) -> None:
        ns = self._ns(node)
        await self._sysctl(ns, {"net.ipv4.ip_forward": "1"})
        existing = await run([self.ip, "-n", ns, "-o", "link", "show"])
        commands: list[list[str]] = []
        if f" {VXLAN_DEVICE}:" in existing:
            commands.append(["link", "del", VXLAN_DEVICE])
        commands += [
            ["link", "add", VXLAN_DEVICE, "type", "vxlan", "id", str(node.vni),
             "dstport", str(node.port), "dev", "eth0", "local", node.ip, "nolearning"],
            ["link", "set", VXLAN_DEVICE, "address", node.vtep_mac, "mtu", str(VXLAN_MTU)],
            ["addr", "add", f"{node.tunnel_ip}/32", "dev", VXLAN_DEVICE],
            ["link", "set", VXLAN_DEVICE, "up"],
        ]  # fmt: skip
        await run([self.ip, "-n", ns, "-batch", "-"], _batch(commands))

    async def set_peers(self, node: NodeNet, peers: Sequence[NodeNet]) -> None:
        ns = self._ns(node)
        routes: list[list[str]] = []
        fdb: list[list[str]] = []
        for peer in peers:
            if peer.name == node.name:
                continue
            routes.append(["neigh", "replace", peer.tunnel_ip, "lladdr", peer.vtep_mac,
                           "dev", VXLAN_DEVICE, "nud", "permanent"])  # fmt: skip
            routes.append(["route", "replace", peer.block, "via", peer.tunnel_ip,
                           "dev", VXLAN_DEVICE, "onlink"])  # fmt: skip
            fdb.append(["fdb", "replace", peer.vtep_mac, "dev", VXLAN_DEVICE, "dst", peer.ip])
        if fdb:
            await run([self.bridge, "-n", ns, "-batch", "-"], _batch(fdb))
        if routes:
            await run([self.ip, "-n", ns, "-batch", "-"], _batch(routes))

    async def add_pod(self, pod: PodNet) -> None:
        node_ns = self._ns(pod.node)
        await run([self.ip, "netns", "add", pod.netns])
        try:
            await run(
                [self.ip, "-n", node_ns, "link", "add", pod.host_veth, "mtu", str(VXLAN_MTU),
                 "type", "veth", "peer", "name", "eth0", "mtu", str(VXLAN_MTU),
                 "netns", pod.netns]
            )  # fmt: skip
            await run(
                [self.ip, "netns", "exec", pod.netns, self.sysctl, "-q", "-w",
                 "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]
            )  # fmt: skip
            await self._sysctl(
                node_ns,
                {
                    f"net.ipv4.conf.{pod.host_veth}.proxy_arp": "1",
                    f"net.ipv4.neigh.{pod.host_veth}.proxy_delay": "0",
                    f"net.ipv6.conf.{pod.host_veth}.disable_ipv6": "1",
                },
            )
            host = [
                ["link", "set", pod.host_veth, "address", HOST_VETH_MAC],
                ["link", "set", pod.host_veth, "up"],
                ["route", "replace", f"{pod.ip}/32", "dev", pod.host_veth, "scope", "link"],
            ]
            await run([self.ip, "-n", node_ns, "-batch", "-"], _batch(host))
            inside = [
                ["link", "set", "lo", "up"],
                ["addr", "add", f"{pod.ip}/32", "dev", "eth0"],
                ["link", "set", "eth0", "up"],
                ["route", "add", POD_GATEWAY, "dev", "eth0", "scope", "link"],
                ["route", "add", "default", "via", POD_GATEWAY, "dev", "eth0"],
            ]
            await run([self.ip, "-n", pod.netns, "-batch", "-"], _batch(inside))
        except BaseException:
            await self.remove_pod(pod)
            raise

    async def remove_pod(self, pod: PodNet) -> None:
        await remove_netns(self.ip, pod.netns)

    async def spawn(
        self,
        netns: str | None,
        argv: Sequence[str],
        stdin: bool = False,
        tty_fd: int | None = None,
        path: str | None = None,
    ) -> asyncio.subprocess.Process:
        if not netns:
            raise DataplaneError("refusing to run a command outside a lab namespace")
        # env(1) sets PATH and then looks argv[0] up in it, as a runtime does in the image
        limited = ["env", f"PATH={path}"] if path is not None else []
        return await spawn_process(
            [self.ip, "netns", "exec", netns, *limited, *argv], stdin, tty_fd
        )

    async def close(self) -> None:
        return None


def _take_terminal() -> None:  # pragma: no cover - runs in the child
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


async def spawn_process(
    argv: Sequence[str], stdin: bool, tty_fd: int | None
) -> asyncio.subprocess.Process:
    """Start argv in a new session, on pipes or on the terminal `tty_fd`."""
    if tty_fd is not None:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=tty_fd,
            stdout=tty_fd,
            stderr=tty_fd,
            start_new_session=True,
            preexec_fn=_take_terminal,
        )
    return await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )


async def remove_netns(ip: str, netns: str) -> None:
    """Kill whatever still runs in `netns`, then delete it (missing is fine)."""
    try:
        pids = await run([ip, "netns", "pids", netns])
    except DataplaneError:
        return  # gone already
    for pid in pids.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    with contextlib.suppress(DataplaneError):
        await run([ip, "netns", "del", netns])
