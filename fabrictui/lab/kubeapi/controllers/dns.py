"""The cluster DNS of the rehearsal lab: what the coredns pods run, and the resolv.conf the
kubelet gives every pod (docs/dns.md).

A coredns pod's container is dnsmasq (Debian's dnsmasq-base), started in the pod's network
namespace and answering the cluster zone from a hosts file that this controller keeps in
step with the Services (`<svc>.<ns>.svc.cluster.local` -> ClusterIP): `--local` makes every
other name of the zone NXDOMAIN, and with `--no-resolv` and no `--server` nothing is ever
forwarded (a name outside the zone is REFUSED), so no query leaves the lab. dnsmasq re-reads
the file on SIGHUP, as CoreDNS' kubernetes plugin follows the API's watch.

Each pod-network pod gets `/etc/netns/<pod netns>/resolv.conf` as the kubelet writes it
for `dnsPolicy: ClusterFirst`; `ip netns exec` (how the lab runs every process of a pod)
bind-mounts it over /etc/resolv.conf, so the pod's own resolver, and a probe that enters the
sandbox's network and mount namespaces from the node, use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
from pathlib import Path
from typing import Any

from fabrictui.constants import CLUSTER_DOMAIN, cluster_resolv_conf
from fabrictui.lab.calico_dataplane import Dataplane
from fabrictui.lab.kubeapi.objects import name_of, ns_of

log = logging.getLogger(__name__)
Obj = dict[str, Any]
ETC_NETNS = Path("/etc/netns")  # where `ip netns exec` finds a namespace's own /etc files
DNS_IMAGES = ("coredns",)  # image names whose container is the cluster's DNS server
TTL = 30  # kubeadm's Corefile: `kubernetes cluster.local ... { ttl 30 }`
START_WAIT = 0.3  # seconds dnsmasq is given to fail at start (a port taken, a bad option)


def is_dns_image(image: str) -> bool:
    return image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0] in DNS_IMAGES


def records(services: list[Obj]) -> str:
    """The hosts file of the cluster zone: one line per Service with a ClusterIP."""
    lines = []
    for svc in sorted(services, key=lambda s: (ns_of(s), name_of(s))):
        ip = (svc.get("spec") or {}).get("clusterIP")
        if ip and ip != "None":
            lines.append(f"{ip} {name_of(svc)}.{ns_of(svc)}.svc.{CLUSTER_DOMAIN}")
    return "".join(f"{line}\n" for line in lines)


def dnsmasq_argv(hosts_file: Path) -> list[str]:
    return [
        "dnsmasq",
        "--keep-in-foreground",  # the pid stays the container's, for SIGHUP and SIGKILL
        "--conf-file=/dev/null",  # nothing from the host's /etc/dnsmasq.conf
        "--no-resolv",  # no upstream from /etc/resolv.conf: nothing is forwarded
        "--no-poll",
        "--no-hosts",  # not the host's /etc/hosts either
        f"--local=/{CLUSTER_DOMAIN}/",  # the zone is answered here only: unknown -> NXDOMAIN
        "--domain-needed",
        "--bogus-priv",  # reverse lookups of private ranges answered here, never forwarded
        f"--addn-hosts={hosts_file}",
        f"--local-ttl={TTL}",
        "--port=53",
        "--user=root",  # the lab's files may sit in a folder only root can read
        "--group=root",
        "--pid-file=",
        "--log-facility=/dev/null",  # nothing piles up in a pipe no one reads
    ]


class ClusterDns:
    def __init__(self, dataplane: Dataplane, folder: Path | None) -> None:
        self.dataplane = dataplane
        self.hosts_file = folder / "cluster-dns.hosts" if folder is not None else None
        self.servers: dict[str, asyncio.subprocess.Process] = {}  # pod uid -> dnsmasq
        self._written: str | None = None

    def update(self, services: list[Obj]) -> None:
        """Write the zone when the Services changed, and have every server re-read it."""
        if self.hosts_file is None:
            return
        text = records(services)
        if text == self._written:
            return
        tmp = self.hosts_file.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.hosts_file)
        self._written = text
        for proc in self.servers.values():
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGHUP)

    async def serve(self, uid: str, netns: str) -> asyncio.subprocess.Process | None:
        """Start the DNS server of coredns pod `uid` in its namespace."""
        if self.hosts_file is None:
            return None
        if self._written is None:
            self.hosts_file.write_text("")
            self._written = ""
        read = self._written
        proc = await self.dataplane.spawn(netns, dnsmasq_argv(self.hosts_file))
        try:
            await asyncio.wait_for(proc.wait(), START_WAIT)
        except TimeoutError:
            # signalled only from now on (a SIGHUP before its handler is set would end it):
            # a zone written while it started is read again now
            self.servers[uid] = proc
            if self._written != read:
                os.kill(proc.pid, signal.SIGHUP)
            return proc
        err = b"" if proc.stderr is None else await proc.stderr.read()
        why = err.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"dnsmasq exited at start: {why[-1] if why else proc.returncode}")

    def stop(self, uid: str) -> None:
        proc = self.servers.pop(uid, None)
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for uid in list(self.servers):
            self.stop(uid)
        if self.hosts_file is not None:
            self.hosts_file.unlink(missing_ok=True)


def write_resolv(netns: str, namespace: str, root: Path = ETC_NETNS) -> None:
    folder = root / netns
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "resolv.conf").write_text(cluster_resolv_conf(namespace))


def remove_resolv(netns: str, root: Path = ETC_NETNS) -> None:
    shutil.rmtree(root / netns, ignore_errors=True)


def sweep_resolv(prefix: str, root: Path = ETC_NETNS) -> list[str]:
    """Remove the /etc/netns folders of pod namespaces named `prefix`* (lab down, a new
    start after a crash)."""
    if not prefix or not root.is_dir():
        return []
    gone = [p.name for p in root.iterdir() if p.name.startswith(prefix)]
    for name in gone:
        remove_resolv(name, root)
    return gone
