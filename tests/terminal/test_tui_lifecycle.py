"""The real `fabrictui` in a real terminal (tmux) on the rehearsal lab: however
it ends (q, its terminal closed, SIGTERM, kill -9), nothing it started keeps
running on the lab's hosts. Checked with `ip netns pids` in every namespace of
the lab: the overlay's captures are one tcpdump per node while the app runs.
Nor on the jump host: its capture worker process ends with it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrictui.session.capture_worker.protocol import MODULE as CAPTURE_WORKER
from tests._rehearsal_tui import lab_namespaces, processes_in, rehearsal_lab
from tests._require import require

pytestmark = [pytest.mark.lab, pytest.mark.slow]

NODES = 5
SESSION = f"fabrictui-lifecycle-{os.getpid()}"


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(shutil.which("tmux"), "tmux is not installed")
    with rehearsal_lab(tmp_path_factory.mktemp("life") / "lab") as directory:
        yield directory


def tmux(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False)


def tcpdumps(lab_dir: Path) -> list[tuple[int, str]]:
    return [p for ns in lab_namespaces(lab_dir) for p in processes_in(ns, ("tcpdump",))]


def capture_workers(pid: int) -> list[int]:
    """The app's capture worker processes (their command line names the app's pid)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if CAPTURE_WORKER.encode() in argv and str(pid).encode() in argv and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def wait(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.2)
    return time.monotonic() - started


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in _status(pid)


def _status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"


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


def assert_nothing_left(lab_dir: Path, pid: int, how: str, timeout: float = 15.0) -> None:
    took = wait(lambda: not tcpdumps(lab_dir), timeout, f"tcpdump gone after {how}")
    wait(lambda: not alive(pid), 10, f"fabrictui gone after {how}")
    wait(lambda: not capture_workers(pid), 10, f"its capture worker gone after {how}")
    print(f"\n{how}: every tcpdump gone within {took:.2f} s")


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
