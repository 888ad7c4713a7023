"""The process's own end: once something says we are ending (a signal, the
terminal gone, `q`), the process is gone within `EXIT_DEADLINE_SECONDS`,
whatever hangs.

Stopping is graceful first: actions cancelled, feeds and remote captures
stopped, connections closed. But a step of it can hang where no timeout of ours
reaches (a library's thread that waits forever, a lab that stopped answering,
an event loop blocked in a call): the deadline runs on a thread of its own,
depends on nothing else in the process (not the event loop, not the terminal),
and when it passes it writes one audit record naming what had not finished,
then ends the process with `os._exit`. The lab's side does not depend on that
exit being clean: remote captures end when their SSH channel closes and remote
pings when their exec stream closes, which the kernel does for a dead process.

`watch_hangup` is the other half: terminals that never send SIGHUP still make
their file descriptors report a hang-up, which a thread can see without reading.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Callable, Iterator

from fabrictui import audit

# from "we are ending" to the process gone; the bound is 5 s from the
# terminal going away, and the kernel then needs a moment to close our sockets
EXIT_DEADLINE_SECONDS = 4.0
# poll(2) reports these on a descriptor whose other side went away, asked or not
GONE_EVENTS = select.POLLHUP | select.POLLERR | select.POLLNVAL


class ExitDeadline:
    """Arm it when ending starts; mark the steps of stopping with `step` so that,
    should the deadline pass, the audit record can say which had not finished."""

    def __init__(
        self,
        lab: str,
        seconds: float = EXIT_DEADLINE_SECONDS,
        exit_process: Callable[[int], object] = os._exit,
    ) -> None:
        self.lab = lab
        self.seconds = seconds
        self._exit = exit_process
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._armed: tuple[str, int, float] | None = None  # why, exit code, when

    @property
    def armed(self) -> bool:
        return self._armed is not None

    def arm(self, why: str, code: int) -> None:
        """Start the countdown (from any thread, a signal handler included); the
        first call wins, later ones only add nothing."""
        with self._lock:
            if self._armed is not None:
                return
            self._armed = (why, code, time.monotonic())
        timer = threading.Timer(self.seconds, self._expire)
        timer.daemon = True  # it must never be what keeps the process alive
        timer.name = "fabrictui-exit-deadline"
        timer.start()

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        with self._lock:
            self._pending.append(name)
        try:
            yield
        finally:
            with self._lock:
                self._pending.remove(name)

    def unfinished(self) -> list[str]:
        """The steps still running, then the threads the interpreter would wait
        for at exit (a library's thread that never returns keeps a process alive)."""
        with self._lock:
            steps = list(self._pending)
        waited_for = [
            t.name
            for t in threading.enumerate()
            if not t.daemon and t is not threading.main_thread() and t.is_alive()
        ]
        if waited_for:
            steps.append("threads still running: " + ", ".join(waited_for))
        return steps or ["the process's own exit"]

    def _expire(self) -> None:
        assert self._armed is not None
        why, code, _ = self._armed
        unfinished = self.unfinished()
        # the record is best effort: a full disk must not keep us alive either
        with contextlib.suppress(Exception):
            audit.record_cut_off(self.lab, why, self.seconds, unfinished)
        self._exit(code)


def watch_hangup(fds: tuple[int, ...], gone: Callable[[str], object]) -> threading.Thread:
    """A daemon thread that calls `gone(why)` once when one of `fds` reports a
    hang-up or an error (a terminal closed, the reader of a pipe gone). Nothing
    is read: poll(2) reports these events without being asked for input."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, 0)

    def watch() -> None:
        while True:
            for fd, mask in poller.poll():
                if mask & GONE_EVENTS:
                    kind = "hung up" if mask & select.POLLHUP else "failed"
                    gone(f"terminal {kind} (fd {fd})")
                    return

    thread = threading.Thread(target=watch, name="fabrictui-hangup-watch", daemon=True)
    thread.start()
    return thread
