"""The Textual workaround of `fabrictui/ui/terminal.py`, one test per defect it
covers, each on the real command (`fabrictui --demo`) in a real pseudo-terminal
and in a session of its own, so no SIGHUP ever comes: only the terminal's file
descriptors tell that it went. Each fails with that part of the workaround
removed (Textual 8.2.8): the process never ends.

- output fails (EIO) while input is still there: the writer thread must not die
  with its queue full (`_GuardedOutput`);
- input at end of file while output still works: someone must notice (the input
  hang-up watch);
- SIGSTOP / SIGCONT with the terminal still there: no second writer and input
  thread (resume only after a suspend).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._tui_exit import (
    GONE_WITHIN,
    Drain,
    alive,
    app_processes,
    fabrictui,
    open_pty,
    wait,
)

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def demo_app(stdin: int, output: int) -> Iterator[subprocess.Popen]:
    """`fabrictui --demo ready` with these descriptors, in a new session (no
    controlling terminal: nothing sends it SIGHUP); killed afterwards."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen(
        fabrictui("--demo", "ready", "--no-record"),
        stdin=stdin,
        stdout=output,
        stderr=output,
        start_new_session=True,
        env={**env, "TERM": "xterm-256color"},
    )
    try:
        yield process
    finally:
        for pid in app_processes(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
        process.wait()


def drawn(drain: Drain) -> None:
    wait(lambda: b"spine-sw1" in drain.seen and b"running" in drain.seen, 20, "the app drew")


def ended(process: subprocess.Popen) -> float:
    started = time.monotonic()
    wait(lambda: process.poll() is not None, GONE_WITHIN, "fabrictui gone")
    wait(lambda: not app_processes(process.pid), 2.0, "its capture worker gone")
    return time.monotonic() - started


def test_output_failing_with_eio_ends_the_app(tmp_path: Path) -> None:
    """The terminal the app writes to is gone (its master closed: writes fail
    with EIO); its input is another terminal, still there, and no signal comes."""
    keys_master, keys = open_pty()
    screen_master, screen = open_pty()
    drain = Drain(screen_master)
    with demo_app(keys, screen) as process:
        os.close(keys)
        os.close(screen)
        drawn(drain)
        drain.stop()
        os.close(screen_master)
        took = ended(process)
    os.close(keys_master)
    print(f"\noutput failing (EIO), no SIGHUP: gone in {took:.2f} s")


def test_input_at_end_of_file_ends_the_app(tmp_path: Path) -> None:
    """The app's input is a pipe that closes; its screen is still there."""
    read_end, write_end = os.pipe()
    screen_master, screen = open_pty()
    drain = Drain(screen_master)
    with demo_app(read_end, screen) as process:
        os.close(read_end)
        os.close(screen)
        drawn(drain)
        os.close(write_end)
        took = ended(process)
    drain.stop()
    os.close(screen_master)
    print(f"\ninput at end of file: gone in {took:.2f} s")


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def test_sigstop_and_sigcont_start_no_second_driver(tmp_path: Path) -> None:
    """A plain SIGSTOP and SIGCONT (a loaded host; no suspend asked for) leave the
    app as it was: Textual 8.2.8 starts another writer and input thread on each
    SIGCONT, forgetting the running ones."""
    screen_master, screen = open_pty()
    drain = Drain(screen_master)
    with demo_app(screen, screen) as process:
        os.close(screen)
        drawn(drain)
        time.sleep(1.0)  # the feeds' threads are up
        before = threads(process.pid)
        for _ in range(5):
            os.kill(process.pid, signal.SIGSTOP)
            time.sleep(0.05)
            os.kill(process.pid, signal.SIGCONT)
            time.sleep(0.2)
        after = threads(process.pid)
        assert alive(process.pid)
        # without the workaround: two more threads for each SIGCONT (ten here)
        assert after - before < 4, f"{after - before} more threads after 5 SIGSTOP/SIGCONT"
    drain.stop()
    os.close(screen_master)
