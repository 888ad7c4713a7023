"""FRR `show bgp neighbors [PEER]` text -> `BgpNeighbor`s: what NCLU's `net show bgp
neighbor PEER` prints on Cumulus 3.7 (its FRR's own text) and any vtysh without JSON.

One block per neighbour, opened by `BGP neighbor is ADDRESS, remote AS N, local AS M, ...`
(`BGP neighbor on swp51: fe80::..., remote AS ...` for an unnumbered peer). Lines read,
with the spellings releases used: `BGP state = Established, up for 00:13:08`; `Hold time
is 9 seconds, keepalive interval is 3 seconds` (older: `Hold time is 9, keepalive ...`) and
its `Configured ...` twin; the `Message statistics` table; `N accepted prefixes` per `For
address family:`; `Connections established 1; dropped 1`; `Last reset 00:00:05,  Notification
received (Cease/Administrative Shutdown)` (older: `Last reset 00:00:05, due to ...`); the
BFD lines. Every other line is left alone: the text has many, and they vary by release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fabrictui.parsers import ParseError
from fabrictui.parsers.bgp.neighbor import (
    BfdState,
    BgpNeighbor,
    FamilyPrefixes,
    Notification,
    codes_of,
)
from fabrictui.parsers.bgp.values import (
    HOST_NAME,
    as_number,
    check_neighbor,
    count,
    parse_bgp_uptime_seconds,
    parse_router_id,
    parse_state,
)

_HEAD = re.compile(
    r"BGP neighbor (?:is (\S+?)|on (\S+?): (\S+?)), remote AS (\S+?), local AS (\S+?)(?:,|$)"
)
_STATE = re.compile(r"BGP state = (.+?)(?:, up for (\S+))?$")
_VERSION = re.compile(r"BGP version \d+, remote router ID (\S+?), local router ID (\S+)")
_TIMERS = re.compile(
    r"(Configured hold|Hold) time is (\d{1,6})(?: seconds)?, keepalive interval is (\d{1,6})"
)
_MESSAGE = re.compile(
    r"(Opens|Notifications|Updates|Keepalives|Route Refresh|Capability|Total):\s+(\S+)\s+(\S+)"
)
_FAMILY = re.compile(r"For address family: (.+)")
_ACCEPTED = re.compile(r"(\S+) accepted prefixes")
_CONNECTIONS = re.compile(r"Connections established (\S+); dropped (\S+)")
_RESET = re.compile(r"Last reset (\S+?),\s+(?:due to )?(.+)")
_NOTIFY = re.compile(r"(?:BGP )?Notification (sent|send|received)\s*(?:\((.*)\))?", re.I)
_BFD_MULT = re.compile(
    r"Detect Mul(?:tiplier)?: (\d{1,6}), Min Rx interval: (\d{1,9}), Min Tx interval: (\d{1,9})"
)
_BFD_STATUS = re.compile(r"Status: (\w+), Last update: (\S+)")
_HOST = re.compile(r"(Local|Foreign) host: (\S+?), (?:Local|Foreign) port: \d+")


@dataclass
class _Block:
    peer: str
    remote_as: int | None
    local_as: int | None
    lineno: int
    hostname: str | None = None
    description: str | None = None
    router_id: str | None = None
    state: str | None = None
    up: float | None = None
    admin: bool = False
    timers: dict[str, tuple[float, float]] = field(default_factory=dict)
    messages: list[tuple[str, int, int]] = field(default_factory=list)
    families: list[FamilyPrefixes] = field(default_factory=list)
    established: int | None = None
    dropped: int | None = None
    reset_seconds: float | None = None
    reset: str | None = None
    notification: Notification | None = None
    bfd: bool = False
    bfd_mult: tuple[int, int, int] | None = None
    bfd_status: tuple[str, str] | None = None
    hosts: dict[str, str] = field(default_factory=dict)


def _as(value: str, what: str) -> int | None:
    if value in ("external", "internal"):
        return None
    return as_number(value, what)


def _head(match: re.Match[str], lineno: int) -> _Block:
    what = f"line {lineno}"
    address, interface, _linklocal, remote, local = match.groups()
    peer = check_neighbor(address or interface, what)
    return _Block(peer, _as(remote, what), _as(local, what), lineno)


def _reset(block: _Block, when: str, why: str, what: str) -> None:
    seconds = parse_bgp_uptime_seconds(when)
    if seconds is None and when.lower() != "never":
        raise ParseError(f"{what}: last reset {when[:20]!r} is not a time")
    block.reset_seconds = seconds
    block.reset = why.strip()[:200]
    notify = _NOTIFY.match(block.reset)
    if notify:
        direction = "received" if notify.group(1).lower() == "received" else "sent"
        words = (notify.group(2) or "")[:120]
        code, subcode = codes_of(words)
        block.notification = Notification(direction, code, subcode, words)


def _line(block: _Block, line: str, what: str) -> None:
    if line.startswith("Hostname: "):
        name = line.split(": ", 1)[1]
        if not HOST_NAME.fullmatch(name):
            raise ParseError(f"{what}: hostname {name[:60]!r} is not a host name")
        block.hostname = name
    elif line.startswith("Description: "):
        block.description = line.split(": ", 1)[1][:200]
    elif line == "Administratively shut down":
        block.admin = True
    elif m := _VERSION.match(line):
        rid = parse_router_id(m.group(1), what)
        block.router_id = None if rid == "0.0.0.0" else rid
    elif m := _STATE.match(line):
        block.state = parse_state(m.group(1).strip(), what)
        if m.group(2) is not None:
            block.up = parse_bgp_uptime_seconds(m.group(2))
            if block.up is None:
                raise ParseError(f"{what}: up for {m.group(2)[:20]!r} is not a time")
    elif m := _TIMERS.match(line):
        block.timers[m.group(1)] = (float(m.group(2)), float(m.group(3)))
    elif m := _MESSAGE.match(line):
        block.messages.append((m.group(1), count(m.group(2), what), count(m.group(3), what)))
    elif m := _FAMILY.match(line):
        block.families.append(FamilyPrefixes(m.group(1)[:40], None, None, None))
    elif (m := _ACCEPTED.fullmatch(line)) and block.families:
        last = block.families[-1]
        block.families[-1] = FamilyPrefixes(last.family, None, count(m.group(1), what), None)
    elif m := _CONNECTIONS.match(line):
        block.established = count(m.group(1), what)
        block.dropped = count(m.group(2), what)
    elif m := _RESET.match(line):
        _reset(block, m.group(1), m.group(2), what)
    elif line.startswith("BFD: "):
        block.bfd = True
    elif m := _BFD_MULT.match(line):
        block.bfd_mult = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    elif m := _BFD_STATUS.match(line):
        block.bfd_status = (m.group(1), m.group(2))
    elif m := _HOST.match(line):
        block.hosts[m.group(1)] = m.group(2)


def _neighbor(block: _Block) -> BgpNeighbor:
    if block.state is None:
        raise ParseError(f"line {block.lineno}: neighbor {block.peer!r} has no `BGP state =`")
    state = block.state
    if block.admin and state == "Idle":
        state = "Idle (Admin)"
    configured = block.timers.get("Configured hold")
    in_use = block.timers.get("Hold")
    bfd = None
    if block.bfd:
        mult = block.bfd_mult or (None, None, None)
        status, update = block.bfd_status or ("Unknown", "")
        bfd = BfdState(status, mult[0], mult[1], mult[2], update)
    return BgpNeighbor(
        peer=block.peer,
        hostname=block.hostname,
        description=block.description,
        remote_as=block.remote_as,
        local_as=block.local_as,
        remote_router_id=block.router_id,
        state=state,
        admin_shutdown=block.admin,
        up_seconds=block.up if state == "Established" else None,
        last_reset_seconds=block.reset_seconds,
        last_reset=block.reset,
        notification=block.notification,
        hold_configured=configured[0] if configured else None,
        keepalive_configured=configured[1] if configured else None,
        hold=in_use[0] if in_use else None,
        keepalive=in_use[1] if in_use else None,
        messages=tuple(block.messages),
        connections_established=block.established,
        connections_dropped=block.dropped,
        families=tuple(block.families),
        bfd=bfd,
        local_address=block.hosts.get("Local"),
        peer_address=block.hosts.get("Foreign"),
    )


def parse_neighbors_text(text: str) -> list[BgpNeighbor]:
    blocks: list[_Block] = []
    first = ""
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        first = first or line
        if head := _HEAD.match(line):
            blocks.append(_head(head, lineno))
            continue
        if not blocks:
            if line.startswith("%"):
                raise ParseError(f"the device answered {line[:120]!r}")
            continue  # a banner before the first neighbour (NCLU prints none; be lenient)
        _line(blocks[-1], line, f"line {lineno}")
    if not blocks:
        raise ParseError(f"not `show bgp neighbors` output: {first[:60]!r}")
    return [_neighbor(b) for b in blocks]
