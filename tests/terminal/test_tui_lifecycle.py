"""The real `fabrictui` in a real terminal (tmux) on the rehearsal lab: however
it ends (q, its terminal closed, SIGTERM, kill -9, the terminal killed while the
app was stopped), nothing it started keeps running on the lab's hosts. Checked
with `ip netns pids` in every namespace of the lab: the overlay's captures are
one tcpdump per node while the app runs, a ping mesh runs pings in the pods.
Nor on the jump host: its capture worker process ends with it, and so do its
SSH connections. The headless capture piped into `head -1` likewise."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrictui.audit import read_audit
from tests._rehearsal_tui import lab_namespaces, processes_in
from tests._require import require
from tests._sshd import descendants
from tests._tui_exit import (
    GONE_WITHIN,
    Terminal,
    alive,
    app_processes,
    capture_workers,
    stopped_while_terminal_dies,
    terminal,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]

NODES = 5
SESSION = f"fabrictui-lifecycle-{os.getpid()}"


@pytest.fixture(scope="module")
def lab_dir(shared_lab) -> Path:
    require(shutil.which("tmux"), "tmux is not installed")
    return shared_lab.take()  # Calico and nginx at 4 replicas: the ping mesh needs pods


def tmux(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False)


def tcpdumps(lab_dir: Path) -> list[tuple[int, str]]:
    return [p for ns in lab_namespaces(lab_dir) for p in processes_in(ns, ("tcpdump",))]


def wait(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.2)
    return time.monotonic() - started


def start_in_tmux(lab_dir: Path, tmp_path: Path) -> int:
    """`fabrictui --lab DIR` in a new 160x48 tmux session; its pid once running."""
    pid_file = tmp_path / "pid"
    env = " ".join(
        f"{key}={os.environ[key]}"
        for key in ("FABRICTUI_CONFIG_DIR", "FABRICTUI_STATE_DIR")
        if key in os.environ
    )
    command = (
        f"echo $$ > {pid_file}; exec env {env} {sys.executable} -m fabrictui.cli --lab {lab_dir}"
    )
    tmux("kill-session", "-t", SESSION)
    done = tmux("new-session", "-d", "-s", SESSION, "-x", "160", "-y", "48", command)
    assert done.returncode == 0, done.stderr
    wait(pid_file.exists, 10, "the terminal started")
    time.sleep(0.2)
    return int(pid_file.read_text())


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION).stdout


@pytest.fixture
def running(lab_dir: Path, tmp_path: Path) -> Iterator[int]:
    pid = start_in_tmux(lab_dir, tmp_path)
    try:
        wait(lambda: len(tcpdumps(lab_dir)) == NODES, 60, "one tcpdump per node")
        assert len(capture_workers(pid)) == 1, "one capture worker while the app runs"
        assert "Traceback" not in screen()
        yield pid
    finally:
        tmux("kill-session", "-t", SESSION)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
        for worker in capture_workers(pid):
            os.kill(worker, signal.SIGKILL)


def assert_nothing_left(lab_dir: Path, pid: int, how: str) -> None:
    took = nothing_left(lab_dir, pid, how, time.monotonic())
    print(f"\n{how}: app, tcpdumps and SSH connections gone within {took:.2f} s")


def test_quit_with_q_stops_every_capture(lab_dir: Path, running: int) -> None:
    tmux("send-keys", "-t", SESSION, "q")
    assert_nothing_left(lab_dir, running, "q")


def test_closing_the_terminal_stops_every_capture(lab_dir: Path, running: int) -> None:
    """The ssh session to the jump host drops: the terminal goes, SIGHUP comes."""
    tmux("kill-session", "-t", SESSION)
    assert_nothing_left(lab_dir, running, "terminal closed (SIGHUP)")


def test_sigterm_stops_every_capture(lab_dir: Path, running: int) -> None:
    os.kill(running, signal.SIGTERM)
    assert_nothing_left(lab_dir, running, "SIGTERM")


def test_kill_9_leaves_no_capture_behind(lab_dir: Path, running: int) -> None:
    """No handler runs: each remote capture ends by itself when its SSH channel
    closes (the kernel closes the app's sockets)."""
    os.kill(running, signal.SIGKILL)
    assert_nothing_left(lab_dir, running, "kill -9")


# -- the harsh routes of issue 27 ------------------------------------------------------------


def lab_processes(lab_dir: Path) -> list[tuple[int, str]]:
    """Every tcpdump and ping in any of the lab's namespaces."""
    return [p for ns in lab_namespaces(lab_dir) for p in processes_in(ns, ("tcpdump", "ping"))]


def lab_connections(lab_dir: Path) -> list[str]:
    """Established TCP connections to the lab's sshd and API server ports (only the
    command under test uses them here)."""
    from fabrictui.lab.lab import read_state

    state = read_state(lab_dir)
    assert state is not None
    ports = {*state["ports"]["ssh"].values(), state["ports"]["kube"]}
    out = subprocess.run(
        ["ss", "-Htn", "state", "established"], capture_output=True, text=True, check=False
    ).stdout
    return [
        line for line in out.splitlines() if any(f"127.0.0.1:{p} " in line + " " for p in ports)
    ]


def nothing_left(lab_dir: Path, pid: int, how: str, since: float) -> float:
    """Seconds from `since` until the app, its capture worker, every tcpdump and
    ping on the lab and every SSH connection of ours are gone; at most GONE_WITHIN."""

    def left() -> list[object]:
        return [*app_processes(pid), *lab_processes(lab_dir), *lab_connections(lab_dir)]

    while left():
        assert time.monotonic() - since < GONE_WITHIN, f"still there after {how}: {left()}"
        time.sleep(0.05)
    return time.monotonic() - since


def test_terminal_killed_while_stopped_with_captures_and_a_ping_mesh(
    lab_dir: Path, tmp_path: Path
) -> None:
    """SIGSTOP the app, kill its terminal (its own tmux server), SIGCONT: three
    times, each with the overlay's five captures and a ping mesh running."""
    require(shutil.which("ss"), "ss (iproute2) is not installed")
    assert not lab_connections(lab_dir)
    times = []
    for run in range(3):
        with terminal(tmp_path, f"lab-{run}") as term:
            pid = term.start([sys.executable, "-m", "fabrictui.cli", "--lab", str(lab_dir)])
            wait(lambda: len(tcpdumps(lab_dir)) == NODES, 60, "one tcpdump per node")
            ping_mesh_running(term, lab_dir)
            killed = stopped_while_terminal_dies(term)
            times.append(nothing_left(lab_dir, pid, f"run {run}: stopped, terminal killed", killed))
    print(f"\nrehearsal lab, terminal killed while stopped: worst {max(times):.2f} s")


def ping_mesh_running(term: Terminal, lab_dir: Path) -> None:
    """`P` until the mesh pings (it needs the nginx pods listed first)."""
    started = time.monotonic()
    while not any(name == "ping" for _, name in lab_processes(lab_dir)):
        assert time.monotonic() - started < 60, "no ping mesh within 60 s"
        term.keys("P")
        for _ in range(10):
            if any(name == "ping" for _, name in lab_processes(lab_dir)):
                return
            time.sleep(0.2)


def test_headless_capture_into_head_leaves_no_tcpdump(lab_dir: Path, tmp_path: Path) -> None:
    """`fabrictui capture --node N | head -1`: head exits after one frame, the
    capture ends at its next write and closes its tcpdump."""
    fabrictui = f"{sys.executable} -m fabrictui.cli"
    # traffic to capture: a ping mesh from the command line, alongside
    pinging = subprocess.Popen(
        [*fabrictui.split(), "ping", "--lab", str(lab_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    pipeline = subprocess.Popen(
        ["sh", "-c", f"{fabrictui} capture --node k8s-node-l2-1 --lab {lab_dir} | head -1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        capture = wait_for_capture(pipeline.pid)
        line = pipeline.stdout.readline()  # head's one line: it has exited, or is exiting
        assert "k8s-node-l2-1" in line or "vni" in line, line
        took = wait(
            lambda: not tcpdumps(lab_dir) and not alive(capture),
            GONE_WITHIN,
            "the capture and its tcpdump gone after head -1",
        )
        assert pipeline.wait(5) == 0
    finally:
        for process in (pipeline, pinging):
            if process.poll() is None:
                for p in [*descendants(process.pid), process.pid]:
                    os.kill(p, signal.SIGKILL)
            process.wait()
    wait(lambda: not lab_processes(lab_dir), 15, "the ping mesh's pings ended")
    print(f"\ncapture | head -1: capture and tcpdump gone {took:.2f} s after the line")


def wait_for_capture(shell: int) -> int:
    """The `fabrictui capture` process of the pipeline, once it runs."""
    found: list[int] = []

    def started() -> bool:
        found[:] = [
            p for p in descendants(shell) if b"capture" in Path(f"/proc/{p}/cmdline").read_bytes()
        ]
        return bool(found)

    wait(started, 10, "the capture started")
    return found[0]


def test_kill_9_during_a_ping_mesh_leaves_nothing(lab_dir: Path, tmp_path: Path) -> None:
    """No handler runs: the captures end with their SSH channels, the pings with
    their exec streams, both closed by the kernel with the process."""
    with terminal(tmp_path, "kill-9") as term:
        pid = term.start([sys.executable, "-m", "fabrictui.cli", "--lab", str(lab_dir)])
        wait(lambda: len(tcpdumps(lab_dir)) == NODES, 60, "one tcpdump per node")
        ping_mesh_running(term, lab_dir)
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        took = nothing_left(lab_dir, pid, "kill -9 during a ping mesh", killed)
    print(f"\nkill -9 during a ping mesh: nothing left within {took:.2f} s")


def lab_servers(lab_dir: Path) -> list[int]:
    """The lab's sshd and API server processes, with every session they forked."""
    from fabrictui.lab.lab import read_state
    from fabrictui.lab.processes import record_alive

    state = read_state(lab_dir)
    assert state is not None
    # the records of servers an earlier test killed and started again stay in the list
    roots = [
        p["pid"] for p in state["processes"] if p["role"] in ("sshd", "kubeapi") and record_alive(p)
    ]
    return [pid for root in roots for pid in (root, *descendants(root))]


def test_a_lab_that_stopped_answering_does_not_keep_the_app(lab_dir: Path, tmp_path: Path) -> None:
    """Every sshd and the API server of the lab stopped (SIGSTOP): SIGTERM still
    ends the app within 5 s, and the audit log names the step it gave up on.
    Once the lab answers again, its captures end (their channels are closed)."""
    with terminal(tmp_path, "frozen") as term:
        pid = term.start([sys.executable, "-m", "fabrictui.cli", "--lab", str(lab_dir)])
        wait(lambda: len(tcpdumps(lab_dir)) == NODES, 60, "one tcpdump per node")
        frozen = lab_servers(lab_dir)
        try:
            for server in frozen:
                os.kill(server, signal.SIGSTOP)
            os.kill(pid, signal.SIGTERM)
            took = wait(lambda: not app_processes(pid), GONE_WITHIN, "app gone, lab frozen")
        finally:
            for server in frozen:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(server, signal.SIGCONT)
        thawed = time.monotonic()
        nothing_left(lab_dir, pid, "the lab answering again", thawed)
    exits = [row for row in read_audit() if row.action == "exit"]
    assert exits and exits[-1].result == "cut off", exits
    assert exits[-1].target == "SIGTERM"
    print(f"\nlab frozen, SIGTERM: app gone in {took:.2f} s ({exits[-1].summary})")


@pytest.mark.parametrize("name", ["ping", "capture", "record", "verify", "trace"])
def test_headless_command_whose_terminal_dies_while_stopped(
    lab_dir: Path, tmp_path: Path, name: str
) -> None:
    """The headless commands by the same harsh route, each while it is at work on
    the lab (pinging, capturing): nothing left within 5 s."""
    pods = nginx_pods(lab_dir)
    rest = {
        "ping": ["--count", "5"],
        "capture": ["--node", "k8s-node-l2-1"],
        "trace": ["--from", f"space1/{pods[0][0]}", "--to", pods[-1][1]],
    }.get(name, [])
    pinging = lambda: any(n == "ping" for _, n in lab_processes(lab_dir))  # noqa: E731
    busy = {"ping": pinging, "verify": pinging, "trace": lambda: lab_processes(lab_dir)}.get(
        name, lambda: tcpdumps(lab_dir)
    )
    with terminal(tmp_path, name) as term:
        pid = term.start(
            [sys.executable, "-m", "fabrictui.cli", name, "--lab", str(lab_dir), *rest]
        )
        wait(busy, 30, f"{name} at work on the lab")
        killed = stopped_while_terminal_dies(term)
        took = nothing_left(lab_dir, pid, f"{name}: stopped, terminal killed", killed)
    if name in ("ping", "verify", "trace"):
        assert [r for r in read_audit() if r.action == name][-1].result == "cancelled"
    print(f"\nheadless {name}, terminal killed while stopped: nothing left within {took:.2f} s")


def nginx_pods(lab_dir: Path) -> list[tuple[str, str]]:
    """(name, IP) of the running nginx pods, from the lab's API server."""
    out = subprocess.run(
        ["kubectl", "--kubeconfig", str(lab_dir / "kubeconfig"), "get", "pods", "-n", "space1",
         "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.podIP}{\"\\n\"}{end}"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    pods = [tuple(line.split()) for line in out.splitlines() if len(line.split()) == 2]
    assert len(pods) >= 2, out
    return pods  # type: ignore[return-value]
