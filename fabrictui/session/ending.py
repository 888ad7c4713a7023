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

The TUI wires both in `ui/ending.py`; the headless commands through
`end_headless` (called by `cli.main`).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # asyncio only when a command runs: `capture --read` starts without it
    import asyncio

# from "we are ending" to the process gone; the bound is 5 s from the
# terminal going away, and the kernel then needs a moment to close our sockets
EXIT_DEADLINE_SECONDS = 3.5
# the deadline's audit record gets this long (an fsync on a busy disk), then we go anyway
CUT_OFF_RECORD_SECONDS = 0.5
T = TypeVar("T")
# poll(2) reports these on a descriptor whose other side went away, asked or not
GONE_EVENTS = select.POLLHUP | select.POLLERR | select.POLLNVAL
STOP_SIGNALS = (signal.SIGHUP, signal.SIGTERM)  # the terminal went away, or we were told to end


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
    def why(self) -> str | None:
        """What started the ending, None while not armed."""
        return None if self._armed is None else self._armed[0]

    @property
    def code(self) -> int | None:
        """The exit code of what armed it (128 + the signal), None while not armed."""
        return None if self._armed is None else self._armed[1]

    def arm(self, why: str, code: int) -> None:
        """Start the countdown (from any thread, a signal handler included); the
        first call wins, later ones change nothing."""
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

        def record() -> None:  # best effort: a full or slow disk must not keep us alive
            with contextlib.suppress(Exception):
                # imported here, not at the top: the quick paths (`capture --read`) start
                # without the audit log's config and writer
                from fabrictui import audit

                audit.record_cut_off(self.lab, why, self.seconds, unfinished)

        writer = threading.Thread(target=record, name="fabrictui-cut-off-record", daemon=True)
        writer.start()
        writer.join(CUT_OFF_RECORD_SECONDS)
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


# the running headless command's deadline (one command per process), see end_headless,
# and its main task (run_command): what a signal cancels
_headless: ExitDeadline | None = None
_main_task: asyncio.Task | None = None


def run_command(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` for a headless command, its task known to the signal
    handler of `end_headless`: only that task is cancelled, so the command's
    `finally` runs with the libraries' own tasks (an SSH connection's) still there."""
    import asyncio

    async def command() -> T:
        global _main_task
        _main_task = asyncio.current_task()
        try:
            return await main
        finally:
            _main_task = None

    return asyncio.run(command())


@contextlib.contextmanager
def end_headless(command: str) -> Iterator[ExitDeadline]:
    """For a headless command, before it runs: SIGHUP, SIGTERM and a terminal
    that hangs up without a signal end it as a cancelled run (the task of
    `run_command` is cancelled, so the command's `finally` closes captures and
    connections and the audit says cancelled; outside it, KeyboardInterrupt),
    and arm the deadline in case that hangs. Not through SIGINT: a command started
    in the background of a script inherits SIGINT ignored. A closed pipe on stdout
    is met at the next write (BrokenPipeError), as each command already handles: a
    result printed in full is not cut short by a reader that left after one line."""
    global _headless
    deadline = _headless = ExitDeadline(command)
    main = threading.main_thread().ident
    assert main is not None

    def on_signal(number: int, frame: object) -> None:
        deadline.arm(signal.Signals(number).name, 128 + number)
        task = _main_task
        if task is None or task.done():  # not in run_command: as ctrl-c would
            raise KeyboardInterrupt
        task.cancel()
        task.get_loop().call_soon_threadsafe(lambda: None)  # wake the loop to see it

    previous = {number: signal.signal(number, on_signal) for number in STOP_SIGNALS}
    terminals = tuple(fd for fd in (0, 1, 2) if os.isatty(fd))
    if terminals:
        # as if SIGHUP came: its handler runs on the main thread, where the command is
        watch_hangup(terminals, lambda why: signal.pthread_kill(main, signal.SIGHUP))
    try:
        yield deadline
    finally:  # the command is done: a caller in the same process keeps its own handlers
        for number, handler in previous.items():
            signal.signal(number, handler)


def arm_headless(why: str, code: int) -> None:
    """For a command that handles the signals itself (`record`): start the deadline."""
    if _headless is not None:
        _headless.arm(why, code)
