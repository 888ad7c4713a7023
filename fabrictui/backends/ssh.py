"""SSH to lab hosts with asyncssh: one persistent connection per host.

`SshPool` keeps one connection per host and runs every command of that host
as a channel on it (a few milliseconds a command instead of a new `ssh`
process each time). Per host it caps concurrent channels below OpenSSH's
`MaxSessions`, retries channel opens the server refused, reconnects after a
failure with a capped exponential backoff, and fails fast while a host is
known to be down, so one dead host never delays the others.

Host keys are checked against known_hosts (the lab's file, or
~/.ssh/known_hosts). The one exception is explicit: a target read from
`vagrant ssh-config` that says `StrictHostKeyChecking no` for a forward on
127.0.0.1/::1 (Vagrant's own port forward to a VM it created and whose key it
regenerates on every rebuild) connects without a host key check, and the pool
logs that once for that target. Unknown or changed keys raise `HostKeyError`
whose message is the exact command that accepts the key.

Error messages are one line and never carry key material or passwords: the
pool never uses passwords, and only names identity files by path.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import shlex
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import asyncssh

from fabrictui.backends.base import BackendError, Unreachable
from fabrictui.backends.remote import display_command, remote_command

log = logging.getLogger(__name__)

LOOPBACK_ADDRESSES = frozenset({"127.0.0.1", "::1"})
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"


class HostKeyError(BackendError):
    """The host's key is unknown or differs from known_hosts; the message says how to accept."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


@dataclass(frozen=True, slots=True)
class SshTarget:
    """How to reach one host.

    `check_host_key=False` is the Vagrant exception and nothing else: it is
    accepted only for `source="vagrant"` targets on a loopback address.
    """

    name: str
    host: str
    port: int = 22
    user: str | None = None
    identity_files: tuple[str, ...] = ()
    identities_only: bool = False
    known_hosts: tuple[str, ...] = ()  # files; empty: ~/.ssh/known_hosts
    check_host_key: bool = True
    proxy_jump: str | None = None  # "user@host:port", "a,b", or another target's name
    source: str = "inventory"  # "vagrant", "ssh_config", "inventory", "jump"

    def __post_init__(self) -> None:
        for what, value in (("host", self.host), ("user", self.user or "x")):
            if not value or value.startswith("-") or any(c.isspace() for c in value):
                # would become an option of an interactive `ssh`, or is no name at all
                raise ValueError(f"{self.name}: bad ssh {what} {value!r}")
        if not 0 < self.port < 65536:
            raise ValueError(f"{self.name}: bad ssh port {self.port}")
        if not self.check_host_key and not (
            self.source == "vagrant" and self.host in LOOPBACK_ADDRESSES
        ):
            raise ValueError(
                f"{self.name}: host key checks may only be skipped for Vagrant-managed "
                "forwards on 127.0.0.1/::1"
            )

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        return f"{user}{host}:{self.port}"

    @property
    def known_hosts_files(self) -> tuple[str, ...]:
        files = self.known_hosts or (DEFAULT_KNOWN_HOSTS,)
        return tuple(os.path.expanduser(f) for f in files)


# --- ssh config and --jump parsing --------------------------------------------


def parse_jump(spec: str, name: str | None = None) -> SshTarget:
    """`user@host[:port]`, `[::1]:port` or `ssh://user@host:port` -> SshTarget."""
    text = spec.strip()
    if text.startswith("ssh://"):
        text = text[len("ssh://") :]
    if not text or any(c.isspace() for c in text) or "," in text:
        raise BackendError(f"bad jump host {spec!r}: expected user@host[:port]")
    user: str | None = None
    if "@" in text:
        user, text = text.rsplit("@", 1)
        user = user or None
    port = 22
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise BackendError(f"bad jump host {spec!r}: unclosed [")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise BackendError(f"bad jump host {spec!r}: bad port")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        if not port_text.isdigit():
            raise BackendError(f"bad jump host {spec!r}: bad port")
        port = int(port_text)
    else:
        host = text
    if not host or not 0 < port < 65536:
        raise BackendError(f"bad jump host {spec!r}")
    try:
        return SshTarget(
            name=name or f"jump {spec}", host=host, port=port, user=user, source="jump"
        )
    except ValueError as exc:
        raise BackendError(f"bad jump host {spec!r}: {exc}") from None


def _is_loopback(host: str) -> bool:
    return host in LOOPBACK_ADDRESSES


