"""Bring the rehearsal lab up, report on it, and take it down again (also after a crash).

Everything `up` creates is recorded in DIR/state.json *before* the step that creates it, so
`down` can clean up whatever a crash or `kill -9` left behind. `down` also finds leftovers on
its own: namespaces by the `ftl-<lab_id>-` prefix, processes by the marker each one carries
on its command line (the FRR path space, the sshd config path, the API server's lab dir).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fabrictui.lab import frr, netns, sshd, telemetry
from fabrictui.lab.build import BGP_WAIT_S, Builder, Log, UpResult, kube_version_answers, silent
from fabrictui.lab.kubeapi.controllers.dns import sweep_resolv
from fabrictui.lab.kubeapi.versions import DEFAULT_VERSION
from fabrictui.lab.labstate import (
    STATE_FILE,
    STATE_FORMAT,
    LabError,
    RunningLab,
    load_state,
    read_state,
    state_path,
    write_state,
)
from fabrictui.lab.processes import (
    find_leftover_processes,
    pids_in_namespaces,
    record_alive,
    stop_processes,
)
from fabrictui.lab.topology import (
    LabTopology,
    build_topology,
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
    telemetry.DIR_NAME,  # `--telemetry`: Prometheus's configuration and its data
)


REQUIRED_TOOLS = {
    "ip": "iproute2",
    "/usr/lib/frr/zebra": "frr",
    "/usr/lib/frr/bgpd": "frr",
    "/usr/bin/vtysh": "frr",
    "/usr/sbin/sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
}


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


# --- up -----------------------------------------------------------------------------------


def up(
    lab_dir: Path,
    topology: LabTopology | None = None,
    kube: bool = True,
    log: Log = silent,
    bgp_wait_s: float = BGP_WAIT_S,
    lab_id: str | None = None,
    kube_version: str = DEFAULT_VERSION,
    bare_nodes: bool = False,
    telemetry_on: bool = False,
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
    if bare_nodes:
        state.extra["bare_nodes"] = True
    builder = Builder(
        lab_dir, topology, lab_id, state, result, log, kube_version, bare_nodes=bare_nodes
    )
    builder.run(kube, bgp_wait_s)
    if telemetry_on:
        builder.step(
            "telemetry",
            lambda: setattr(
                result,
                "prometheus",
                telemetry.start(lab_dir, topology, lab_id, state, lab_dir / "logs"),
            ),
        )
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
    log: Log = silent,
    kube_version: str = DEFAULT_VERSION,
    bare_nodes: bool = False,
    telemetry_on: bool = False,
) -> Iterator[UpResult]:
    """`up`, then always `down` (also when `up` fails half-way): for tests and scripts."""
    try:
        result = up(
            lab_dir,
            topology,
            kube=kube,
            log=log,
            bgp_wait_s=bgp_wait_s,
            kube_version=kube_version,
            bare_nodes=bare_nodes,
            telemetry_on=telemetry_on,
        )
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


# --- down ---------------------------------------------------------------------------------


@dataclass
class DownResult:
    lab_id: str | None
    seconds: float
    processes: int = 0
    namespaces: int = 0
    message: str = ""


def down(lab_dir: Path, log: Log = silent) -> DownResult:
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
    sweep_resolv(prefix)  # the pods' resolv.conf folders under /etc/netns
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


STATUS_PROBE_S = 1.0  # how long `lab status` waits for a part that runs to answer


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
    ssh_answers: bool = False  # its sshd sent its banner within STATUS_PROBE_S


@dataclass
class LabStatus:
    lab_dir: Path
    lab_id: str
    status: str
    hosts: list[HostStatus]
    kube_port: int | None
    kube_alive: bool | None  # None when not started
    kube_answers: bool
    prometheus: str | None = None  # `--telemetry`: the lab's Prometheus


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

    def probe_ssh(entry: HostStatus) -> None:
        entry.ssh_answers = bool(entry.ssh_port) and sshd.banner_answers(
            int(entry.ssh_port), STATUS_PROBE_S
        )

    # vtysh calls and probes wait mostly on the parts: all at once, the bound is the longest
    with ThreadPoolExecutor(max_workers=16) as pool:
        jobs = [pool.submit(read_bgp, h) for h in hosts if h.frr_alive]
        jobs += [pool.submit(probe_ssh, h) for h in hosts if h.sshd_alive]
        for job in jobs:
            job.result()
    kube_port = state.kube_port
    kube_alive = alive.get((None, "kubeapi"))
    answers = kube_port and kube_version_answers(int(kube_port), STATUS_PROBE_S)
    kube_answers = bool(kube_alive and answers)
    return LabStatus(
        lab_dir,
        lab_id,
        state.status,
        hosts,
        kube_port,
        kube_alive,
        kube_answers,
        telemetry.prometheus_url(state),
    )
