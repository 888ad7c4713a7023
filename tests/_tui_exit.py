"""Shared by the tests of how the real `fabrictui` ends when its terminal goes:
a terminal of its own (a private tmux server, so killing it kills nobody
else's), the app's processes, and waiting on them with the time it took."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import shlex
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from fabrictui.session.capture_worker.protocol import MODULE as CAPTURE_WORKER
from tests._sshd import descendants

GONE_WITHIN = 5.0  # seconds from the terminal going away to the process gone (issue 27)


def alive(pid: int) -> bool:
    """Running (a zombie has ended: only its parent has yet to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait(condition: Callable[[], object], timeout: float, what: str) -> float:
    """Seconds until `condition` held; fails the test after `timeout`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"not within {timeout:g} s: {what}"
        time.sleep(0.05)
    return time.monotonic() - started


class Terminal:
    """One tmux server of our own running one command in a 160x48 window:
    `kill()` is the terminal emulator (or the ssh session) going away."""

    def __init__(self, tmp_path: Path, name: str) -> None:
        self.socket = f"fabrictui-exit-{os.getpid()}-{name}"
        self.pid_file = tmp_path / f"{name}.pid"
        self.pid = 0
        self.socket_path = ""

    def tmux(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False
        )

    def start(self, argv: list[str]) -> int:
        """Run `argv` (the shell's pid is the app's: exec); its pid once started."""
        env = " ".join(
            f"{key}={shlex.quote(os.environ[key])}"
            for key in ("FABRICTUI_CONFIG_DIR", "FABRICTUI_STATE_DIR", "PYTHONPATH")
            if key in os.environ
        )
        # COLUMNS/LINES would override the window's size (the test runner may set them)
        command = (
            f"echo $$ > {self.pid_file}; exec env -u COLUMNS -u LINES {env} {shlex.join(argv)}"
        )
        self.pid_file.unlink(missing_ok=True)
        done = self.tmux("new-session", "-d", "-s", "app", "-x", "160", "-y", "48", command)
        assert done.returncode == 0, done.stderr
        self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").stdout.strip()
        wait(lambda: self.pid_file.exists() and self.pid_file.read_text().strip(), 10, "started")
        self.pid = int(self.pid_file.read_text())
        return self.pid

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "app").stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "app", *keys)

    def kill(self) -> None:
        self.tmux("kill-server")


def fabrictui(*args: str) -> list[str]:
    return [sys.executable, "-m", "fabrictui.cli", *args]


@contextlib.contextmanager
def terminal(tmp_path: Path, name: str) -> Iterator[Terminal]:
    """A Terminal, and whatever it ran killed afterwards (also when the test failed)."""
    term = Terminal(tmp_path, name)
    try:
        yield term
    finally:
        term.kill()
        if term.socket_path:  # a killed server leaves its socket file behind
            Path(term.socket_path).unlink(missing_ok=True)
        if term.pid:
            for pid in [*descendants(term.pid), *capture_workers(term.pid), term.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
                    os.kill(pid, signal.SIGKILL)


def stopped_while_terminal_dies(term: Terminal) -> float:
    """The harsh route of issue 27: the app is not scheduled when its terminal
    goes (a loaded host, a suspended client), and runs again after. When the
    terminal went (time.monotonic)."""
    os.kill(term.pid, signal.SIGSTOP)
    killed = time.monotonic()
    term.kill()
    time.sleep(0.3)
    os.kill(term.pid, signal.SIGCONT)
    return killed


def capture_workers(pid: int) -> list[int]:
    """The capture worker processes of the app `pid` (their command line names it),
    found even once the app is gone and they were handed to init."""
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


def app_processes(pid: int) -> list[int]:
    """The app `pid` (while it runs) and its capture workers."""
    return [p for p in [pid, *capture_workers(pid)] if alive(p)]


def gone(pid: int, how: str, since: float) -> float:
    """Seconds from `since` (time.monotonic) until the app and its capture workers
    have ended; fails past GONE_WITHIN."""
    left = GONE_WITHIN - (time.monotonic() - since)
    wait(lambda: not app_processes(pid), left, f"fabrictui gone after {how}")
    return time.monotonic() - since


def open_pty(columns: int = 160, rows: int = 48) -> tuple[int, int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    return master, slave


class Drain:
    """Reads what the app writes (a terminal that is not read stops the writer),
    keeping the text seen so far."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.seen = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    self.seen = (self.seen + os.read(self.fd, 65536))[-200_000:]
                except OSError:
                    return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
