"""The pod sandboxes of the lab's nodes, as a container runtime keeps them.

On a real node every pod has a sandbox: the pause container, a process that holds the
pod's network namespace, which the runtime reports (`crictl inspectp`: `info.pid`;
`docker inspect`: `.State.Pid`). A probe run from the node enters the pod's namespace
through that pid (`nsenter -t PID -n`). The lab does the same: each pod network gets a
`sleep infinity` inside it, and the sandboxes are written to a JSON file that the node's
`crictl` (lab/crictl.py) reads as a real one reads its runtime's socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fabrictui.lab.calico_dataplane import Dataplane, PodNet
from fabrictui.lab.kubeapi.controllers.dns import (
    ClusterDns,
    is_dns_image,
    remove_resolv,
    write_resolv,
)

# The container's part for a server image (nginx): something answering on its container
# ports, so that a connect to the pod, or to a Service in front of it, meets a listener as
# on a real cluster (the handshake, and a short HTTP answer to whatever is asked). Each
# request it answers goes to its stdout as nginx's access log does in the nginx image (its
# `main` format; a connection that asks nothing is not logged, as nginx logs none): what
# `kubectl logs` shows of the pod (controllers/podlogs.py).
SERVE = """
import selectors, socket, sys, time
def access(peer, data):
    head = data.split(b"\\r\\n")
    if not head or not head[0].strip():
        return
    agent = next((h[11:].strip() for h in head if h.lower().startswith(b"user-agent:")), b"-")
    when = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
    line = '%s - - [%s] "%s" 200 0 "-" "%s" "-"' % (
        peer, when, head[0].decode("latin-1"), agent.decode("latin-1"))
    sys.stdout.write(line + "\\n")
    sys.stdout.flush()
sel = selectors.DefaultSelector()
for port in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    s.listen(64)
    sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        conn, _ = key.fileobj.accept()
        conn.settimeout(1)
        try:
            data = conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n")
            access(conn.getpeername()[0], data)
        except OSError:
            pass
        conn.close()
"""
SERVER_IMAGES = ("nginx",)  # image names whose containers serve their ports


async def _read_lines(
    proc: asyncio.subprocess.Process, container: str, log: Callable[[str, str], None]
) -> None:
    if proc.stdout is None:
        return
    while True:
        raw = await proc.stdout.readline()
        if not raw:
            return
        log(container, raw.decode("utf-8", errors="replace").rstrip("\n"))


class Sandboxes:
    def __init__(self, dataplane: Dataplane, state_file: Path | None) -> None:
        self.dataplane = dataplane
        self.state_file = state_file  # None: no namespaces to hold (the memory data plane)
        self._entries: dict[str, dict[str, Any]] = {}  # pod uid -> sandbox
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._servers: dict[str, asyncio.subprocess.Process] = {}  # pod uid -> its listener
        self._netns: dict[str, str] = {}  # pod uid -> its namespace (its resolv.conf's folder)
        # the coredns pods' container: a DNS server answering the cluster zone (dns.py)
        self.dns = ClusterDns(dataplane, state_file.parent if state_file is not None else None)
        self._readers: dict[str, asyncio.Task[None]] = {}  # pod uid -> its stdout's reader

    async def start(self, uid: str, namespace: str, name: str, net: PodNet) -> None:
        if self.state_file is None:
            return
        # the kubelet's resolv.conf, in place before the sandbox's mount namespace is made
        write_resolv(net.netns, namespace)
        self._netns[uid] = net.netns
        proc = await self.dataplane.spawn(net.netns, ["sleep", "infinity"])
        self._procs[uid] = proc
        self._entries[uid] = {
            "id": hashlib.sha256(f"sandbox:{uid}".encode()).hexdigest(),
            "uid": uid,
            "namespace": namespace,
            "name": name,
            "node": net.node.name,
            "pid": proc.pid,
            "state": "SANDBOX_READY",
            "created": time.time(),
        }
        self._write()

    async def serve(
        self, uid: str, net: PodNet, pod_spec: dict[str, Any],
        log: Callable[[str, str], None] = lambda container, line: None,
    ) -> None:  # fmt: skip
        """Listen on the container ports of the pod's server containers (none: nothing);
        what the listener writes goes to `log(container, line)`."""
        if self.state_file is None:
            return
        ports = sorted({
            int(p["containerPort"])
            for c in pod_spec.get("containers") or []
            if str(c.get("image", "")).split(":")[0].rsplit("/", 1)[-1] in SERVER_IMAGES
            for p in c.get("ports") or []
            if isinstance(p.get("containerPort"), int) and p.get("protocol", "TCP") == "TCP"
        })  # fmt: skip
        proc = None
        if any(is_dns_image(str(c.get("image", ""))) for c in pod_spec.get("containers") or []):
            proc = await self.dns.serve(uid, net.netns)
        elif ports:
            argv = [sys.executable, "-c", SERVE, *map(str, ports)]
            proc = await self.dataplane.spawn(net.netns, argv)
            self._servers[uid] = proc
            container = next(
                str(c.get("name", ""))
                for c in pod_spec.get("containers") or []
                if str(c.get("image", "")).split(":")[0].rsplit("/", 1)[-1] in SERVER_IMAGES
            )
            # read always: a pipe nobody reads fills and stops the listener
            reader = asyncio.get_running_loop().create_task(_read_lines(proc, container, log))
            self._readers[uid] = reader
        if proc is not None and uid in self._entries:  # the container, as a runtime lists it
            self._entries[uid]["container_pids"] = [proc.pid]
            self._write()

    def pid_of(self, uid: str) -> int | None:
        """The pid holding pod `uid`'s namespace (None: no sandbox)."""
        entry = self._entries.get(uid)
        return int(entry["pid"]) if entry else None

    def stop(self, uid: str) -> None:
        self._entries.pop(uid, None)
        self.dns.stop(uid)
        netns = self._netns.pop(uid, None)
        if netns is not None:
            remove_resolv(netns)
        reader = self._readers.pop(uid, None)
        if reader is not None:
            reader.cancel()
        for proc in (self._procs.pop(uid, None), self._servers.pop(uid, None)):
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
        if self.state_file is not None:
            self._write()

    def stop_all(self) -> None:
        for uid in list(self._procs):
            self.stop(uid)
        self.dns.stop_all()
        if self.state_file is not None:
            self.state_file.unlink(missing_ok=True)

    def _write(self) -> None:
        assert self.state_file is not None
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"sandboxes": list(self._entries.values())}, indent=1))
        os.replace(tmp, self.state_file)
