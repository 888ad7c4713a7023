"""The rehearsal lab's processes (FRR, sshd, the API server): started with a marker on
their command line, found again by it after a crash, stopped; and the loopback ports
they listen on."""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fabrictui.lab import netns
from fabrictui.lab.labstate import (
    ProcessRecord,
)
from fabrictui.lab.topology import (
    netns_prefix,
)

KUBE_MODULE = "fabrictui.lab.kubeapi"  # the API server, as `python -m` runs it
STOP_WAIT_S = 3.0


# --- processes ----------------------------------------------------------------------------


def proc_start_time(pid: int) -> int | None:
    """Start time (clock ticks since boot) of a live, non-zombie process, else None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def proc_cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _record(record: ProcessRecord | Mapping[str, Any]) -> ProcessRecord:
    return record if isinstance(record, ProcessRecord) else ProcessRecord.from_json(record)


def record_alive(record: ProcessRecord | Mapping[str, Any]) -> bool:
    """True if the recorded process still runs *and* is the one we started."""
    rec = _record(record)
    if proc_start_time(rec.pid) != rec.start_time:
        return False
    return not rec.marker or any(rec.marker in arg for arg in proc_cmdline(rec.pid))


def record_exited(record: ProcessRecord | Mapping[str, Any]) -> bool:
    """The process we started is gone (or a zombie). A start time of None means it was gone
    before we could even read it."""
    rec = _record(record)
    return rec.start_time is None or proc_start_time(rec.pid) != rec.start_time


def spawn(argv: Sequence[str], log_path: Path, role: str, host: str | None, marker: str) -> dict:
    """`start_process` for scripts that edit the state document: the record as JSON data."""
    return start_process(argv, log_path, role, host, marker).to_json()


def start_process(
    argv: Sequence[str], log_path: Path, role: str, host: str | None, marker: str
) -> ProcessRecord:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    return ProcessRecord(role, host, proc.pid, proc_start_time(proc.pid), marker, str(log_path))


def _ancestors() -> set[int]:
    pids = {os.getpid()}
    pid = os.getpid()
    while pid > 1:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(raw[raw.rfind(")") + 2 :].split()[1])
        pids.add(pid)
    return pids


def find_leftover_processes(lab_id: str, lab_dir: Path) -> list[int]:
    """Processes that carry this lab's marker on their command line (never ourselves)."""
    prefix = netns_prefix(lab_id)
    sshd_dir = str(lab_dir / "sshd") + "/"
    lab_dir_s = str(lab_dir)
    telemetry_dir = str(lab_dir / "telemetry") + "/"
    skip = _ancestors()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        pid = int(entry.name)
        argv = proc_cmdline(pid)
        if not argv or proc_start_time(pid) is None:
            continue
        ours = any(arg.startswith(prefix) for arg in argv)
        if not ours:  # the telemetry: an exporter's FRR path space, Prometheus's lab folder
            ours = any(arg.startswith("--") and f"/{prefix}" in arg for arg in argv)
            ours = ours or any(arg.startswith("--") and telemetry_dir in arg for arg in argv)
        if not ours and argv[0].endswith("sshd"):
            ours = any(arg.startswith(sshd_dir) for arg in argv)
        if not ours and KUBE_MODULE in argv and "--lab-dir" in argv:
            i = argv.index("--lab-dir")
            ours = i + 1 < len(argv) and _same_path(argv[i + 1], lab_dir_s)
        if ours:
            found.append(pid)
    return found


def _same_path(a: str, b: str) -> bool:
    try:
        return os.path.realpath(a) == os.path.realpath(b)
    except OSError:
        return False


def pids_in_namespaces(names: Iterable[str]) -> list[int]:
    """Every process whose network namespace is one of the named ones (like `ip netns pids`,
    in one pass over /proc)."""
    inodes = set()
    for name in names:
        with contextlib.suppress(OSError):
            st = os.stat(os.path.join(netns.NETNS_DIR, name))
            inodes.add((st.st_dev, st.st_ino))
    if not inodes:
        return []
    skip = _ancestors()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        try:
            st = os.stat(f"/proc/{entry.name}/ns/net")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in inodes:
            found.append(int(entry.name))
    return found


def stop_processes(pids: Iterable[int], wait_s: float = STOP_WAIT_S) -> None:
    """SIGTERM, wait a little, then SIGKILL whatever is left; reap our own children."""
    pending = {pid: proc_start_time(pid) for pid in pids}
    pending = {pid: t for pid, t in pending.items() if t is not None}
    for pid in pending:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while pending and time.monotonic() < deadline:
        _reap(pending)
        pending = {p: t for p, t in pending.items() if proc_start_time(p) == t}
        if pending:
            time.sleep(0.05)
    for pid in pending:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    end = time.monotonic() + 2.0
    while pending and time.monotonic() < end:
        _reap(pending)
        pending = {p: t for p, t in pending.items() if proc_start_time(p) == t}
        if pending:
            time.sleep(0.02)


def _reap(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


# --- ports --------------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """`count` distinct free TCP ports on 127.0.0.1 (the kernel picks them)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
