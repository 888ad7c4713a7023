"""`SshPool`: one persistent asyncssh connection per host, commands as channels."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import asyncssh

from fabrictui import deadlines
from fabrictui.backends.base import BackendError, Unreachable
from fabrictui.backends.real.remote import display_command, remote_command
from fabrictui.backends.real.ssh.hostkeys import HostKeyError, accept_hint, host_key_is_known
from fabrictui.backends.real.ssh.process import (
    CommandResult,
    RemoteProcess,
    abandon,
    decode_text,
    one_line,
)
from fabrictui.backends.real.ssh.target import SshTarget, parse_jump

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _HostState:
    target: SshTarget
    sessions: asyncio.Semaphore
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    conn: asyncssh.SSHClientConnection | None = None
    failures: int = 0
    retry_at: float = 0.0
    last_error: BackendError | None = None
    warned_unchecked: bool = False
    generation: int = 0  # counts connections made: tells a caller its tunnel is stale
    probing: bool = False

    def live(self) -> asyncssh.SSHClientConnection | None:
        if self.conn is not None and not self.conn.is_closed():
            return self.conn
        return None


class SshPool:
    """One persistent asyncssh connection per host, shared by every command."""

    def __init__(
        self,
        targets: Mapping[str, SshTarget] | Iterable[SshTarget],
        *,
        jump: SshTarget | str | None = None,
        connect_timeout: float | None = None,
        command_timeout: float | None = None,
        keepalive_interval: float = 5.0,
        keepalive_count_max: int = 3,
        max_sessions: int = 8,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        channel_retries: int = 6,
        remote_timeout: bool = True,
        probe_timeout: float = 2.0,
    ) -> None:
        items = targets.values() if isinstance(targets, Mapping) else targets
        self._targets: dict[str, SshTarget] = {t.name: t for t in items}
        self._jump = parse_jump(jump, name="jump") if isinstance(jump, str) else jump
        # unless given: the deadlines in force (the config file's [deadlines])
        limits = deadlines.current()
        self.connect_timeout = limits.ssh_connect if connect_timeout is None else connect_timeout
        self.command_timeout = limits.ssh_command if command_timeout is None else command_timeout
        self.keepalive_interval = keepalive_interval
        self.keepalive_count_max = keepalive_count_max
        self.max_sessions = max_sessions
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.channel_retries = channel_retries
        self.remote_timeout = remote_timeout
        self._states: dict[str, _HostState] = {}
        self._closed = False
        self._observers: list[Callable[[str, str], None]] = []
        self._probes: set[asyncio.Task[None]] = set()
        self.probe_timeout = probe_timeout

    # -- targets ---------------------------------------------------------------

    @property
    def targets(self) -> dict[str, SshTarget]:
        return dict(self._targets)

    def target(self, host: str) -> SshTarget:
        try:
            return self._targets[host]
        except KeyError:
            raise BackendError(f"{host}: no such host in this lab") from None

    def add_target(self, target: SshTarget) -> None:
        self._targets[target.name] = target
        old = self._states.pop(target.name, None)
        if old is not None and old.conn is not None:
            old.conn.close()

    def _state(self, key: str, target: SshTarget | None = None) -> _HostState:
        state = self._states.get(key)
        if state is None:
            state = _HostState(
                target=target or self.target(key), sessions=asyncio.Semaphore(self.max_sessions)
            )
            self._states[key] = state
        return state

    def add_observer(self, callback: Callable[[str, str], None]) -> None:
        """Call `callback(host, command line)` before every remote command (audit log)."""
        self._observers.append(callback)

    def _notify(self, host: str, argv: Sequence[str], sudo: bool) -> None:
        if not self._observers:
            return
        line = display_command(argv, sudo)
        for callback in self._observers:
            try:
                callback(host, line)
            except Exception:  # an observer must never break a command
                log.exception("ssh command observer failed")

    def generation(self, host: str) -> int:
        """How many connections to `host` were made so far (0: none yet)."""
        state = self._states.get(host)
        return state.generation if state is not None else 0

    def is_connected(self, host: str) -> bool:
        state = self._states.get(host)
        return state is not None and state.live() is not None

    # -- connections -----------------------------------------------------------

    def _hop(self, spec: str) -> tuple[str, SshTarget]:
        """The state key and target of a ProxyJump spec (a chain `a,b` ends at b via a)."""
        hops = [h.strip() for h in spec.split(",") if h.strip()]
        last = hops[-1]
        before = ",".join(hops[:-1]) or None
        if last in self._targets:
            target = self._targets[last]
            if before is not None:
                target = replace(target, proxy_jump=before)
            return (last if before is None else f"hop {spec}"), target
        target = replace(parse_jump(last), proxy_jump=before)
        return f"hop {spec}", target

    async def _tunnel_for(
        self, target: SshTarget, depth: int
    ) -> tuple[asyncssh.SSHClientConnection | None, SshTarget | None]:
        if target.source == "jump" and target.proxy_jump is None:
            return None, None
        if target.proxy_jump:
            key, hop = self._hop(target.proxy_jump)
        elif self._jump is not None:
            key, hop = "jump", self._jump
        else:
            return None, None
        if depth > 4:
            raise BackendError(f"{target.name}: ProxyJump chain too long or circular")
        conn = await self._connection(key, hop, depth + 1)
        return conn, hop

    async def _connection(
        self, key: str, target: SshTarget | None = None, depth: int = 0
    ) -> asyncssh.SSHClientConnection:
        if self._closed:
            raise BackendError("ssh pool is closed")
        state = self._state(key, target)
        conn = state.live()
        if conn is not None:
            return conn
        async with state.lock:
            conn = state.live()
            if conn is not None:
                return conn
            if state.last_error is not None and time.monotonic() < state.retry_at:
                if isinstance(state.last_error, Unreachable):
                    deadlines.note_unanswered(str(state.last_error))
                raise type(state.last_error)(str(state.last_error))
            try:
                conn = await self._connect(state, depth)
            except BackendError as exc:
                if isinstance(exc, Unreachable):
                    deadlines.note_unanswered(str(exc))
                state.failures += 1
                delay = min(self.backoff_max, self.backoff_initial * 2 ** (state.failures - 1))
                state.retry_at = time.monotonic() + delay
                state.last_error = exc
                log.info("%s: connect failed (retry in %.1fs): %s", key, delay, exc)
                raise
            if state.failures:
                log.info("%s: connected again after %d failures", key, state.failures)
            state.conn, state.failures, state.last_error = conn, 0, None
            state.generation += 1
            return conn

    async def _connect(self, state: _HostState, depth: int) -> asyncssh.SSHClientConnection:
        target = state.target
        tunnel, via = await self._tunnel_for(target, depth)
        options: dict[str, object] = {
            "port": target.port,
            "username": target.user,
            "connect_timeout": self.connect_timeout,
            "keepalive_interval": self.keepalive_interval,
            "keepalive_count_max": self.keepalive_count_max,
            "password": None,
            "kbdint_auth": False,
        }
        if target.source != "jump":
            # Targets are fully described by the lab; the user's ~/.ssh/config
            # still applies to a --jump host, as plain ssh would use it.
            options["config"] = []
        if tunnel is not None:
            options["tunnel"] = tunnel
        if target.identity_files:
            options["client_keys"] = list(target.identity_files)
            if target.identities_only:
                options["agent_path"] = None
        if target.check_host_key:
            files = [f for f in target.known_hosts_files if os.path.isfile(f)]
            options["known_hosts"] = files if files else asyncssh.import_known_hosts("")
        else:
            options["known_hosts"] = None
            if not state.warned_unchecked:
                state.warned_unchecked = True
                log.warning(
                    "%s: host key NOT checked: Vagrant-managed forward on %s:%d "
                    "(vagrant ssh-config says StrictHostKeyChecking no)",
                    target.name,
                    target.host,
                    target.port,
                )
        where = f"{target.endpoint}" + (f" via {via.endpoint}" if via is not None else "")
        try:
            return await asyncio.wait_for(
                asyncssh.connect(target.host, **options), self.connect_timeout + 1.0
            )
        except asyncssh.HostKeyNotVerifiable:
            raise HostKeyError(
                accept_hint(target, via, changed=host_key_is_known(target))
            ) from None
        except asyncssh.PermissionDenied:
            keys = ", ".join(target.identity_files) or "default keys and agent"
            raise BackendError(
                f"{target.name}: {where} refused our key ({keys}): permission denied"
            ) from None
        except asyncssh.KeyImportError:
            raise BackendError(
                f"{target.name}: cannot load identity file "
                f"{', '.join(target.identity_files)} (unreadable or passphrase-protected)"
            ) from None
        except TimeoutError:
            raise Unreachable(
                f"{target.name}: no SSH answer from {where} within {self.connect_timeout:g}s"
            ) from None
        except OSError as exc:
            if exc.filename and str(exc.filename) in target.identity_files:
                raise BackendError(
                    f"{target.name}: cannot read identity file {exc.filename}: "
                    f"{exc.strerror or 'error'}"
                ) from None
            reason = exc.strerror or one_line(exc) or type(exc).__name__
            if exc.errno == errno.ECONNREFUSED:
                # asyncio words every failed connect alike; a refusal is a different fault
                # from a silent path (something answers: nothing listens)
                reason = f"connection refused ({reason})"
            raise Unreachable(f"{target.name}: cannot connect to {where}: {reason}") from None
        except asyncssh.Error as exc:
            raise Unreachable(
                f"{target.name}: SSH to {where} failed: {one_line(exc.reason or exc)}"
            ) from None
        except BackendError:
            raise
        except (ValueError, TypeError) as exc:
            raise BackendError(f"{target.name}: bad SSH settings: {one_line(exc)}") from None

    def _drop(self, host: str, conn: asyncssh.SSHClientConnection) -> None:
        state = self._states.get(host)
        if state is not None and state.conn is conn:
            state.conn = None
        conn.close()

    async def _open_process(
        self,
        host: str,
        command: str,
        term_type: str | None = None,
        term_size: tuple[int, int] | None = None,
    ) -> asyncssh.SSHClientProcess:
        """A new channel running `command`, retrying refused channel opens."""
        reconnected = False
        attempt = 0
        while True:
            conn = await self._connection(host)
            opening = asyncio.ensure_future(
                conn.create_process(
                    command, encoding=None, term_type=term_type, term_size=term_size
                )
            )
            try:
                return await asyncio.shield(opening)
            except asyncio.CancelledError:
                # the channel may be open and its command started by now: it is closed once
                # it is, or a capture's tcpdump would outlive the trace that was cancelled
                # (its wrapper ends it only when the channel closes)
                opening.add_done_callback(_close_if_opened)
                raise
            except asyncssh.ChannelOpenError as exc:
                if conn.is_closed() and not reconnected:
                    reconnected = True
                    self._drop(host, conn)
                    continue
                attempt += 1
                if attempt > self.channel_retries:
                    raise BackendError(
                        f"{host}: server refused a new SSH session: {one_line(exc.reason)}"
                    ) from None
                await asyncio.sleep(min(1.0, 0.02 * 2**attempt))
            except (asyncssh.Error, OSError) as exc:
                # The connection died under us before the command started: it
                # never ran, so one reconnect is safe.
                self._drop(host, conn)
                if reconnected:
                    raise Unreachable(f"{host}: connection lost: {one_line(exc)}") from None
                reconnected = True

    # -- public API ------------------------------------------------------------

    async def connect(self, host: str) -> None:
        """Open (or check) the connection to `host`. Raises Unreachable/HostKeyError."""
        await self._connection(host)

    async def run(
        self,
        host: str,
        argv: Sequence[str],
        timeout: float | None = None,
        *,
        sudo: bool = False,
        input: bytes | None = None,
        remote_timeout: bool | None = None,
    ) -> CommandResult:
        """Run `argv` on `host` and wait for it; a non-zero exit is a result, not an error.

        After `timeout` seconds the channel is closed and BackendError raised;
        with `remote_timeout` (the pool's default) the host also runs the
        command under `timeout`, so it ends there a second later at most.
        """
        limit = self.command_timeout if timeout is None else timeout
        wrap = self.remote_timeout if remote_timeout is None else remote_timeout
        command = remote_command(argv, sudo, timeout=limit + 1 if wrap else None)
        self._notify(host, argv, sudo)
        state = self._state(host)
        async with state.sessions:
            await self._connection(host)  # connecting has its own timeout
            process: asyncssh.SSHClientProcess | None = None
            try:
                async with asyncio.timeout(limit):
                    process = await self._open_process(host, command)
                    if input is None:
                        process.stdin.write_eof()
                    out, err = await process.communicate(input)
            except asyncio.CancelledError:
                if process is not None:
                    abandon(process)
                raise
            except TimeoutError:
                if process is not None:
                    abandon(process)
                self._probe_after_timeout(host, state)
                message = (
                    f"{host}: `{one_line(display_command(argv, sudo), 80)}` timed out "
                    f"after {limit:g}s"
                )
                deadlines.note_unanswered(message)
                raise BackendError(message) from None
            except (asyncssh.Error, OSError) as exc:
                if state.conn is not None:
                    self._drop(host, state.conn)
                raise Unreachable(f"{host}: connection lost: {one_line(exc)}") from None
        status = process.exit_status
        if status is None:
            signal = process.exit_signal
            status = -1
            err = (err or b"") + (f"\nkilled by signal {signal[0]}".encode() if signal else b"")
        return CommandResult(status, decode_text(out), decode_text(err))

    def _probe_after_timeout(self, host: str, state: _HostState) -> None:
        """A command timed out: check in the background whether the connection still
        answers at all (a hung host does not); if not, drop it so the next call
        reconnects and fails fast instead of waiting for keepalives."""
        conn = state.live()
        if conn is None or state.probing:
            return
        state.probing = True

        async def probe() -> None:
            try:
                await asyncio.wait_for(conn.run("true", check=False), self.probe_timeout)
            except (TimeoutError, asyncssh.Error, OSError):
                if state.conn is conn:
                    log.info("%s: connection stopped answering: reconnecting", host)
                    self._drop(host, conn)
            finally:
                state.probing = False

        task = asyncio.get_running_loop().create_task(probe())
        self._probes.add(task)
        task.add_done_callback(self._probes.discard)

    async def open_stream(
        self, host: str, argv: Sequence[str], *, sudo: bool = False
    ) -> RemoteProcess:
        """Start `argv` on `host` for a binary stream (no PTY, stderr separate)."""
        command = remote_command(argv, sudo)
        self._notify(host, argv, sudo)
        state = self._state(host)
        await state.sessions.acquire()
        try:
            process = await self._open_process(host, command)
        except BaseException:
            state.sessions.release()
            raise
        return RemoteProcess(host, command, process, state.sessions.release)

    async def open_interactive(
        self,
        host: str,
        argv: Sequence[str],
        *,
        sudo: bool = False,
        term_type: str = "dumb",
        term_size: tuple[int, int] = (1024, 64),
    ) -> RemoteProcess:
        """Start `argv` on `host` on a pseudo-terminal (for an interactive CLI such as
        vtysh that only flushes its output per command on a terminal). stderr arrives
        merged into stdout, as on any terminal; output lines end in CR LF. The
        session holds one of the host's session slots until it is closed."""
        command = remote_command(argv, sudo)
        self._notify(host, argv, sudo)
        state = self._state(host)
        await state.sessions.acquire()
        try:
            process = await self._open_process(host, command, term_type, term_size)
        except BaseException:
            state.sessions.release()
            raise
        return RemoteProcess(host, command, process, state.sessions.release)

    async def forward_local(
        self, host: str, dest_host: str, dest_port: int
    ) -> asyncssh.SSHListener:
        """Listen on 127.0.0.1:<free port> and forward each connection through `host`
        to dest_host:dest_port (as `ssh -L`). The listener ends with the connection."""
        conn = await self._connection(host)
        try:
            return await conn.forward_local_port("127.0.0.1", 0, dest_host, dest_port)
        except (asyncssh.Error, OSError) as exc:
            raise BackendError(
                f"{host}: cannot forward to {dest_host}:{dest_port}: {one_line(exc)}"
            ) from None

    async def close(self) -> None:
        self._closed = True
        for task in list(self._probes):
            task.cancel()
        conns = [s.conn for s in self._states.values() if s.conn is not None]
        for conn in conns:
            conn.close()
        for conn in conns:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), 2.0)
        self._states.clear()


def _close_if_opened(opening: asyncio.Future) -> None:
    """Close the process a cancelled `_open_process` opened after all."""
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()
