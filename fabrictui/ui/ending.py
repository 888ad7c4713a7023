"""How the app ends, whatever ends it: `q`, SIGHUP or SIGTERM, or a terminal
that is gone without a signal (its output fails, its input hangs up; the
terminal driver says so from its threads, `ui/terminal.py`).

Every route starts the process's exit deadline first (`session.ending`), from
wherever it is noticed and without waiting for the event loop, then asks the
loop to stop everything. The steps of stopping are marked, so a deadline that
passes can say which had not finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable

from fabrictui import audit
from fabrictui.session.ending import STOP_SIGNALS, ExitDeadline
from fabrictui.ui.guards import within

LOST_TERMINAL_CODE = 128 + signal.SIGHUP  # the terminal is gone without a SIGHUP: as if one came


class AppEnding:
    """The app's end. `exit_app(why, code)` is the app's way out, called on the
    loop: it logs why and calls `App.exit`."""

    def __init__(self, exit_app: Callable[[str, int], object], deadline: ExitDeadline | None):
        self._exit_app = exit_app
        # only the real command has one: a test's app shares its process with pytest
        self.deadline = deadline
        self.stopping = False  # nothing draws from here on: the screens are going
        self.given_up: list[str] = []  # steps of stopping cut off by their own timeout
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self) -> None:
        """On the loop, once mounted: signals now end the app."""
        self._loop = asyncio.get_running_loop()
        for number in STOP_SIGNALS:
            # not loop.add_signal_handler: its handler waits for the loop, and the end
            # must start (the deadline armed) even when the loop is stuck
            signal.signal(number, self.on_signal)

    def on_signal(self, number: int, frame: object = None) -> None:
        """SIGHUP (the terminal or the ssh session to the jump host went away) or
        SIGTERM. A SIGTERM while stopping ends the process at once: the one asking
        has waited enough (remote captures still end, their SSH channels close with
        us). A SIGHUP while stopping does not: one terminal going away brings two
        (tmux's and the kernel's), and nobody is left to ask; the deadline bounds it."""
        if self.stopping and number != signal.SIGHUP:
            os._exit(128 + number)
        self.end(signal.Signals(number).name, 128 + number)

    def lost(self, why: str) -> None:
        """From the terminal driver's threads: the terminal is gone."""
        self.end(why, LOST_TERMINAL_CODE)

    def end(self, why: str, code: int) -> None:
        """From any thread or a signal handler: the deadline starts now, and the
        loop is asked to stop everything when it next runs."""
        if self.deadline is not None:
            self.deadline.arm(why, code)
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                self._loop.call_soon_threadsafe(self._on_loop, why, code)

    def _on_loop(self, why: str, code: int) -> None:
        if not self.stopping:
            self._exit_app(why, code)

    def exiting(self, code: int) -> None:
        """`App.exit` was called (`q`, or one of the routes above)."""
        self.stopping = True
        if self.deadline is not None:
            self.deadline.arm("quit", code)

    async def step(self, name: str, step: Awaitable[object], seconds: float) -> None:
        """One step of stopping, bounded, and named should the deadline pass."""
        self.stopping = True
        marked = self.deadline.step(name) if self.deadline else contextlib.nullcontext()
        with marked:
            if not await within(seconds, step):
                self.given_up.append(f"{name} (gave up after {seconds:g} s)")

    async def audit_given_up(self) -> None:
        """The steps that did not finish in their time, in the audit log (the real
        command's: a test's app has no deadline), before the process goes."""
        if self.given_up and self.deadline is not None:
            why = self.deadline.why or "quit"
            record = audit.record_cut_off
            await asyncio.to_thread(record, self.deadline.lab, why, None, self.given_up)