def parse_ssh_config(
    text: str, source: str = "ssh_config", base_dir: Path | None = None
) -> dict[str, SshTarget]:
    """Targets from `Host` blocks as `vagrant ssh-config` prints them.

    Understands HostName, Port, User, IdentityFile, IdentitiesOnly,
    UserKnownHostsFile, StrictHostKeyChecking and ProxyJump; wildcard blocks are
    skipped. With `source="vagrant"`, `StrictHostKeyChecking no` on a loopback
    HostName is the one case where host keys are not checked.
    """
    blocks: list[tuple[list[str], dict[str, list[str]]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, value = _split_option(line)
        try:
            values = shlex.split(value.strip())
        except ValueError:
            values = [value.strip()]
        key = key.lower()
        if key == "host":
            blocks.append((values, {}))
        elif blocks and values:
            opts = blocks[-1][1]
            if key == "identityfile":  # accumulates, like ssh
                opts.setdefault(key, []).append(values[0])
            elif key == "userknownhostsfile":  # several files on one line
                opts.setdefault(key, values)
            else:  # the first value obtained wins, like ssh
                opts.setdefault(key, values[:1])
    targets: dict[str, SshTarget] = {}
    for patterns, opts in blocks:
        for name in patterns:
            if any(c in name for c in "*?!"):
                continue
            try:
                targets[name] = _target_from_options(name, opts, source, base_dir)
            except ValueError as exc:
                raise BackendError(f"ssh config: {exc}") from None
    return targets


def _split_option(line: str) -> tuple[str, str]:
    """`Key value` or `Key=value`."""
    parts = line.split(None, 1)
    key = parts[0]
    rest = parts[1] if len(parts) > 1 else ""
    if "=" in key:
        key, _, first = key.partition("=")
        rest = (first + " " + rest).strip()
    elif rest.startswith("="):
        rest = rest[1:].strip()
    return key, rest


def _target_from_options(
    name: str, opts: dict[str, list[str]], source: str, base_dir: Path | None
) -> SshTarget:
    def first(key: str) -> str | None:
        values = opts.get(key)
        return values[0] if values else None

    def path(p: str) -> str:
        expanded = os.path.expanduser(p)
        if base_dir is not None and not os.path.isabs(expanded):
            return str(base_dir / expanded)
        return expanded

    host = first("hostname") or name
    port_text = first("port") or "22"
    port = int(port_text) if port_text.isdigit() else 22
    known = tuple(
        path(f) for f in opts.get("userknownhostsfile", []) if f not in ("/dev/null", "none")
    )
    strict = (first("stricthostkeychecking") or "ask").lower()
    skip_check = source == "vagrant" and strict == "no" and _is_loopback(host)
    jump = first("proxyjump")
    if jump and jump.lower() == "none":
        jump = None
    return SshTarget(
        name=name,
        host=host,
        port=port,
        user=first("user"),
        identity_files=tuple(path(f) for f in opts.get("identityfile", [])),
        identities_only=(first("identitiesonly") or "no").lower() == "yes",
        known_hosts=known,
        check_host_key=not skip_check,
        proxy_jump=jump,
        source=source,
    )


# --- errors -------------------------------------------------------------------


def _one_line(text: object, limit: int = 160) -> str:
    line = " ".join(str(text).split())
    if "PRIVATE KEY" in line or "BEGIN " in line:
        return "(details withheld)"
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _accept_hint(target: SshTarget, via: SshTarget | None, changed: bool) -> str:
    file = target.known_hosts_files[0]
    host = target.host
    entry = host if target.port == 22 else f"[{host}]:{target.port}"
    scan = ["ssh-keyscan", "-p", str(target.port), host]
    if via is not None:
        # The key must be read where the host is reachable: on the jump host.
        jump_login = f"{via.user}@{via.host}" if via.user else via.host
        scan = ["ssh", "-p", str(via.port), jump_login, *scan]
    scan_text = " ".join(shlex.quote(a) for a in scan) + " >> " + shlex.quote(file)
    if changed:
        remove = " ".join(shlex.quote(a) for a in ["ssh-keygen", "-R", entry, "-f", file])
        return (
            f"{target.name}: host key of {target.host}:{target.port} CHANGED (does not match "
            f"{file}); refusing to connect. If the host was rebuilt, run: {remove} && {scan_text}"
        )
    return (
        f"{target.name}: unknown host key for {target.host}:{target.port} (not in {file}); "
        f"to trust it, run: {scan_text}"
    )


def _host_key_is_known(target: SshTarget) -> bool:
    files = [f for f in target.known_hosts_files if os.path.isfile(f)]
    if not files:
        return False
    try:
        known = asyncssh.read_known_hosts(files)
    except (OSError, ValueError):
        return False
    addr = target.host if _is_ip(target.host) else ""
    port = target.port if target.port != 22 else None
    host_keys = known.match(target.host, addr, port)[0]
    return bool(host_keys)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# --- processes ------------------------------------------------------------------


class RemoteProcess:
    """A remote command streaming bytes (no PTY, stderr separate).

    Holds one of the host's session slots until `close()`.
    """

    def __init__(self, host: str, command: str, process: asyncssh.SSHClientProcess, release):
        self.host = host
        self.command = command
        self.process = process
        self._release = release

    @property
    def stdout(self) -> asyncssh.SSHReader:
        return self.process.stdout

    @property
    def stderr(self) -> asyncssh.SSHReader:
        return self.process.stderr

    @property
    def exit_status(self) -> int | None:
        return self.process.exit_status

    async def read(self, n: int = 65536) -> bytes:
        """Up to `n` bytes of stdout; b"" at end of stream. Raises Unreachable on loss."""
        try:
            data = await self.process.stdout.read(n)
        except (asyncssh.Error, OSError) as exc:
            raise Unreachable(f"{self.host}: stream lost: {_one_line(exc)}") from None
        return data if isinstance(data, bytes) else data.encode()

    def write(self, data: bytes) -> None:
        """Send `data` to the command's stdin. Raises Unreachable when the channel is gone."""
        try:
            self.process.stdin.write(data)
        except (asyncssh.Error, OSError, BrokenPipeError) as exc:
            raise Unreachable(f"{self.host}: stream lost: {_one_line(exc)}") from None

    def abort(self) -> None:
        """Close the channel now, without waiting (for a caller being cancelled)."""
        try:
            _abandon(self.process)
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()

    async def close(self, timeout: float = 3.0) -> None:
        """Close the channel (the remote command sees EOF/SIGPIPE) and free the slot."""
        try:
            with contextlib.suppress(asyncssh.Error, OSError):
                self.process.send_signal("TERM")
            self.process.close()
            with contextlib.suppress(asyncssh.Error, OSError, TimeoutError):
                await asyncio.wait_for(self.process.wait_closed(), timeout)
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


# --- the pool -------------------------------------------------------------------


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
        connect_timeout: float = 5.0,
        command_timeout: float = 10.0,
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
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
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
                raise type(state.last_error)(str(state.last_error))
            try:
                conn = await self._connect(state, depth)
            except BackendError as exc:
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
                _accept_hint(target, via, changed=_host_key_is_known(target))
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
            reason = exc.strerror or _one_line(exc) or type(exc).__name__
            raise Unreachable(f"{target.name}: cannot connect to {where}: {reason}") from None
        except asyncssh.Error as exc:
            raise Unreachable(
                f"{target.name}: SSH to {where} failed: {_one_line(exc.reason or exc)}"
            ) from None
        except BackendError:
            raise
        except (ValueError, TypeError) as exc:
            raise BackendError(f"{target.name}: bad SSH settings: {_one_line(exc)}") from None

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
            try:
                return await conn.create_process(
                    command, encoding=None, term_type=term_type, term_size=term_size
                )
            except asyncssh.ChannelOpenError as exc:
                if conn.is_closed() and not reconnected:
                    reconnected = True
                    self._drop(host, conn)
                    continue
                attempt += 1
                if attempt > self.channel_retries:
                    raise BackendError(
                        f"{host}: server refused a new SSH session: {_one_line(exc.reason)}"
                    ) from None
                await asyncio.sleep(min(1.0, 0.02 * 2**attempt))
            except (asyncssh.Error, OSError) as exc:
                # The connection died under us before the command started: it
                # never ran, so one reconnect is safe.
                self._drop(host, conn)
                if reconnected:
                    raise Unreachable(f"{host}: connection lost: {_one_line(exc)}") from None
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
                    _abandon(process)
                raise
            except TimeoutError:
                if process is not None:
                    _abandon(process)
                self._probe_after_timeout(host, state)
                raise BackendError(
                    f"{host}: `{_one_line(display_command(argv, sudo), 80)}` timed out "
                    f"after {limit:g}s"
                ) from None
            except (asyncssh.Error, OSError) as exc:
                if state.conn is not None:
                    self._drop(host, state.conn)
                raise Unreachable(f"{host}: connection lost: {_one_line(exc)}") from None
        status = process.exit_status
        if status is None:
            signal = process.exit_signal
            status = -1
            err = (err or b"") + (f"\nkilled by signal {signal[0]}".encode() if signal else b"")
        return CommandResult(status, _text(out), _text(err))

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
                f"{host}: cannot forward to {dest_host}:{dest_port}: {_one_line(exc)}"
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


def _abandon(process: asyncssh.SSHClientProcess) -> None:
    """Stop waiting for a command: ask for KILL (OpenSSH may refuse) and close the channel."""
    with contextlib.suppress(asyncssh.Error, OSError):
        process.send_signal("KILL")
    process.close()


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="replace")
