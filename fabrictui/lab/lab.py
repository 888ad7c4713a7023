"""Bring the rehearsal lab up, report on it, and take it down again (also after a crash).

Everything `up` creates is recorded in DIR/state.json *before* the step that creates it, so
`down` can clean up whatever a crash or `kill -9` left behind. `down` also finds leftovers on
its own: namespaces by the `ftl-<lab_id>-` prefix, processes by the marker each one carries
on its command line (the FRR path space, the sshd config path, the API server's lab dir).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fabrictui.lab import frr, netns, sshd
from fabrictui.lab.labstate import (
    STATE_FILE,
    STATE_FORMAT,
    LabError,
    ProcessRecord,
    RunningLab,
    load_state,
    read_state,
    state_path,
    write_state,
)
from fabrictui.lab.topology import (
    LabHost,
    LabTopology,
    build_topology,
    inventory,
    netns_name,
    netns_prefix,
)

__all__ = [  # the state's names, re-exported for the callers of this module
    "STATE_FILE",
    "STATE_FORMAT",
    "LabError",
    "read_state",
    "state_path",
    "write_state",
]
DEFAULT_DIR = "fabrictui-lab"
KUBE_MODULE = "fabrictui.lab.kubeapi"
KUBE_WAIT_S = 15.0
BGP_WAIT_S = 30.0
STOP_WAIT_S = 3.0
PARALLEL = 24  # processes started at once when configuring many namespaces

# files and folders `up` creates in the lab dir (all removed by `down`)
GENERATED = (
    "inventory.json",
    "ssh_config",
    "known_hosts",
    "kubeconfig",
    "keys",
    "sshd",
    "bin",
    "logs",
    "home",
    "kubeapi",  # the API server's own files (certificates, token, endpoint)
)

NS_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
    "net.ipv6.conf.all.disable_ipv6": "1",
    "net.ipv6.conf.default.disable_ipv6": "1",
}

REQUIRED_TOOLS = {
    "ip": "iproute2",
    "/usr/lib/frr/zebra": "frr",
    "/usr/lib/frr/bgpd": "frr",
    "/usr/bin/vtysh": "frr",
    "/usr/sbin/sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
}

Log = Callable[[str], None]


class LabAlreadyUp(LabError):
    pass


class LabUnsupported(LabError):
    pass


# --- platform -----------------------------------------------------------------------------


def check_platform(tools: bool = True) -> None:
    """Raise LabUnsupported unless this is Linux, we are root, and (for `up`) the tools
    exist. `down` needs only the first two, so a lab can be removed after an uninstall."""
    if not sys.platform.startswith("linux"):
        raise LabUnsupported("the rehearsal lab needs Linux network namespaces (this is not Linux)")
    if os.geteuid() != 0:
        raise LabUnsupported("the rehearsal lab needs root (network namespaces, FRR, sshd)")
    if not tools:
        return
    missing = sorted({pkg for tool, pkg in REQUIRED_TOOLS.items() if not _have(tool)})
    if missing:
        raise LabUnsupported(f"missing packages for the rehearsal lab: {' '.join(missing)}")


def _have(tool: str) -> bool:
    if "/" in tool:
        return os.access(tool, os.X_OK)
    return shutil.which(tool) is not None


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


# --- up -----------------------------------------------------------------------------------


@dataclass
class UpResult:
    lab_id: str
    seconds: float
    steps: list[tuple[str, float]] = field(default_factory=list)
    kube: str = "skipped"  # "up", "skipped", or the reason it is not
    bgp_established: int = 0
    bgp_configured: int = 0


def _silent(_: str) -> None:
    pass


def up(
    lab_dir: Path,
    topology: LabTopology | None = None,
    kube: bool = True,
    log: Log = _silent,
    bgp_wait_s: float = BGP_WAIT_S,
    lab_id: str | None = None,
) -> UpResult:
    """Build the lab in `lab_dir`. Raises LabAlreadyUp, LabUnsupported or LabError; on any
    failure after the first step, what was built stays recorded for `down`."""
    check_platform()
    topology = topology or build_topology()
    lab_dir = lab_dir.resolve()
    _check_dir_name(lab_dir)
    existing = read_state(lab_dir)  # the raw document: even a malformed one blocks `up`
    if existing is not None:
        raise LabAlreadyUp(
            f"a lab (id {existing.get('lab_id')}) is already up in {lab_dir}; "
            f"run `fabrictui lab down --dir {lab_dir}` first"
        )
    created_dir = not lab_dir.exists()
    lab_dir.mkdir(parents=True, exist_ok=True)
    lab_id = lab_id or _fresh_lab_id()
    t0 = time.monotonic()
    state = RunningLab(
        lab_id=lab_id,
        dir=str(lab_dir),
        created_dir=created_dir,
        status="starting",
        step="plan",
        started=time.time(),
        spines=topology.spines,
        racks=topology.racks,
        nodes_per_rack=topology.nodes_per_rack,
        namespaces=[netns_name(lab_id, h.name) for h in topology.hosts],
        frr_dirs=[str(frr.run_dir(frr.pathspace(lab_id, s.name))) for s in topology.switches],
        files=list(GENERATED),
    )
    write_state(lab_dir, state)
    result = UpResult(lab_id=lab_id, seconds=0.0)
    builder = _Builder(lab_dir, topology, lab_id, state, result, log)
    builder.run(kube, bgp_wait_s)
    result.seconds = time.monotonic() - t0
    state.status = "up"
    state.step = "done"
    state.up_seconds = round(result.seconds, 3)
    write_state(lab_dir, state)
    return result


@contextlib.contextmanager
def running_lab(
    lab_dir: Path,
    topology: LabTopology | None = None,
    kube: bool = True,
    bgp_wait_s: float = BGP_WAIT_S,
    log: Log = _silent,
) -> Iterator[UpResult]:
    """`up`, then always `down` (also when `up` fails half-way): for tests and scripts."""
    try:
        result = up(lab_dir, topology, kube=kube, log=log, bgp_wait_s=bgp_wait_s)
    except (LabAlreadyUp, LabUnsupported):
        raise  # nothing of ours to take down (and never someone else's lab)
    except BaseException:
        down(lab_dir)
        raise
    try:
        yield result
    finally:
        down(lab_dir)


def _fresh_lab_id() -> str:
    """A short random id no namespace on this machine uses yet."""
    taken = netns.list_netns()
    while True:
        lab_id = secrets.token_hex(3)
        if not any(name.startswith(netns_prefix(lab_id)) for name in taken):
            return lab_id


def _check_dir_name(lab_dir: Path) -> None:
    # paths go into sshd_config lines and shim scripts; keep them plain
    if any(ch.isspace() or ch in "\"'\\$`" for ch in str(lab_dir)):
        raise LabError(f"lab directory path must not contain spaces or quotes: {lab_dir}")


class _Builder:
    def __init__(
        self,
        lab_dir: Path,
        topology: LabTopology,
        lab_id: str,
        state: RunningLab,
        result: UpResult,
        log: Log,
    ) -> None:
        self.dir = lab_dir
        self.topo = topology
        self.lab_id = lab_id
        self.state = state
        self.result = result
        self.log = log

    def ns(self, host: str) -> str:
        return netns_name(self.lab_id, host)

    def home(self, host: str) -> Path:
        """The host's own HOME for SSH sessions (empty: no ~/.bashrc cost per command)."""
        path = self.dir / "home" / host
        path.mkdir(parents=True, exist_ok=True)
        return path

    def step(self, name: str, fn: Callable[[], None]) -> None:
        self.state.step = name
        write_state(self.dir, self.state)
        started = time.monotonic()
        fn()
        took = time.monotonic() - started
        self.result.steps.append((name, took))
        self.log(f"  {name:<12} {took:6.2f} s")

    def run(self, kube: bool, bgp_wait_s: float) -> None:
        self.step("namespaces", self.make_namespaces)
        self.step("links", self.make_links)
        self.step("addresses", self.configure_namespaces)
        self.step("frr", self.start_frr)
        self.step("sshd", self.start_sshd)
        self.step("inventory", self.write_inventory)
        if kube:
            self.step("kube-api", self.start_kube)
        else:
            self.result.kube = "skipped (--no-kube)"
        self.step("bgp", lambda: self.wait_bgp(bgp_wait_s))

    # namespaces, links, addresses ---------------------------------------------------------

    def make_namespaces(self) -> None:
        netns.run_batch([["netns", "add", self.ns(h.name)] for h in self.topo.hosts])
        _run_parallel([netns.sysctl_argv(self.ns(h.name), NS_SYSCTLS) for h in self.topo.hosts])

    def make_links(self) -> None:
        # both ends are created directly inside their namespaces: nothing touches the host's
        commands = []
        for link in self.topo.links:
            commands.append(
                [
                    "link",
                    "add",
                    link.a_port,
                    "netns",
                    self.ns(link.a),
                    "type",
                    "veth",
                    "peer",
                    "name",
                    link.b_port,
                    "netns",
                    self.ns(link.b),
                ]
            )
        netns.run_batch(commands)

    def configure_namespaces(self) -> None:
        jobs = [(self.ns(h.name), self.host_commands(h)) for h in self.topo.hosts]
        for chunk in _chunks(jobs, PARALLEL):
            running = [netns.start_batch(commands, netns=name) for name, commands in chunk]
            for job in running:
                job.wait()

    def host_commands(self, host: LabHost) -> list[list[str]]:
        cmds: list[list[str]] = [["link", "set", "lo", "up"]]
        if host.is_switch:
            cmds.append(["address", "add", f"{host.router_id}/32", "dev", "lo"])
            for link in self.topo.links_of(host.name):
                if link.is_fabric:
                    mine_a = link.a == host.name
                    port, ip = (link.a_port, link.a_ip) if mine_a else (link.b_port, link.b_ip)
                    assert ip is not None
                    cmds += [["address", "add", ip, "dev", port], ["link", "set", port, "up"]]
            if host.role == "leaf":
                cmds += [
                    ["link", "add", "br0", "type", "bridge"],
                    ["address", "add", f"{host.gateway}/24", "dev", "br0"],
                ]
                for link in self.topo.server_ports(host.name):
                    cmds += [
                        ["link", "set", link.a_port, "master", "br0"],
                        ["link", "set", link.a_port, "up"],
                    ]
                cmds.append(["link", "set", "br0", "up"])
        else:
            cmds += [
                ["address", "add", f"{host.address}/24", "dev", "eth0"],
                ["link", "set", "eth0", "up"],
                ["route", "add", "default", "via", str(host.gateway)],
            ]
        return cmds

    # FRR ----------------------------------------------------------------------------------

    def start_frr(self) -> None:
        switches = self.topo.switches
        for switch in switches:
            frr.write_configs(self.topo, self.lab_id, switch.name)
        self._spawn_all(
            [
                (
                    frr.daemon_argv(self.lab_id, s.name, "zebra"),
                    "zebra",
                    s.name,
                    frr.pathspace(self.lab_id, s.name),
                )
                for s in switches
            ]
        )
        _wait_until(
            lambda: all(frr.zebra_ready(self.lab_id, s.name) for s in switches),
            10.0,
            "zebra did not start on every switch (see DIR/logs/*.zebra.log)",
            self._died_check("zebra"),
        )
        self._spawn_all(
            [
                (
                    frr.daemon_argv(self.lab_id, s.name, "bgpd"),
                    "bgpd",
                    s.name,
                    frr.pathspace(self.lab_id, s.name),
                )
                for s in switches
            ]
        )
        bgpd_vty = [frr.run_dir(frr.pathspace(self.lab_id, s.name)) / "bgpd.vty" for s in switches]
        _wait_until(
            lambda: all(p.exists() for p in bgpd_vty),
            10.0,
            "bgpd did not start on every switch (see DIR/logs/*.bgpd.log)",
            self._died_check("bgpd"),
        )

    def _spawn_all(self, specs: list[tuple[list[str], str, str | None, str]]) -> None:
        for argv, role, host, marker in specs:
            log_name = f"{host}.{role}.log" if host else f"{role}.log"
            record = start_process(argv, self.dir / "logs" / log_name, role, host, marker)
            self.state.processes.append(record)
        write_state(self.dir, self.state)

    def _died_check(self, role: str) -> Callable[[], str | None]:
        def check() -> str | None:
            for record in self.state.processes_of(role):
                # gone (or a zombie), not merely caught mid-exec with an empty cmdline
                if record_exited(record):
                    return f"{role} on {record.host} exited: {_log_tail(record.log)}"
            return None

        return check

    # sshd ---------------------------------------------------------------------------------

    def start_sshd(self) -> None:
        sshd.PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        keys = self.dir / "keys"
        client_key = sshd.keygen(keys / "id_ed25519", f"fabrictui-lab-{self.lab_id}")
        authorized = keys / "authorized_keys"
        authorized.write_text(sshd.public_key(client_key) + "\n")
        hosts = self.topo.hosts
        ports = dict(zip((h.name for h in hosts), free_ports(len(hosts)), strict=True))
        self.state.ssh_ports = ports  # the same dict: a port changed on retry is recorded
        write_state(self.dir, self.state)
        host_keys = dict(
            zip(
                (h.name for h in hosts),
                _keygen_parallel(
                    [
                        (keys / "hosts" / f"{h.name}_ed25519", f"{h.name}@fabrictui-lab")
                        for h in hosts
                    ]
                ),
                strict=True,
            )
        )
        sessions = {
            h.name: sshd.install_shims(
                self.dir / "bin",
                h.name,
                self.ns(h.name),
                frr.pathspace(self.lab_id, h.name) if h.is_switch else None,
            )
            for h in hosts
        }
        (self.dir / "sshd").mkdir(parents=True, exist_ok=True)

        def spec(name: str) -> tuple[list[str], str, str | None, str]:
            config = self.dir / "sshd" / f"{name}.conf"
            config.write_text(
                sshd.render_sshd_config(
                    ports[name],
                    host_keys[name],
                    authorized,
                    self.pid_file(name),
                    sessions[name],
                    home=self.home(name),
                )
            )
            return (sshd.sshd_argv(config), "sshd", name, str(config))

        self._spawn_all([spec(h.name) for h in hosts])
        self._wait_sshd(ports, spec)
        known = [
            sshd.known_hosts_line(ports[h.name], sshd.public_key(host_keys[h.name])) for h in hosts
        ]
        (self.dir / "known_hosts").write_text("\n".join(known) + "\n")
        entries = [
            sshd.SshEntry(h.name, ports[h.name], client_key, self.dir / "known_hosts")
            for h in hosts
        ]
        (self.dir / "ssh_config").write_text(sshd.render_ssh_config(entries))

    def pid_file(self, host: str) -> Path:
        return self.dir / "sshd" / f"{host}.pid"

    def _wait_sshd(
        self,
        ports: dict[str, int],
        spec: Callable[[str], tuple[list[str], str, str | None, str]],
        timeout: float = 10.0,
        retries: int = 3,
    ) -> None:
        """Wait for every sshd's pid file. One that lost its port to another program between
        our probe and its bind gets a new port and another try."""
        pending = {r.host or "": r for r in self.state.processes_of("sshd")}
        tries = dict.fromkeys(pending, 0)
        deadline = time.monotonic() + timeout
        while pending:
            for name, record in list(pending.items()):
                pid_file = self.pid_file(name)
                if pid_file.exists() and pid_file.stat().st_size > 0:
                    del pending[name]
                elif record_exited(record):
                    log_text = Path(record.log).read_text(errors="replace")
                    if "Address already in use" not in log_text or tries[name] >= retries:
                        raise LabError(f"sshd of {name} exited: {_log_tail(record.log)}")
                    tries[name] += 1
                    (ports[name],) = free_ports(1)
                    write_state(self.dir, self.state)
                    self._spawn_all([spec(name)])
                    pending[name] = self.state.processes[-1]
            if time.monotonic() >= deadline:
                raise LabError(f"sshd did not start for {', '.join(sorted(pending))}")
            if pending:
                time.sleep(0.02)

    # inventory and the API server ---------------------------------------------------------

    def write_inventory(self) -> None:
        (kube_port,) = free_ports(1)
        self.state.kube_port = kube_port
        doc = inventory(self.topo, self.lab_id, self.state.ssh_ports or {}, kube_port)
        (self.dir / "inventory.json").write_text(json.dumps(doc, indent=2) + "\n")

    def start_kube(self) -> None:
        if not _module_runnable(KUBE_MODULE):
            self.result.kube = (
                f"not started: `python -m {KUBE_MODULE}` has nothing to run (not installed yet)"
            )
            self.log(f"  kube API: {self.result.kube}; the fabric is up without it")
            return
        argv = [sys.executable, "-m", KUBE_MODULE, "--lab-dir", str(self.dir)]
        self._spawn_all([(argv, "kubeapi", None, str(self.dir))])
        record = self.state.processes[-1]
        port = self.state.kube_port
        assert port is not None  # chosen by write_inventory, the step before
        deadline = time.monotonic() + KUBE_WAIT_S
        while time.monotonic() < deadline:
            if record_exited(record):
                self.result.kube = f"not started: the API server exited: {_log_tail(record.log)}"
                break
            if kube_version_answers(port):
                self.result.kube = "up"
                break
            time.sleep(0.2)
        else:
            self.result.kube = (
                f"not answering on 127.0.0.1:{port} after {KUBE_WAIT_S:.0f} s (see {record.log})"
            )
        if self.result.kube != "up":
            self.log(f"  kube API: {self.result.kube}; the fabric is up without it")

    # BGP ----------------------------------------------------------------------------------

    def wait_bgp(self, wait_s: float) -> None:
        leaves = [leaf.name for leaf in self.topo.leaves]
        others = len(leaves) - 1  # every leaf learns every other rack's subnet from each spine
        deadline = time.monotonic() + wait_s
        while True:
            established, configured = bgp_counts(self.lab_id, leaves, others)
            self.result.bgp_established, self.result.bgp_configured = established, configured
            if configured and established == configured:
                return
            if time.monotonic() >= deadline:
                self.log(
                    f"  bgp: only {established}/{configured} leaf sessions Established "
                    f"with all routes after {wait_s:.0f} s"
                )
                return
            time.sleep(0.25)


