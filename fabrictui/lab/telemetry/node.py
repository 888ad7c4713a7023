"""Debian's `prometheus-node-exporter` inside each switch's namespace, served on 127.0.0.1 of
the host (docs/telemetry.md, "In the rehearsal lab").

The exporter must run in the switch's namespace to see its interfaces (`ip netns exec` gives it
the namespace's own /sys/class/net and netlink), but Prometheus runs in the host's namespace,
and the namespace's 127.0.0.1 is not the host's. Rather than add a link between them (an
address plan of its own, and a way out of the lab's namespaces), the listening socket is made
here, on the host's 127.0.0.1, and handed to the exporter by systemd-style socket activation
(`--web.systemd-socket`: LISTEN_FDS, LISTEN_PID, fd 3). A socket keeps the namespace it was
made in, so the exporter reads the switch's interfaces and answers on the host's loopback:
nothing listens anywhere else.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from fabrictui.lab.labstate import ProcessRecord
from fabrictui.lab.processes import proc_start_time

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
NODE_JOB = "node"  # the job label fabrictui's interface queries select
LISTEN_FD = 3  # SD_LISTEN_FDS_START: where socket activation expects the first socket
# `ip netns exec` execs in place (no fork), so the shell's pid is the exporter's: LISTEN_PID
_ACTIVATE = 'LISTEN_PID=$$ LISTEN_FDS=1 exec ip netns exec "$0" "$@"'


def exporter_argv(netns: str, marker: str) -> list[str]:
    """The command that runs the exporter in `netns` with only the interface collectors.

    `marker` goes on the exporter's own command line (the namespace's name is gone from it
    once `ip netns exec` has exec'd): `lab down` finds a crashed lab's exporter by it."""
    return [
        "sh", "-c", _ACTIVATE, netns,
        NODE_EXPORTER,
        "--web.systemd-socket",
        "--collector.disable-defaults",
        "--collector.netdev",
        "--collector.netclass",
        # every interface, lo too, as the SSH reader lists /sys/class/net (Debian's default
        # leaves lo out of netdev's counters)
        "--collector.netdev.device-exclude=^$",
        # a flag of a collector left disabled, read by nobody: the lab's marker (see above)
        f"--collector.textfile.directory={marker}",
    ]  # fmt: skip


def listening_socket(port: int = 0) -> socket.socket:
    """A TCP socket listening on the host's 127.0.0.1 (port 0: one the kernel picks)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # an exporter started again takes its old port back (Prometheus's target names it)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    return sock


def start_exporter(
    netns: str, switch: str, marker: str, log_path: Path, port: int = 0
) -> tuple[ProcessRecord, int]:
    """Start one switch's exporter on a loopback socket: its record and port."""
    sock = listening_socket(port)
    port = sock.getsockname()[1]
    fd = sock.fileno()

    def hand_over() -> None:
        # in the child, before exec: the socket at fd 3, inheritable (the socket's own fd is
        # close-on-exec, as every fd Python makes: PEP 446)
        if fd == LISTEN_FD:
            os.set_inheritable(fd, True)  # dup2 onto itself would leave it close-on-exec
        else:
            os.dup2(fd, LISTEN_FD, inheritable=True)

    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log_path, "ab") as log_file:
            proc = subprocess.Popen(
                exporter_argv(netns, marker),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # not close_fds: it would close fd 3 after hand_over; every other fd of ours
                # is close-on-exec anyway
                close_fds=False,
                preexec_fn=hand_over,
            )
    finally:
        sock.close()  # the exporter holds its own copy
    record = ProcessRecord(
        "node_exporter", switch, proc.pid, proc_start_time(proc.pid), marker, str(log_path)
    )
    return record, port
