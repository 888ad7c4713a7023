"""Drill down on real labs (issue 26): one BGP session, a node's BIRD protocol and a
switch's interfaces, read when asked (not polled), over the same SSH pool and platform
detection as the summaries (`switches.SwitchReader`), so every command lands in the audit
log like every other one.

A switch's session: FRR's `show bgp neighbors PEER json` through vtysh (served by FRR on
every Cumulus release and by plain FRR), else NCLU's `net show bgp neighbor PEER` (Cumulus
3.7's text), else vtysh's text; the first that answers is parsed. A switch that says it has
no such neighbour gives NotFound in its own words; a dynamic neighbour (a node accepted
through `bgp listen range`) is deleted by FRR when its session ends, so its words say so.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING

from fabrictui import deadlines
from fabrictui.backends.base import BackendError, NotFound
from fabrictui.backends.real.kube import calico_bgp
from fabrictui.backends.real.switches import NCLU_JSON, VTYSH_JSON
from fabrictui.parsers import ParseError
from fabrictui.parsers.bgp import parse_bgp_neighbors
from fabrictui.parsers.bgp.bird_session import BirdSession, not_a_protocol, parse_protocols_all
from fabrictui.parsers.bgp.neighbor import BgpNeighbor, no_such_neighbor
from fabrictui.parsers.bgp.neighbor.logged import LoggedChange, bgpd_log_file, last_change
from fabrictui.parsers.bgp.values import check_neighbor
from fabrictui.parsers.interfaces import INTERFACES_SCRIPT, Interface, parse_interfaces

if TYPE_CHECKING:
    from fabrictui.backends.real.kube.client import KubeClient
    from fabrictui.backends.real.ssh import SshPool
    from fabrictui.backends.real.switches import SwitchReader

BIRD_SOCKET = "/var/run/calico/bird.ctl"
SYSLOG_FILE = "/var/log/frr/frr.log"  # where FRR's syslog lines go on Cumulus
LOG_LINES = 20000  # the end of the log read: bounded, however long the log is
# the switch's clock in FRR's own time-stamp format, then the log's end
_LOG_SCRIPT = 'date "+%Y/%m/%d %H:%M:%S"; tail -n ' + str(LOG_LINES) + ' -- "$1"'
_PROTOCOL = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}", re.ASCII)


def neighbor_commands(peer: str, has_vtysh: bool, has_net: bool) -> list[tuple[str, ...]]:
    """The commands that print one neighbour in detail, in order of preference."""
    commands: list[tuple[str, ...]] = []
    if has_vtysh:
        commands.append(("vtysh", "-c", f"show bgp neighbors {peer} json"))
    if has_net:
        commands.append(("net", "show", "bgp", "neighbor", peer))
    if has_vtysh:
        commands.append(("vtysh", "-c", f"show bgp neighbors {peer}"))
    return commands or [("vtysh", "-c", f"show bgp neighbors {peer} json")]


def checked_peer(peer: str) -> str:
    """A peer as it may go into a switch's command: an address or an interface name."""
    try:
        return check_neighbor(peer, "peer")
    except ParseError:
        raise BackendError(f"{peer[:60]!r} is neither an address nor an interface") from None


def _first(text: str) -> str:
    return next((line.strip()[:160] for line in text.splitlines() if line.strip()), "")