def _module_runnable(name: str) -> bool:
    """True if `python -m name` has something to run (a module, or a package's __main__)."""
    try:
        spec = importlib.util.find_spec(name)
        if spec is None:
            return False
        if spec.submodule_search_locations is None:
            return True
        return importlib.util.find_spec(f"{name}.__main__") is not None
    except (ImportError, ValueError):
        return False


def bgp_counts(lab_id: str, switches: Iterable[str], expected_prefixes: int = 0) -> tuple[int, int]:
    """(sessions Established with at least `expected_prefixes` routes in, sessions)."""
    established = configured = 0
    for name in switches:
        try:
            summary = frr.bgp_summary_json(lab_id, name)
            e, c = frr.converged_counts(summary, expected_prefixes)
        except frr.FrrError:
            continue
        established += e
        configured += c
    return established, configured


def kube_version_answers(port: int, timeout: float = 1.0) -> bool:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # loopback only; the API server's own cert
    try:
        with urllib.request.urlopen(
            f"https://127.0.0.1:{port}/version", timeout=timeout, context=context
        ) as answer:
            return bool(answer.status == 200)
    except urllib.error.HTTPError as exc:
        return exc.code in (401, 403)  # it answers, just wants the token
    except (OSError, ssl.SSLError):
        return False


def _log_tail(path: str, lines: int = 3) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return f"no log at {path}"
    tail = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(tail) or f"empty log {path}"


