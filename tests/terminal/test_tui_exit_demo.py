"""The real `fabrictui --demo` in a real terminal (tmux) whose terminal goes away
by the harsh routes of issue 27: while the app is stopped (SIGSTOP, the terminal
killed, SIGCONT), during start-up, and during the app's own shutdown. After
each, the app and its capture worker are gone within 5 s. Each run prints how
long the exit took; the worst per route goes in the issue's closing note."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests._require import require
from tests._tui_exit import (
    Terminal,
    capture_workers,
    fabrictui,
    gone,
    stopped_while_terminal_dies,
    terminal,
    wait,
)

pytestmark = pytest.mark.slow

DEMO = fabrictui("--demo", "ready", "--no-record")


@pytest.fixture(autouse=True)
def _tmux() -> None:
    require(shutil.which("tmux"), "tmux is not installed")


def running(term: Terminal) -> int:
    """Start the demo app; its pid once its feeds run and it has drawn."""
    pid = term.start(DEMO)
    wait(lambda: capture_workers(pid), 20, "the capture worker started")
    wait(lambda: " running " in term.screen(), 20, "the VMs drawn (the hosts feed runs)")
    return pid


def report(how: str, times: list[float]) -> None:
    print(f"\n{how}: {len(times)} runs, exit took at worst {max(times):.2f} s")


def test_terminal_killed_while_the_app_is_stopped_ten_times(tmp_path: Path) -> None:
    times = []
    for run in range(10):
        with terminal(tmp_path, f"stopped-{run}") as term:
            pid = running(term)
            time.sleep(1.0)  # the app drawing at its steady pace, timers and all
            killed = stopped_while_terminal_dies(term)
            times.append(gone(pid, f"run {run}: SIGSTOP, terminal killed, SIGCONT", killed))
    report("terminal killed while stopped", times)


@pytest.mark.parametrize("after", [0.05, 0.4, 1.0])
def test_terminal_killed_during_start_up(tmp_path: Path, after: float) -> None:
    """Before the app draws, while it mounts, while the feeds start."""
    with terminal(tmp_path, "start-up") as term:
        pid = term.start(DEMO)
        time.sleep(after)
        killed = time.monotonic()
        term.kill()
        took = gone(pid, f"terminal killed {after} s into start-up", killed)
    report(f"terminal killed {after} s into start-up", [took])


@pytest.mark.parametrize("after", [0.0, 0.2, 0.5])
def test_terminal_killed_during_shutdown(tmp_path: Path, after: float) -> None:
    """`q` pressed, and the terminal goes while the app is stopping."""
    with terminal(tmp_path, "shutdown") as term:
        pid = running(term)
        term.keys("q")
        time.sleep(after)
        killed = time.monotonic()
        term.kill()
        took = gone(pid, f"terminal killed {after} s after q", killed)
    report(f"terminal killed {after} s into shutdown", [took])
