"""BGP summaries from switches over SSH, whatever the switch runs.

The platform of each switch is detected once (which of `vtysh`, `net`, `nv`
exist, and whether the login is root) and cached. JSON is preferred:
`vtysh -c 'show bgp vrf default summary json'` answers on FRR and on every
Cumulus release; NCLU's `net show bgp summary json` and the text summaries
are fallbacks. The command that worked is remembered per switch. Every read
goes through `fabrictui.parsers.bgp.parse_bgp_summary`, so the fabric pane and
the checks read the same data. Failures are returned in `SwitchReading.error`.

On a switch with vtysh, `vtysh -c` commands go through one long-lived vtysh per
switch (`fabrictui.backends.real.vtysh`) instead of a new vtysh for every poll;
when that session fails, the same command runs one-shot and the session is
re-opened later (with a backoff).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fabrictui import deadlines
from fabrictui.backends.base import BackendError
from fabrictui.backends.real.ssh import SshPool
from fabrictui.backends.real.vtysh import SessionFailed, VtyshSessions
from fabrictui.model import BgpSummary, SwitchReading
from fabrictui.parsers import ParseError
from fabrictui.parsers.bgp import parse_bgp_summary

# A constant script (no names pasted in): who am I, and which CLIs exist.
DETECT_SCRIPT = (
    'printf "uid=%s\\n" "$(id -u)"; '
    "for c in vtysh net nv; do "
    'p=$(command -v "$c" 2>/dev/null) && printf "%s=%s\\n" "$c" "$p"; '
    "done; true"
)

VTYSH_JSON = ("vtysh", "-c", "show bgp vrf default summary json")
NCLU_JSON = ("net", "show", "bgp", "summary", "json")
VTYSH_TEXT = ("vtysh", "-c", "show bgp summary")
NCLU_TEXT = ("net", "show", "bgp", "summary")


@dataclass(frozen=True, slots=True)
class Platform:
    name: str  # "frr", "nclu", "nvue", "unknown"
    sudo: bool
    commands: tuple[tuple[str, ...], ...]  # in order of preference


def platform_from_probe(output: str, hint: str | None = None) -> Platform:
    """Interpret DETECT_SCRIPT's output (and an inventory's platform hint)."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            found[key.strip()] = value.strip()
    sudo = found.get("uid", "") != "0"
    has_vtysh, has_net, has_nv = ("vtysh" in found), ("net" in found), ("nv" in found)
    commands: list[tuple[str, ...]] = []
    if has_vtysh:
        commands.append(VTYSH_JSON)
    if has_net:
        commands.append(NCLU_JSON)
    if has_vtysh:
        commands.append(VTYSH_TEXT)
    if has_net:
        commands.append(NCLU_TEXT)
    name = "nvue" if has_nv else "nclu" if has_net else "frr" if has_vtysh else "unknown"
    if hint and name == "unknown":
        name = hint
    if not commands:
        # Nothing found on PATH (a restricted PATH for non-root logins): sudo's
        # secure_path usually still finds vtysh.
        commands = [VTYSH_JSON, NCLU_JSON]
        sudo = True
    return Platform(name=name, sudo=sudo, commands=tuple(commands))


class SwitchReader:
    """Reads BGP summaries of switches through an SshPool."""

    def __init__(
        self,
        pool: SshPool,
        timeout: float | None = None,
        platform_hints: Mapping[str, str | None] | None = None,
        *,
        sessions: bool = True,
    ) -> None:
        self.pool = pool
        # one read: the vtysh deadline in force unless given (docs/deadlines.md)
        self.timeout = deadlines.current().vtysh if timeout is None else timeout
        # one long-lived vtysh per switch for `vtysh -c` commands (False: one-shot only)
        self.use_sessions = sessions
        self.sessions = VtyshSessions(pool, open_timeout=self.timeout)
        self.session_reads = 0  # commands answered by a session
        self.oneshot_reads = 0  # commands run one-shot
        self._hints = dict(platform_hints or {})
        self._platforms: dict[str, Platform] = {}
        self._working: dict[str, int] = {}  # switch -> index of the command that last worked
        self._detect_locks: dict[str, asyncio.Lock] = {}

    def platform(self, switch: str) -> Platform | None:
        return self._platforms.get(switch)

    async def detect(self, switch: str) -> Platform:
        lock = self._detect_locks.setdefault(switch, asyncio.Lock())
        async with lock:
            cached = self._platforms.get(switch)
            if cached is not None:
                return cached
            result = await self.pool.run(switch, ["sh", "-c", DETECT_SCRIPT], self.timeout)
            if not result.ok:
                raise BackendError(
                    f"{switch}: platform probe failed: {_first(result.stderr) or 'no output'}"
                )
            platform = platform_from_probe(result.stdout, self._hints.get(switch))
            self._platforms[switch] = platform
            return platform

    async def read(self, switch: str) -> SwitchReading:
        """One switch's summary; any failure is in `error` (one line)."""
        try:
            platform = await self.detect(switch)
            summary_error = await self._read(switch, platform)
        except BackendError as exc:
            return SwitchReading(switch, None, str(exc), time.time())
        summary, error = summary_error
        return SwitchReading(switch, summary, error, time.time())

    async def _read(self, switch: str, platform: Platform) -> tuple[BgpSummary | None, str | None]:
        order = list(range(len(platform.commands)))
        first = self._working.get(switch)
        if first is not None:
            order.remove(first)
            order.insert(0, first)
        errors: list[str] = []
        for index in order:
            argv = platform.commands[index]
            text = await self._via_session(switch, argv, platform)
            if text is not None:
                try:
                    summary = parse_bgp_summary(text)
                except ParseError:
                    pass  # not trusted: the one-shot command below decides
                else:
                    self._working[switch] = index
                    self.session_reads += 1
                    return summary, None
            self.oneshot_reads += 1
            result = await self.pool.run(switch, argv, self.timeout, sudo=platform.sudo)
            if not result.ok:
                why = _first(result.stderr) or _first(result.stdout) or "no output"
                errors.append(f"`{' '.join(argv[:2])}` exit {result.exit_status}: {why}")
                continue
            try:
                summary = parse_bgp_summary(result.stdout)
            except ParseError as exc:
                errors.append(f"`{' '.join(argv[:2])}`: {_first(str(exc))}")
                continue
            self._working[switch] = index
            return summary, None
        return None, f"{switch}: no BGP summary: " + "; ".join(errors[:2])

    async def _via_session(
        self, switch: str, argv: tuple[str, ...], platform: Platform
    ) -> str | None:
        """`vtysh -c CMD` through the switch's vtysh session; None: use the one-shot path."""
        if not self.use_sessions or len(argv) != 3 or argv[:2] != ("vtysh", "-c"):
            return None
        try:
            # half the budget: a hung session still leaves time for the one-shot command
            return await self.sessions.run(switch, argv[2], self.timeout / 2, sudo=platform.sudo)
        except SessionFailed:
            return None

    async def close(self) -> None:
        """Close every vtysh session (the pool is the caller's to close)."""
        await self.sessions.close()

    async def read_all(self, switches: Iterable[str]) -> list[SwitchReading]:
        """Every switch concurrently; a slow or dead switch delays only itself."""
        return list(await asyncio.gather(*(self.read(s) for s in switches)))


def _first(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:160]
    return ""
