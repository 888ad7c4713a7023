"""The headless commands when their terminal goes or a signal comes (issue 27):
they end promptly as a cancelled run (their captures and connections closed by
their own `finally`, the audit saying cancelled, exit code 128 + the signal),
also when the terminal goes without sending SIGHUP. The demo lab here; the
rehearsal lab's in tests/terminal/test_tui_lifecycle.py."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from fabrictui.audit import read_audit
from tests._require import require
from tests._tui_exit import GONE_WITHIN, Drain, alive, fabrictui, open_pty, terminal, wait

pytestmark = pytest.mark.slow

PING = fabrictui("ping", "--demo", "ready", "--count", "5")


def last(action: str) -> str:
    rows = [row for row in read_audit() if row.action == action]
    assert rows, f"no {action} in the audit log"
    return rows[-1].result


def test_ping_whose_terminal_is_killed_is_cancelled(tmp_path: Path) -> None:
    require(shutil.which("tmux"), "tmux is not installed")
    with terminal(tmp_path, "ping") as term:
        pid = term.start(PING)
        wait(lambda: "ping mesh:" in term.screen(), 20, "the ping mesh started")
        killed = time.monotonic()
        term.kill()
        wait(lambda: not alive(pid), GONE_WITHIN, "fabrictui ping gone")
    print(f"\nping, terminal killed: gone in {time.monotonic() - killed:.2f} s")
    assert last("ping") == "cancelled"


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
def test_ping_ends_cancelled_on_a_signal_even_with_sigint_ignored(number: int) -> None:
    """A command started in the background of a script has SIGINT ignored: the
    signal must not need it."""
    child = subprocess.Popen(
        PING,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert child.stderr is not None
    assert b"ping mesh:" in child.stderr.readline()
    child.send_signal(number)
    sent = time.monotonic()
    assert child.wait(GONE_WITHIN) == 128 + number
    print(f"\nping, {signal.Signals(number).name}: gone in {time.monotonic() - sent:.2f} s")
    assert last("ping") == "cancelled"


def test_record_ends_when_its_terminal_goes_without_sighup(tmp_path: Path) -> None:
    """`record` writes nothing while it records: only the terminal's hang-up,
    seen on its descriptors, tells it the terminal went (no SIGHUP: its own
    session, no controlling terminal)."""
    master, screen = open_pty()
    drain = Drain(master)
    out = tmp_path / "session.rec.sqlite"
    child = subprocess.Popen(
        fabrictui("record", "--demo", "ready", "-o", str(out)),
        stdin=screen,
        stdout=screen,
        stderr=screen,
        start_new_session=True,
    )
    try:
        os.close(screen)
        wait(lambda: b"recording" in drain.seen, 20, "recording started")
        time.sleep(1.0)
        drain.stop()
        os.close(master)
        closed = time.monotonic()
        assert child.wait(GONE_WITHIN) == 0
        print(f"\nrecord, terminal gone without SIGHUP: gone in {time.monotonic() - closed:.2f} s")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert out.exists()