def _wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    message: str,
    died: Callable[[], str | None] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if died is not None:
            reason = died()
            if reason:
                raise LabError(reason)
        if time.monotonic() >= deadline:
            raise LabError(message)
        time.sleep(0.02)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _run_parallel(argvs: list[list[str]]) -> None:
    for chunk in _chunks(argvs, PARALLEL):
        procs = [
            subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for argv in chunk
        ]
        for argv, proc in zip(chunk, procs, strict=True):
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise LabError(f"{' '.join(argv[:5])}: {' '.join(err.split()) or 'failed'}")


def _keygen_parallel(specs: list[tuple[Path, str]]) -> list[Path]:
    for path, _ in specs:
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in (path, Path(f"{path}.pub")):
            stale.unlink(missing_ok=True)
    _run_parallel(
        [
            [sshd.SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)]
            for path, comment in specs
        ]
    )
    return [path for path, _ in specs]


# --- down ---------------------------------------------------------------------------------


@dataclass
class DownResult:
    lab_id: str | None
    seconds: float
    processes: int = 0
    namespaces: int = 0
    message: str = ""


def down(lab_dir: Path, log: Log = _silent) -> DownResult:
    """Remove everything the lab in `lab_dir` created. Safe to run twice, and after a crash."""
    check_platform(tools=False)
    lab_dir = lab_dir.resolve()
    t0 = time.monotonic()
    state = load_state(lab_dir)
    if state is None:
        return DownResult(None, 0.0, message=f"no lab in {lab_dir} (nothing to do)")
    lab_id = state.lab_id
    state.status = "stopping"
    write_state(lab_dir, state)

    # 1. the processes we recorded, API server first (it manipulates namespaces)
    order = {"kubeapi": 0, "sshd": 1, "bgpd": 2, "zebra": 3}
    records = sorted(state.processes, key=lambda r: order.get(r.role, 9))
    recorded = [r.pid for r in records if record_alive(r)]
    stop_processes(recorded)
    # 2. anything else carrying our marker (started but not yet recorded when we crashed)
    leftovers = find_leftover_processes(lab_id, lab_dir)
    stop_processes(leftovers)
    # 3. whatever still runs inside our namespaces, then the namespaces (veths go with them)
    prefix = netns_prefix(lab_id)
    names = sorted(
        set(n for n in netns.list_netns() if n.startswith(prefix))
        | {n for n in state.namespaces if os.path.exists(f"{netns.NETNS_DIR}/{n}")}
    )
    inside = pids_in_namespaces(names)
    stop_processes(inside, wait_s=0.5)
    netns.delete_all(names)
    # 4. FRR run dirs and our files
    frr.remove_run_dirs(lab_id)
    for name in GENERATED:  # never names read from the state file: it is only data
        path = lab_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    state_path(lab_dir).unlink(missing_ok=True)
    if state.created_dir:
        # `up` made this directory: whatever else landed in it is the lab's too
        shutil.rmtree(lab_dir, ignore_errors=True)
    return DownResult(
        lab_id,
        time.monotonic() - t0,
        processes=len(recorded) + len(leftovers) + len(inside),
        namespaces=len(names),
    )


