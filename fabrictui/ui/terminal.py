"""The app's terminal driver: Textual's LinuxDriver, with what it lacks when the
terminal goes away worked around in this one place.

Written against Textual 8.2.8 (`textual/drivers/_writer_thread.py`,
`textual/drivers/linux_driver.py`). The defects, as seen on a jump host whose
ssh session dropped while the app was not scheduled (issue 27):

1. The writer thread dies on its first failed write (a pty whose terminal is
   gone fails with EIO, a closed pipe with EPIPE) and nobody notices: its queue
   (30 writes) fills, and the next `write` from the event loop, or the
   `put(None)` of `WriterThread.stop()` in `LinuxDriver.close()`, blocks forever.
   The process never exits. Here the writer writes to `_GuardedOutput`, which
   never raises: the first failure is reported (`terminal_lost`), every later
   write is dropped, and the thread keeps draining its queue until stopped.
2. SIGCONT resumes application mode even when nothing suspended it (a plain
   SIGSTOP, or the SIGCONT the kernel sends with SIGHUP): each time a new writer
   and a new input thread start, and the old ones are forgotten. Here resuming
   happens only after a suspend.
3. At end of file on its input the input thread loops without telling the app.
   Here a thread watches the input for a hang-up (`session.ending.watch_hangup`).

Remove the matching part once Textual fixes it upstream: `_GuardedOutput` when
the writer thread survives a failed write and `stop()` cannot block; the
`suspend`/`resume` pair when SIGCONT no longer restarts a running driver; the
input watch when the input thread reports end of file. Each is pinned by a test
in `tests/terminal/test_terminal_driver.py`, which fails when the workaround is removed
while the defect is still there.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import IO, Any

from textual.drivers.linux_driver import LinuxDriver

from fabrictui.session.ending import watch_hangup

Lost = Callable[[str], object]


class _GuardedOutput:
    """The file the writer thread writes to: a write or flush that fails marks
    the terminal lost (reported once) and everything after is dropped."""

    def __init__(self, file: IO[str], lost: Lost) -> None:
        self._file = file
        self._lost = lost
        self._gone = False
        self._once = threading.Lock()

    def _fail(self, err: Exception) -> None:
        with self._once:
            if self._gone:
                return
            self._gone = True
        self._lost(f"terminal output failed: {getattr(err, 'strerror', None) or err}")

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                self._file.write(text)
            except (OSError, ValueError) as err:  # ValueError: the file was closed
                self._fail(err)
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._file.flush()
            except (OSError, ValueError) as err:
                self._fail(err)

    def fileno(self) -> int:
        return self._file.fileno()


class TerminalDriver(LinuxDriver):
    """LinuxDriver that tells the app (`app.terminal_lost(why)`, from any thread)
    when its terminal is gone, and never blocks on a terminal that is."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        lost: Lost = getattr(app, "terminal_lost", None) or (lambda why: None)
        self._lost = lost
        # the one private name touched: the file LinuxDriver hands its writer thread
        self._file = _GuardedOutput(self._file, lost)
        self._suspended = False
        self._watching = False

    def start_application_mode(self) -> None:
        super().start_application_mode()
        if not self._watching:
            self._watching = True
            watch_hangup((sys.__stdin__.fileno(),), self._lost)

    def suspend_application_mode(self) -> None:
        self._suspended = True
        super().suspend_application_mode()

    def resume_application_mode(self) -> None:
        if not self._suspended:  # a SIGCONT after a SIGSTOP we did not take
            return
        self._suspended = False
        super().resume_application_mode()
