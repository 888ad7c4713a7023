"""Every deadline a call to the lab has, in one place (docs/deadlines.md lists them).

A lab part that stops answering without refusing (an API server stopped in a
debugger, a switch whose management port drops packets) must never become a
hang: each deadline covers the whole call (connect, TLS or SSH handshake, the
request, reading the answer, retries), and a command that meets one names the
part and what it waited for.

The defaults are here; the config file's `[deadlines]` table changes them
(`config.load_settings`), and `use` makes them the process's, before any
backend is built: every client reads `current()` when it is made.

`in_thread` runs a blocking client call (the kubernetes client, python-vagrant)
so that giving up on it never waits for it: the call runs in a daemon thread of
its own, never on the event loop's default executor, whose shutdown at the end
of `asyncio.run` (or at Ctrl-C / SIGTERM) joins every thread it ever started.
A hung call left behind ends with its own socket timeout or with the process.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Seconds; each names the part and the call it bounds."""

    kube_api: float = 10.0  # one Kubernetes API call: connect, TLS, request, answer, retry
    ssh_connect: float = 5.0  # TCP connect, SSH handshake and login to one host
    ssh_command: float = 10.0  # one remote command on an open SSH connection
    vtysh: float = 5.0  # a switch's vtysh session: its prompt, then each command
    vagrant: float = 120.0  # one `vagrant status` or `vagrant ssh-config`

    def describe(self) -> list[tuple[str, float]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]


DEFAULTS = Deadlines()
_current = DEFAULTS


def current() -> Deadlines:
    """The deadlines in force: the defaults, or what the config file set."""
    return _current


def use(deadlines: Deadlines) -> None:
    """Make `deadlines` the process's (called with the settings, before any client exists)."""
    global _current
    _current = deadlines


def from_table(table: object, where: str) -> Deadlines:
    """Deadlines from the config file's `[deadlines]` table; ValueError naming the key."""
    if not isinstance(table, dict):
        raise ValueError(f"{where}: [deadlines] is a table of seconds ({_names()})")
    values: dict[str, float] = {}
    known = {f.name for f in fields(Deadlines)}
    for key, value in table.items():
        if key not in known:
            raise ValueError(f"{where}: deadlines.{key} is not a deadline ({_names()})")
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"{where}: deadlines.{key} must be a number of seconds above 0")
        values[key] = float(value)
    return Deadlines(**values)


def _names() -> str:
    return ", ".join(f.name for f in fields(Deadlines))


_unanswered: list[str] = []
# set inside a task whose failures are its answer (a host's reachability probe)
_probing: contextvars.ContextVar[bool] = contextvars.ContextVar("probing", default=False)


def note_unanswered(message: str) -> None:
    """A lab part did not answer (a deadline passed, or it could not be reached):
    `message` names it and what was asked. A headless command that saw one ends with
    exit code 2 and says it, even when it could show what the other parts said."""
    if not _probing.get() and message not in _unanswered:
        _unanswered.append(message)


@contextlib.contextmanager
def probing() -> Iterator[None]:
    """Within it (in this task), a part that does not answer is a reading ("the host is
    unreachable"), not a gap in what the command was asked: nothing is noted."""
    token = _probing.set(True)
    try:
        yield
    finally:
        _probing.reset(token)


def unanswered() -> list[str]:
    """What went unanswered so far in this process, in order, each once."""
    return list(_unanswered)


def forget_unanswered() -> None:
    _unanswered.clear()


# the daemon threads that may sit in a call to a hung part (see `end_process`)
CALL_THREADS = ("fabrictui-call", "fabrictui-watch", "fabrictui-vagrant")


def end_process(code: int) -> None:
    """End the command's process with `code`. While a daemon thread still sits in a call
    to a part that hung, skip the interpreter's finalization: such a thread, coming back
    from its socket timeout while the interpreter is torn down, can abort the process
    (SIGABRT, exit -6) instead of the exit code the command chose. Everything the command
    writes is closed or flushed by then; only the standard streams are flushed here."""
    stuck = [
        t
        for t in threading.enumerate()
        if t.daemon and t.is_alive() and t.name.startswith(CALL_THREADS)
    ]
    if stuck:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    sys.exit(code)


def describe(err: BaseException, doing: str) -> str:
    """A message for `err` that says what happened, never a bare class name: its own
    words, else (a TimeoutError has none) what was being done and that it ran out of
    time, else what was being done and the kind of failure."""
    text = " ".join(str(err).split())
    if text:
        return text
    if isinstance(err, TimeoutError):
        return f"{doing}: no answer in time"
    return f"{doing} failed ({type(err).__name__}, without a message)"


class DeadlineExceeded(TimeoutError):
    """`in_thread` gave up waiting; the message says for what."""


async def in_thread(fn: Callable[[], T], seconds: float | None, what: str) -> T:
    """`fn()` in a daemon thread, its result or exception; DeadlineExceeded(what)
    after `seconds` (None: a person's answer, waited for as long as they take).
    Cancelling the caller stops the wait at once (the thread is left to end on its own:
    it is never joined)."""
    import asyncio  # here: the command line's quick paths start without asyncio

    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return  # the caller gave up already
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    # the caller's context goes along, as asyncio.to_thread takes it: the audited action a
    # call belongs to (audit.record_call) is a context variable
    context = contextvars.copy_context()

    def work() -> None:
        try:
            result = context.run(fn)
        except BaseException as exc:  # handed to the waiting coroutine, raised there
            outcome: tuple[T | None, BaseException | None] = (None, exc)
        else:
            outcome = (result, None)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name=f"fabrictui-call: {what}"[:60], daemon=True).start()
    limit = asyncio.timeout(seconds)
    try:
        async with limit:
            return await future
    except TimeoutError:
        if limit.expired():  # not a TimeoutError the call itself raised
            raise DeadlineExceeded(what) from None
        raise