# --- status -------------------------------------------------------------------------------


@dataclass
class HostStatus:
    name: str
    role: str
    netns: str
    netns_present: bool
    ssh_port: int | None
    sshd_alive: bool
    frr_alive: bool | None  # None for nodes
    bgp_established: int | None = None
    bgp_configured: int | None = None


@dataclass
class LabStatus:
    lab_dir: Path
    lab_id: str
    status: str
    hosts: list[HostStatus]
    kube_port: int | None
    kube_alive: bool | None  # None when not started
    kube_answers: bool


def status(lab_dir: Path) -> LabStatus | None:
    lab_dir = lab_dir.resolve()
    state = load_state(lab_dir)
    if state is None:
        return None
    lab_id = state.lab_id
    topo = build_topology(state.spines, state.racks, state.nodes_per_rack)
    present = set(netns.list_netns())
    alive: dict[tuple[str | None, str], bool] = {}
    for record in state.processes:
        key = (record.host, record.role)
        alive[key] = alive.get(key, True) and record_alive(record)
    ssh_ports = state.ssh_ports or {}
    hosts = []
    for host in topo.hosts:
        name = netns_name(lab_id, host.name)
        entry = HostStatus(
            host.name,
            host.role,
            name,
            name in present,
            ssh_ports.get(host.name),
            alive.get((host.name, "sshd"), False),
            None,
        )
        if host.is_switch:
            entry.frr_alive = alive.get((host.name, "zebra"), False) and alive.get(
                (host.name, "bgpd"), False
            )
        hosts.append(entry)

    def read_bgp(entry: HostStatus) -> None:
        try:
            summary = frr.bgp_summary_json(lab_id, entry.name, timeout=3.0)
        except frr.FrrError:
            return
        entry.bgp_established, entry.bgp_configured = frr.established_counts(summary)

    with ThreadPoolExecutor(max_workers=8) as pool:  # vtysh calls wait mostly on bgpd
        list(pool.map(read_bgp, [h for h in hosts if h.frr_alive]))
    kube_port = state.kube_port
    kube_alive = alive.get((None, "kubeapi"))
    kube_answers = bool(kube_alive and kube_port and kube_version_answers(int(kube_port)))
    return LabStatus(lab_dir, lab_id, state.status, hosts, kube_port, kube_alive, kube_answers)