class BgpDetailReal:
    """Mixed into `RealLabBackend`: uses its pool, switch reader and kube client."""

    kind: str
    pool: SshPool
    switches: SwitchReader
    kube: KubeClient

    async def _ensure_kube(self) -> None:  # provided by RealLabBackend
        raise NotImplementedError

    async def bgp_neighbor(self, switch: str, peer: str) -> BgpNeighbor:
        peer = checked_peer(peer)
        if switch not in self.pool.targets:
            raise NotFound(f"{switch}: no SSH endpoint (not a switch of this lab)")
        platform = await self.switches.detect(switch)
        commands = neighbor_commands(
            peer, VTYSH_JSON in platform.commands, NCLU_JSON in platform.commands
        )
        errors: list[str] = []
        for argv in commands:
            result = await self.pool.run(
                switch, list(argv), deadlines.current().vtysh, sudo=platform.sudo
            )
            said = no_such_neighbor(result.stdout) or no_such_neighbor(result.stderr)
            if said is not None:
                raise NotFound(f"{switch}: {said} ({peer})")
            if not result.ok:
                why = _first(result.stderr) or _first(result.stdout) or "no output"
                errors.append(f"`{' '.join(argv[:2])}` exit {result.exit_status}: {why}")
                continue
            try:
                found = parse_bgp_neighbors(result.stdout)
            except ParseError as err:
                errors.append(f"`{' '.join(argv[:2])}`: {_first(str(err))}")
                continue
            for neighbor in found:
                if neighbor.peer == peer or len(found) == 1:
                    return neighbor
            raise NotFound(f"{switch}: no neighbor {peer}")
        raise BackendError(f"{switch}: no detail for {peer}: " + "; ".join(errors[:2]))

    async def bgp_neighbor_logged(self, switch: str, peer: str) -> LoggedChange | None:
        peer = checked_peer(peer)
        if switch not in self.pool.targets:
            raise NotFound(f"{switch}: no SSH endpoint (not a switch of this lab)")
        platform = await self.switches.detect(switch)
        timeout = deadlines.current().vtysh
        path = None
        if VTYSH_JSON in platform.commands:
            shown = await self.pool.run(switch, ["vtysh", "-c", "show logging"], timeout,
                                        sudo=platform.sudo)  # fmt: skip
            with contextlib.suppress(ParseError):
                path = bgpd_log_file(shown.stdout) if shown.ok else None
        path = path or SYSLOG_FILE
        result = await self.pool.run(
            switch, ["sh", "-c", _LOG_SCRIPT, "sh", path], timeout, sudo=platform.sudo
        )
        now, _, log = result.stdout.partition("\n")
        if not result.ok:
            raise BackendError(f"{switch}: {path}: {_first(result.stderr) or 'not read'}")
        try:
            return last_change(log, peer, now)
        except ParseError as err:
            raise BackendError(f"{switch}: {path}: {err}") from None

    async def node_bgp_session(self, node: str, protocol: str) -> BirdSession:
        if not _PROTOCOL.fullmatch(protocol):
            raise BackendError(f"{protocol[:60]!r} is not a BIRD protocol name")
        argv = ["birdcl", "-s", BIRD_SOCKET, "show", "protocols", "all", protocol]
        timeout = deadlines.current().ssh_command
        if self.kind == "rehearsal" and node in self.pool.targets:
            result = await self.pool.run(node, argv, timeout, sudo=True)
            text, err, ok = result.stdout, result.stderr, result.ok
        else:
            await self._ensure_kube()
            text, err, ok = await calico_bgp.exec_in_calico_node(self.kube, node, argv, timeout)
        said = not_a_protocol(text)
        if said is not None:
            raise NotFound(f"{node}: BIRD: {said}")
        if not ok and not text.strip():
            raise BackendError(f"{node}: {_first(err) or 'birdcl gave no output'}")
        try:
            sessions = parse_protocols_all(text)
        except ParseError as err:
            raise BackendError(f"{node}: BIRD: {err}") from None
        if not sessions:
            raise NotFound(f"{node}: BIRD has no protocol {protocol}")
        return sessions[0]

    async def switch_interfaces(self, switch: str) -> list[Interface]:
        if switch not in self.pool.targets:
            raise NotFound(f"{switch}: no SSH endpoint (not a switch of this lab)")
        result = await self.pool.run(
            switch, ["sh", "-c", INTERFACES_SCRIPT], deadlines.current().ssh_command
        )
        if not result.ok:
            raise BackendError(f"{switch}: {_first(result.stderr) or 'no interface list'}")
        try:
            return parse_interfaces(result.stdout)
        except ParseError as err:
            raise BackendError(f"{switch}: interfaces: {err}") from None
