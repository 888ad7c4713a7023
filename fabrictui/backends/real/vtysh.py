"""One long-lived vtysh per switch: each poll's command is sent into it.

Starting `vtysh -c CMD` for every poll costs the switch a login shell and a vtysh
start-up (about 30 ms of CPU on the rehearsal lab, most of it vtysh reading its
configuration), while the command itself costs a few milliseconds. `VtyshSession`
starts `sudo vtysh` once, on the host's existing SSH connection (`SshPool`), on a
pseudo-terminal: vtysh holds its output back on a pipe and flushes it per command
only on a terminal. It switches paging off (`terminal length 0`), learns the prompt
(`leaf1# `), and then runs one command at a time: it writes the command and a newline,
reads until the prompt comes back, and returns what came between, without the echoed
command, carriage returns or terminal escapes: the same text `vtysh -c CMD` prints.

Any error, timeout or end of stream closes the session and raises `SessionFailed`; the
caller then uses its one-shot path. `VtyshSessions` keeps one session per switch and
re-opens a failed one only after a capped exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Sequence

from fabrictui.backends.base import BackendError
from fabrictui.backends.real.ssh import RemoteProcess, SshPool

log = logging.getLogger(__name__)

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), other escapes (ESC =, ESC ( B, ...)
ANSI_RE = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]*[0-~]")
# A CLI prompt on its own line: `leaf1# `, `switch> `, `spine-sw1(config)# `.
PROMPT_RE = re.compile(rb"(?:^|\n)([^\s#>]{1,128}[#>] ?)$")
PAGING_OFF = "terminal length 0"
# Commands that would change the CLI's mode (and its prompt) or leave it.
MODE_WORDS = frozenset({"configure", "conf", "config", "end", "exit", "quit", "disable", "enable"})
READ_SIZE = 65536
TAIL = 1024  # how much of the end of the output the prompt checks look at


class SessionFailed(BackendError):
    """The vtysh session failed (closed now); use the one-shot path instead."""


class CommandRefused(SessionFailed):
    """The command cannot go through a session (the session itself is fine)."""


def strip_ansi(data: bytes) -> bytes:
    """`data` without terminal escape sequences."""
    return ANSI_RE.sub(b"", data) if b"\x1b" in data else data


def clean_output(data: bytes) -> bytes:
    """Terminal text as a pipe would carry it: no escapes, CR LF as LF, no lone CR."""
    return strip_ansi(data).replace(b"\r\n", b"\n").replace(b"\r", b"")


def split_reply(command: str, reply: bytes, prompt: bytes) -> bytes:
    """The output of `command` from what the terminal showed after it was sent:
    `<echo of command>\\r\\n<output><prompt>` (escapes allowed anywhere).

    Raises SessionFailed when the echo is not the command (the session is out of step).
    """
    text = strip_ansi(reply)
    if not text.endswith(prompt):
        raise SessionFailed(
            f"reply does not end with the prompt {prompt.decode(errors='replace')!r}"
        )
    text = text[: len(text) - len(prompt)]
    echo, newline, rest = text.partition(b"\n")
    # readline may redraw the line (CR, then the text again): the last redraw counts
    shown = echo.rstrip(b"\r").rsplit(b"\r", 1)[-1]
    if not newline or shown.strip() != command.encode().strip():
        raise SessionFailed(f"echo {shown[:60]!r} is not the command sent: session out of step")
    if (b"\n" + prompt) in (b"\n" + rest.replace(b"\r", b"")):
        # a prompt inside the output: something answered besides this command
        raise SessionFailed("a prompt inside the output: session out of step")
    return clean_output(rest)


def check_command(command: str) -> None:
    """Refuse what a line-based session cannot carry safely: several lines, control
    characters, `?` (vtysh's inline help) and commands that change the CLI's mode."""
    if not command.strip():
        raise CommandRefused("empty command")
    if any(ord(c) < 32 or c in "?\x7f" for c in command):
        raise CommandRefused("command has control characters or '?': not sent to a session")
    if command.split()[0].lower() in MODE_WORDS:
        raise CommandRefused(
            f"`{command.split()[0]}` changes the CLI's mode: not sent to a session"
        )


class VtyshSession:
    """One interactive vtysh on `host`, one command at a time."""

    def __init__(
        self,
        pool: SshPool,
        host: str,
        *,
        argv: Sequence[str] = ("vtysh",),
        sudo: bool = True,
        open_timeout: float = 5.0,
        command_timeout: float = 5.0,
        term_type: str = "dumb",
        columns: int = 1024,
    ) -> None:
        self.pool = pool
        self.host = host
        self.argv = tuple(argv)
        self.sudo = sudo
        self.open_timeout = open_timeout
        self.command_timeout = command_timeout
        self.term_type = term_type
        self.columns = columns
        self.prompt: bytes = b""
        self.commands_run = 0
        self._proc: RemoteProcess | None = None
        self._buf = bytearray()
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def is_open(self) -> bool:
        return self._proc is not None

    @property
    def closed(self) -> bool:
        """Closed or failed: this session never runs a command again."""
        return self._closed

    async def open(self) -> None:
        """Start vtysh, learn its prompt and switch paging off. Raises SessionFailed."""
        async with self._lock:
            if self._proc is not None:
                return
            if self._closed:
                raise SessionFailed(f"{self.host}: vtysh session is closed")
            try:
                async with asyncio.timeout(self.open_timeout):
                    self._proc = await self.pool.open_interactive(
                        self.host,
                        self.argv,
                        sudo=self.sudo,
                        term_type=self.term_type,
                        term_size=(self.columns, 64),
                    )
                    banner = await self._read_until(self._ends_with_any_prompt)
                    match = PROMPT_RE.search(strip_ansi(bytes(banner)).replace(b"\r", b""))
                    assert match is not None  # _ends_with_any_prompt saw it
                    self.prompt = match.group(1)
                    self._buf.clear()
                    # the reply to the first command confirms the prompt
                    await self._exchange(PAGING_OFF)
            except BaseException as exc:
                self._abort()
                if isinstance(exc, TimeoutError):
                    raise SessionFailed(
                        f"{self.host}: no vtysh prompt within {self.open_timeout:g}s"
                    ) from None
                if isinstance(exc, SessionFailed):
                    raise SessionFailed(f"{self.host}: vtysh session: {exc}") from None
                if isinstance(exc, BackendError):
                    raise SessionFailed(f"{self.host}: vtysh session: {exc}") from None
                raise
            log.debug("%s: vtysh session open, prompt %r", self.host, self.prompt)

    async def run(self, command: str, timeout: float | None = None) -> str:
        """The output of `command`, as `vtysh -c COMMAND` prints it.

        Raises SessionFailed (and closes the session) on any error, timeout or end
        of stream; a command vtysh rejects is output like any other (`% Unknown ...`).
        """
        check_command(command)
        if self._proc is None:
            await self.open()  # raises SessionFailed once the session was closed
        limit = self.command_timeout if timeout is None else timeout
        async with self._lock:
            if self._proc is None:
                raise SessionFailed(f"{self.host}: vtysh session closed")
            try:
                async with asyncio.timeout(limit):
                    out = await self._exchange(command)
            except BaseException as exc:
                self._abort()
                if isinstance(exc, TimeoutError):
                    raise SessionFailed(
                        f"{self.host}: vtysh session: `{command}` timed out after {limit:g}s"
                    ) from None
                if isinstance(exc, BackendError):
                    raise SessionFailed(f"{self.host}: vtysh session: {exc}") from None
                raise
            self.commands_run += 1
            return out.decode("utf-8", errors="replace")

    async def _exchange(self, command: str) -> bytes:
        assert self._proc is not None
        if self._buf:
            # something arrived while no command was running: the session is out of step
            raise SessionFailed(f"unexpected output {bytes(self._buf[:40])!r}")
        self._proc.write(command.encode() + b"\n")
        reply = await self._read_until(self._ends_with_prompt)
        self._buf.clear()
        return split_reply(command, reply, self.prompt)

    def _ends_with_prompt(self, data: bytes) -> bool:
        tail = strip_ansi(data[-(len(self.prompt) + 256) :])
        return tail.endswith(b"\n" + self.prompt)

    @staticmethod
    def _ends_with_any_prompt(data: bytes) -> bool:
        tail = strip_ansi(data[-512:]).replace(b"\r", b"")
        return PROMPT_RE.search(tail) is not None

    async def _read_until(self, done: Callable[[bytes], bool]) -> bytes:
        assert self._proc is not None
        while not done(bytes(self._buf[-TAIL:])):
            chunk = await self._proc.read(READ_SIZE)
            if not chunk:
                raise SessionFailed("vtysh ended (end of stream)")
            self._buf += chunk
        return bytes(self._buf)

    def _abort(self) -> None:
        """Close the channel at once; a failed session is never re-opened (make a new one)."""
        self._closed = True
        proc, self._proc = self._proc, None
        self._buf.clear()
        if proc is not None:
            with contextlib.suppress(Exception):
                proc.abort()

    async def close(self) -> None:
        """Leave vtysh (`exit`), close the channel; idempotent."""
        self._closed = True
        proc, self._proc = self._proc, None
        self._buf.clear()
        if proc is None:
            return
        with contextlib.suppress(BackendError):
            proc.write(b"exit\n")
        await proc.close(timeout=2.0)


class VtyshSessions:
    """One VtyshSession per switch, re-opened after a failure with a capped backoff."""

    def __init__(
        self,
        pool: SshPool,
        *,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        open_timeout: float = 5.0,
    ) -> None:
        self.pool = pool
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.open_timeout = open_timeout
        self._sessions: dict[str, VtyshSession] = {}
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}
        self._closed = False
        self.opened = 0  # sessions started so far (re-opens included)

    def session(self, switch: str) -> VtyshSession | None:
        return self._sessions.get(switch)

    def available(self, switch: str) -> bool:
        """False while the switch's session is backing off after a failure."""
        return not self._closed and time.monotonic() >= self._retry_at.get(switch, 0.0)

    async def run(self, switch: str, command: str, timeout: float, *, sudo: bool = True) -> str:
        """`command`'s output through the switch's session (opened on first use, within
        `timeout` too). Raises SessionFailed when the session fails or is backing off."""
        if not self.available(switch):
            wait = self._retry_at.get(switch, 0.0) - time.monotonic()
            raise SessionFailed(f"{switch}: vtysh session backing off ({max(0.0, wait):.1f}s)")
        session = self._sessions.get(switch)
        if session is None or session.sudo != sudo:
            if session is not None:
                await session.close()
            session = VtyshSession(
                self.pool,
                switch,
                sudo=sudo,
                open_timeout=min(self.open_timeout, timeout),
                command_timeout=timeout,
            )
            self._sessions[switch] = session
            self.opened += 1
        try:
            out = await session.run(command, timeout)
        except CommandRefused:
            raise
        except SessionFailed:
            self._failed(switch, session)
            raise
        except BaseException:
            if session.closed:  # cancelled half-way: the session is gone, back off as well
                self._failed(switch, session)
            raise
        self._failures.pop(switch, None)
        return out

    def _failed(self, switch: str, session: VtyshSession) -> None:
        if self._sessions.get(switch) is session:
            del self._sessions[switch]
        failures = self._failures.get(switch, 0) + 1
        self._failures[switch] = failures
        delay = min(self.backoff_max, self.backoff_initial * 2 ** (failures - 1))
        self._retry_at[switch] = time.monotonic() + delay
        log.info("%s: vtysh session failed; one-shot commands for %.1fs", switch, delay)

    async def close(self) -> None:
        """Close every session (no vtysh is left running on any switch)."""
        self._closed = True
        sessions = list(self._sessions.values())
        self._sessions.clear()
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
