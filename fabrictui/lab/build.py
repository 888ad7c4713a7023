"""Building the rehearsal lab step by step (namespaces, links, FRR, sshd, the API server),
each step recorded in DIR/state.json before it runs, so `down` can undo a half-built lab."""

import importlib.util
import json
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fabrictui.lab import frr, netns, sshd
from fabrictui.lab.kubeapi.versions import DEFAULT_VERSION
from fabrictui.lab.labstate import (
    LabError,
    RunningLab,
    write_state,
)
from fabrictui.lab.processes import KUBE_MODULE, free_ports, record_exited, start_process
from fabrictui.lab.topology import (
    LabHost,
    LabTopology,
    inventory,
    netns_name,
)

KUBE_WAIT_S = 15.0
BGP_WAIT_S = 30.0
PARALLEL = 24  # processes started at once when configuring many namespaces

NS_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
    "net.ipv6.conf.all.disable_ipv6": "1",
    "net.ipv6.conf.default.disable_ipv6": "1",
}

Log = Callable[[str], None]


@dataclass
class UpResult:
    lab_id: str
    seconds: float
    steps: list[tuple[str, float]] = field(default_factory=list)
    kube: str = "skipped"  # "up", "skipped", or the reason it is not
    bgp_established: int = 0
    bgp_configured: int = 0
    prometheus: str | None = None  # `--telemetry`: the lab's Prometheus URL


def silent(_: str) -> None:
    pass


class Builder:
    def __init__(
        self,
        lab_dir: Path,
        topology: LabTopology,
        lab_id: str,
        state: RunningLab,
        result: UpResult,
        log: Log,
        kube_version: str = DEFAULT_VERSION,
        bare_nodes: bool = False,
    ) -> None:
        self.kube_version = kube_version  # what the lab's API server claims and serves
        self.dir = lab_dir
        self.bare_nodes = bare_nodes  # nodes as bare as the seed's fresh boxes (no tcpdump)
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
                sandboxes=self.dir / "kubeapi" / "sandboxes.json",
                bare=self.bare_nodes and not h.is_switch,
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
        if not module_runnable(KUBE_MODULE):
            self.result.kube = (
                f"not started: `python -m {KUBE_MODULE}` has nothing to run (not installed yet)"
            )
            self.log(f"  kube API: {self.result.kube}; the fabric is up without it")
            return
        argv = [sys.executable, "-m", KUBE_MODULE, "--lab-dir", str(self.dir),
                "--kube-version", self.kube_version]  # fmt: skip
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


def module_runnable(name: str) -> bool:
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
