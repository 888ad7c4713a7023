"""Fabric polling at scale: one refresh of every switch's BGP summary, fabrictui vs OpenSSH.

Brings up a rehearsal lab (real FRR and one real sshd per host, in network namespaces; by
default 4 spines and 32 leaves, no workers, no Kubernetes API), always takes it down again,
and measures in the same run the median of several rounds of:

- fabrictui: `fabrictui.session.polling.read_all_switches` over the real backend
  (`RealLabBackend` on the lab's inventory, as `fabrictui --lab DIR` opens it): every switch
  concurrently, each command sent into the switch's long-lived vtysh session on the
  already-open asyncssh connection of its host (the app's steady state). The first refresh
  (connections opened, platform probed, vtysh sessions started) is reported separately as
  cold;
- fabrictui one-shot: the same with sessions off, one `vtysh -c` channel per switch and
  refresh (fabrictui's fallback path, and its only path before sessions);
- `ssh` per switch: one `ssh -F DIR/ssh_config HOST sudo vtysh -c 'show bgp summary json'`
  process per switch, one after the other (what a `vagrant ssh -c` user does);
- OpenSSH ControlMaster: a master per host established first (ControlPersist), then one
  `ssh -S SOCKET HOST ...` per switch, one after the other and all at once.

Every output is parsed by the same parser (`fabrictui.parsers.bgp.parse_bgp_summary`) and
every method must see the same sessions in the same states, all Established.

    python benchmarks/fabric_poll.py [--spines 4] [--racks 32] [--rounds 7] [--smoke] [--json]

Needs root (network namespaces, FRR, sshd): without it, it says so and exits 2.
Targets: fabrictui's warm refresh at least 20x faster than `ssh` per switch, and no slower
than ControlMaster.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import pwd
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from fabrictui.backends.real.backend import RealLabBackend
from fabrictui.backends.real.inventory import load_rehearsal
from fabrictui.backends.real.remote import remote_command
from fabrictui.backends.real.switches import VTYSH_JSON
from fabrictui.model import BgpSummary, SwitchReading
from fabrictui.parsers.bgp import parse_bgp_summary
from fabrictui.session.polling import read_all_switches

TARGET_VS_SSH = 20.0  # fabrictui at least this many times faster than an ssh per switch
TARGET_VS_MUX = 1.0  # and no slower than ControlMaster
READ_TIMEOUT_S = 15.0
# What the peers run: the seed's habit, through the lab's sudo (ssh joins argv with spaces).
PEER_COMMAND = shlex.join(["sudo", "vtysh", "-c", "show bgp summary json"])

Sessions = dict[str, str]  # neighbor -> state


class BenchError(RuntimeError):
    """A method failed or disagreed: the figures would mean nothing."""


def sessions_of(summary: BgpSummary) -> Sessions:
    return {peer.neighbor: peer.state for peer in summary.peers}


def parse_output(switch: str, text: str) -> Sessions:
    try:
        return sessions_of(parse_bgp_summary(text))
    except Exception as exc:  # ParseError, with the switch named
        raise BenchError(f"{switch}: unparsable output: {exc}") from None


# --- fabrictui ------------------------------------------------------------------------------


class FabrictuiPoller:
    """The real backend on one event loop that lives across rounds (connections stay open)."""

    def __init__(self, lab_dir: Path, switches: list[str], sessions: bool = True) -> None:
        self.switches = switches
        self.runner = asyncio.Runner()
        self.backend = RealLabBackend.for_inventory(load_rehearsal(lab_dir))
        self.backend.switches.use_sessions = sessions
        self.sessions = sessions
        self.warm = False

    def refresh(self) -> tuple[float, float, dict[str, Sessions]]:
        """(wall seconds, this process's CPU seconds, sessions per switch) of one refresh."""

        async def once() -> tuple[float, float, dict[str, SwitchReading]]:
            cpu = time.process_time()
            start = time.perf_counter()
            readings = await read_all_switches(self.backend, self.switches, READ_TIMEOUT_S)
            return time.perf_counter() - start, time.process_time() - cpu, readings

        reader = self.backend.switches
        before = (reader.session_reads, reader.oneshot_reads)
        wall, cpu, readings = self.runner.run(once())
        if self.warm and self.sessions and reader.session_reads - before[0] != len(self.switches):
            # a session failed and the one-shot path answered: the figure would mix both
            raise BenchError(
                f"fabrictui: {reader.session_reads - before[0]} of {len(self.switches)} "
                f"switches answered through their vtysh session"
            )
        self.warm = True
        out: dict[str, Sessions] = {}
        for name in self.switches:
            reading = readings[name]
            if reading.summary is None:
                raise BenchError(f"fabrictui: {name}: {reading.error}")
            out[name] = sessions_of(reading.summary)
        return wall, cpu, out

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.runner.run(self.backend.close())
        self.runner.close()


# --- OpenSSH --------------------------------------------------------------------------------


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _finish(switch: str, proc: subprocess.CompletedProcess[str]) -> Sessions:
    if proc.returncode != 0:
        raise BenchError(f"{switch}: ssh exit {proc.returncode}: {proc.stderr.strip()[:200]}")
    return parse_output(switch, proc.stdout)


def ssh_per_switch(config: Path, switches: list[str]) -> tuple[float, float, dict[str, Sessions]]:
    cpu = children_cpu()
    start = time.perf_counter()
    out = {}
    for switch in switches:
        proc = subprocess.run(
            ["ssh", "-F", str(config), switch, PEER_COMMAND],
            capture_output=True,
            text=True,
            timeout=READ_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
        out[switch] = _finish(switch, proc)
    return time.perf_counter() - start, children_cpu() - cpu, out


class Masters:
    """One OpenSSH ControlMaster per switch (ControlPersist), closed with `-O exit`."""

    def __init__(self, config: Path, switches: list[str]) -> None:
        self.config = config
        self.switches = switches
        # unix socket paths are limited to ~104 bytes: keep them short
        self.dir = Path(tempfile.mkdtemp(prefix="ftp-cm-", dir="/tmp"))
        self.started: list[str] = []
        self.pids: dict[str, int] = {}  # the masters' pids, as `-O check` reports them

    def socket(self, switch: str) -> str:
        return str(self.dir / switch)

    def mux_argv(self, switch: str) -> list[str]:
        return ["ssh", "-F", str(self.config), "-S", self.socket(switch), switch]

    def start(self) -> float:
        """Establish every master (all at once); returns the seconds it took."""
        start = time.perf_counter()
        procs = []
        for switch in self.switches:
            argv = [
                "ssh",
                "-F",
                str(self.config),
                "-o",
                "ControlMaster=yes",
                "-o",
                "ControlPersist=600",
                "-S",
                self.socket(switch),
                "-f",
                "-N",
                switch,
            ]
            self.started.append(switch)
            procs.append(
                (
                    switch,
                    subprocess.Popen(
                        argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
                    ),
                )
            )
        for switch, proc in procs:
            _, err = proc.communicate(timeout=30)
            if proc.returncode != 0:
                raise BenchError(f"{switch}: ControlMaster did not start: {err.strip()[:200]}")
        for switch in self.switches:
            check = subprocess.run(
                [*self.mux_argv(switch)[:-1], "-O", "check", switch],
                capture_output=True,
                text=True,
            )
            if check.returncode != 0:
                raise BenchError(f"{switch}: ControlMaster not running: {check.stderr.strip()}")
            match = re.search(r"pid=(\d+)", check.stderr + check.stdout)
            if match:
                self.pids[switch] = int(match.group(1))
        return time.perf_counter() - start

    def sequential(self) -> tuple[float, float, dict[str, Sessions]]:
        cpu = children_cpu()
        start = time.perf_counter()
        out = {}
        for switch in self.switches:
            proc = subprocess.run(
                [*self.mux_argv(switch), PEER_COMMAND],
                capture_output=True,
                text=True,
                timeout=READ_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
            out[switch] = _finish(switch, proc)
        return time.perf_counter() - start, children_cpu() - cpu, out

    def concurrent(self) -> tuple[float, float, dict[str, Sessions]]:
        cpu = children_cpu()
        start = time.perf_counter()
        procs = [
            (
                switch,
                subprocess.Popen(
                    [*self.mux_argv(switch), PEER_COMMAND],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
            for switch in self.switches
        ]
        out = {}
        for switch, proc in procs:
            stdout, stderr = proc.communicate(timeout=READ_TIMEOUT_S)
            done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
            out[switch] = _finish(switch, done)
        return time.perf_counter() - start, children_cpu() - cpu, out

    def close(self) -> None:
        for switch in self.started:
            if os.path.exists(self.socket(switch)):
                subprocess.run(
                    [*self.mux_argv(switch)[:-1], "-O", "exit", switch],
                    capture_output=True,
                    timeout=10,
                )
        # `-O exit` returns before the master is gone: wait for ours, then insist
        deadline = time.monotonic() + 3.0
        pending = {pid for pid in self.pids.values() if _is_our_master(pid, self.dir)}
        while pending and time.monotonic() < deadline:
            time.sleep(0.02)
            pending = {pid for pid in pending if _is_our_master(pid, self.dir)}
        for pid in pending:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        shutil.rmtree(self.dir, ignore_errors=True)


def _is_our_master(pid: int, control_dir: Path) -> bool:
    """The process still runs and is the ssh master whose socket is in our directory."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and str(control_dir).encode() in cmdline


# --- the floor: the same remote work without any SSH -------------------------------------


def local_floor(
    lab_dir: Path, switches: list[str], command: str
) -> tuple[float, float, dict[str, Sessions]]:
    """What every method pays on the switches: each switch's session wrapper (the lab's
    ForceCommand: into the namespace, then the command) started the way sshd starts it
    (`<login shell> -c <ForceCommand>` with SSH_ORIGINAL_COMMAND), all at once, no SSH."""
    shell = pwd.getpwuid(os.geteuid()).pw_shell or "/bin/sh"
    cpu = children_cpu()
    start = time.perf_counter()
    procs = []
    for switch in switches:
        wrapper = lab_dir / "bin" / switch / "session"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(lab_dir / "home" / switch),
            "SSH_ORIGINAL_COMMAND": command,
        }
        argv = [shell, "-c", shlex.quote(str(wrapper))]
        procs.append(
            (
                switch,
                subprocess.Popen(
                    argv,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
        )
    out = {}
    for switch, proc in procs:
        stdout, stderr = proc.communicate(timeout=READ_TIMEOUT_S)
        done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        out[switch] = _finish(switch, done)
    return time.perf_counter() - start, children_cpu() - cpu, out


# --- the run --------------------------------------------------------------------------------


@contextlib.contextmanager
def lab(spines: int, racks: int, log: Callable[[str], None]) -> Iterator[tuple[Path, dict]]:
    from fabrictui.lab.lab import running_lab
    from fabrictui.lab.topology import build_topology

    topology = build_topology(spines, racks, 0)  # rack 1 still holds the master: the tool needs it
    parent = Path(tempfile.mkdtemp(prefix="ftp-lab-", dir="/tmp"))
    try:
        with running_lab(parent / "lab", topology, kube=False, log=log) as result:
            yield (
                parent / "lab",
                {
                    "lab_id": result.lab_id,
                    "spines": spines,
                    "leaves": racks,
                    "hosts": len(topology.hosts),
                    "switches": [h.name for h in topology.switches],
                    "up_s": round(result.seconds, 2),
                    "bgp_established": result.bgp_established,
                    "bgp_configured": result.bgp_configured,
                },
            )
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def check_same(reference: dict[str, Sessions], other: dict[str, Sessions], method: str) -> None:
    for switch, sessions in reference.items():
        if other.get(switch) != sessions:
            raise BenchError(
                f"{method} disagrees with fabrictui on {switch}: {other.get(switch)} != {sessions}"
            )


def median(values: list[float]) -> float:
    return statistics.median(values)


def run(spines: int, racks: int, rounds: int, log: Callable[[str], None]) -> dict:
    load_before = os.getloadavg()
    with lab(spines, racks, log) as (lab_dir, shape):
        switches = shape["switches"]
        log(
            f"lab up: {shape['hosts']} hosts in {shape['up_s']} s, BGP "
            f"{shape['bgp_established']}/{shape['bgp_configured']} leaf sessions Established"
        )
        config = lab_dir / "ssh_config"
        poller = FabrictuiPoller(lab_dir, switches)
        oneshot = FabrictuiPoller(lab_dir, switches, sessions=False)
        masters = Masters(config, switches)
        samples: dict[str, list[float]] = {
            "fabrictui": [],
            "fabrictui_oneshot": [],
            "ssh": [],
            "mux_seq": [],
            "mux_conc": [],
            "floor": [],
        }
        cpu: dict[str, list[float]] = {k: [] for k in samples}
        try:
            cold_s, cold_cpu, reference = poller.refresh()
            expected = {
                s: racks if s.startswith("spine") else spines for s in switches
            }  # every spine peers with every leaf, nothing else
            counts = {s: len(reference[s]) for s in switches}
            if counts != expected:
                raise BenchError(f"unexpected session counts: {counts} (expected {expected})")
            not_up = {
                s: {n: st for n, st in ss.items() if st != "Established"}
                for s, ss in reference.items()
            }
            not_up = {s: bad for s, bad in not_up.items() if bad}
            if not_up:
                raise BenchError(f"sessions not Established: {not_up}")
            oneshot_cold_s, _, seen = oneshot.refresh()
            check_same(reference, seen, "fabrictui_oneshot")
            master_s = masters.start()
            methods: list[tuple[str, Callable[[], tuple[float, float, dict[str, Sessions]]]]] = [
                ("fabrictui", poller.refresh),
                ("fabrictui_oneshot", oneshot.refresh),
                ("ssh", lambda: ssh_per_switch(config, switches)),
                ("mux_seq", masters.sequential),
                ("mux_conc", masters.concurrent),
            ]
            if (lab_dir / "bin" / switches[0] / "session").exists():
                # the command line fabrictui's pool sends (with its remote timeout)
                sent = remote_command(VTYSH_JSON, timeout=poller.backend.switches.timeout + 1)
                methods.append(("floor", lambda: local_floor(lab_dir, switches, sent)))
            for i in range(rounds):  # interleaved, so load changes hit every method alike
                for name, fn in methods:
                    wall, used, seen = fn()
                    check_same(reference, seen, name)
                    samples[name].append(wall)
                    cpu[name].append(used)
                log(
                    f"round {i + 1}/{rounds}: "
                    + ", ".join(f"{k} {v[-1] * 1000:.0f} ms" for k, v in samples.items())
                )
        finally:
            masters.close()
            poller.close()
            oneshot.close()
    load_after = os.getloadavg()
    fab = median(samples["fabrictui"])
    result = {
        "lab": {k: v for k, v in shape.items() if k != "switches"},
        "switches": len(switches),
        "sessions": sum(expected.values()),
        "rounds": rounds,
        "fabrictui_cold_s": cold_s,
        "fabrictui_cold_cpu_s": cold_cpu,
        "fabrictui_oneshot_cold_s": oneshot_cold_s,
        "session_reads": poller.backend.switches.session_reads,
        "oneshot_reads_of_session_poller": poller.backend.switches.oneshot_reads,
        "controlmaster_setup_s": master_s,
        "controlmaster_dir": str(masters.dir),
        "median_s": {k: median(v) for k, v in samples.items() if v},
        "min_s": {k: min(v) for k, v in samples.items() if v},
        "max_s": {k: max(v) for k, v in samples.items() if v},
        "median_cpu_s": {k: median(v) for k, v in cpu.items() if v},
        "ratio_peer_to_fabrictui": {
            k: median(v) / fab
            for k, v in samples.items()
            if v and k not in ("fabrictui", "fabrictui_oneshot", "floor")
        },
        # fabrictui's one-shot path (sessions off) against the same peers
        "ratio_peer_to_fabrictui_oneshot": {
            k: median(v) / median(samples["fabrictui_oneshot"])
            for k, v in samples.items()
            if v and k in ("ssh", "mux_seq", "mux_conc")
        },
        "session_speedup_over_oneshot": median(samples["fabrictui_oneshot"]) / fab,
        "outputs_agree": True,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "ssh": _ssh_version(),
        },
    }
    if samples["floor"]:
        # The switches' own work (mostly vtysh start-up) runs on this machine's cores too:
        # no client can refresh faster than that CPU time spread over every core.
        floor_cpu = median(cpu["floor"])
        bound = floor_cpu / (os.cpu_count() or 1)
        result["floor"] = {
            "switch_cpu_per_command_ms": round(floor_cpu / len(switches) * 1000, 1),
            "switch_cpu_per_refresh_s": floor_cpu,
            "least_wall_on_this_machine_s": bound,
            "fabrictui_over_least": fab / bound,
            "fabrictui_oneshot_over_least": median(samples["fabrictui_oneshot"]) / bound,
            "best_possible_ratio_vs_ssh": median(samples["ssh"]) / bound,
        }
    ratios = result["ratio_peer_to_fabrictui"]
    result["targets_met"] = {
        "vs_ssh_20x": ratios["ssh"] >= TARGET_VS_SSH,
        "vs_controlmaster_sequential": ratios["mux_seq"] >= TARGET_VS_MUX,
        "vs_controlmaster_concurrent": ratios["mux_conc"] >= TARGET_VS_MUX,
    }
    return result


def _ssh_version() -> str:
    proc = subprocess.run(["ssh", "-V"], capture_output=True, text=True)
    return (proc.stderr or proc.stdout).strip().split(",")[0]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:>7.1f}ms"


LABELS = {
    "fabrictui": "fabrictui (vtysh sessions, warm)",
    "fabrictui_oneshot": "fabrictui one-shot (vtysh -c, warm)",
    "ssh": "ssh per switch, sequential",
    "mux_seq": "ControlMaster, sequential",
    "mux_conc": "ControlMaster, concurrent",
    "floor": "floor: one-shot commands, no SSH",
}


def print_table(result: dict, smoke: bool) -> None:
    lab_info = result["lab"]
    print(
        f"{lab_info['spines']} spines, {lab_info['leaves']} leaves: {result['switches']} switches, "
        f"{result['sessions']} BGP sessions; median of {result['rounds']} round(s)"
    )
    print(
        f"{'one refresh of every switch':34} {'median':>9} {'min':>9} {'max':>9} "
        f"{'client CPU':>10} {'peer/fabrictui':>15}"
    )
    for key, label in LABELS.items():
        if key not in result["median_s"]:
            continue
        ratio = result["ratio_peer_to_fabrictui"].get(key)
        ratio_text = f"{ratio:.1f}x" if ratio is not None else "-"
        if key == "fabrictui_oneshot":
            ratio_text = f"{1 / result['session_speedup_over_oneshot']:.2f}x"
        print(
            f"{label:34} {ms(result['median_s'][key])} {ms(result['min_s'][key])} "
            f"{ms(result['max_s'][key])} {result['median_cpu_s'][key] * 1000:>8.0f}ms "
            f"{ratio_text:>15}"
        )
    floor = result.get("floor")
    if floor:
        print(
            f"switch-side work of a one-shot command: {floor['switch_cpu_per_command_ms']:.1f} ms "
            f"CPU (vtysh start-up mostly), {floor['switch_cpu_per_refresh_s'] * 1000:.0f} ms per "
            f"refresh; on {result['machine']['nproc']} cores no one-shot client can refresh in "
            f"less than {floor['least_wall_on_this_machine_s'] * 1000:.0f} ms here (fabrictui "
            f"one-shot: {floor['fabrictui_oneshot_over_least']:.2f}x that; best possible "
            f"one-shot vs ssh: {floor['best_possible_ratio_vs_ssh']:.1f}x). vtysh sessions skip "
            f"that start-up: fabrictui with sessions takes {floor['fabrictui_over_least']:.2f}x "
            f"that floor"
        )
    print(
        f"{'fabrictui cold (connect+probe+vtysh)':34} {result['fabrictui_cold_s'] * 1000:>7.1f}ms"
    )
    print(
        f"fabrictui: {result['session_reads']} reads through vtysh sessions, "
        f"{result['oneshot_reads_of_session_poller']} fell back to one-shot; sessions are "
        f"{result['session_speedup_over_oneshot']:.1f}x faster than one-shot; one-shot vs ssh "
        f"per switch {result['ratio_peer_to_fabrictui_oneshot']['ssh']:.1f}x"
    )
    print(
        f"{'ControlMaster set-up (all hosts)':34} {result['controlmaster_setup_s'] * 1000:>7.1f}ms"
    )
    print(f"load average before {result['loadavg_before']}, after {result['loadavg_after']}")
    if not smoke:
        met = result["targets_met"]
        verdict = (
            "met"
            if all(met.values())
            else "NOT met: " + ", ".join(k for k, ok in met.items() if not ok)
        )
        print(
            f"targets (>= {TARGET_VS_SSH:.0f}x ssh per switch, no slower than ControlMaster): "
            f"{verdict}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spines", type=int, default=4)
    parser.add_argument("--racks", type=int, default=32, help="leaves (one per rack)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="reference lab (2+2), 1 round")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        print(
            "fabric_poll needs root on Linux: it brings up a rehearsal lab (network "
            "namespaces, FRR, sshd). Run it as root, e.g. `sudo python benchmarks/fabric_poll.py`.",
            file=sys.stderr,
        )
        return 2
    from fabrictui.lab.lab import LabUnsupported, check_platform

    try:
        check_platform()
    except LabUnsupported as exc:
        print(f"fabric_poll: {exc}", file=sys.stderr)
        return 2
    if shutil.which("ssh") is None:
        print("fabric_poll: the OpenSSH client (ssh) is not installed", file=sys.stderr)
        return 2
    spines, racks, rounds = (2, 2, 1) if args.smoke else (args.spines, args.racks, args.rounds)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        result = run(spines, racks, rounds, log)
    except BenchError as exc:
        print(f"fabric_poll: {exc}", file=sys.stderr)
        return 1
    result["smoke"] = args.smoke
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result, args.smoke)
    if args.smoke:
        return 0
    return 0 if all(result["targets_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
