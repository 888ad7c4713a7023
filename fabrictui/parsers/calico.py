"""`calicoctl node status` -> `CalicoPeer`s.

Accepted: `Calico process is running.`, then per address family a title
(`IPv4 BGP status`) and either a box table (`+---+` rules, `| PEER ADDRESS |
PEER TYPE | STATE | SINCE | INFO |`) or `No IPv4 peers found.`. Column widths
vary; a long INFO wraps onto continuation rows whose other cells are blank and
is joined back with single spaces. Peers of both families are returned, IPv4
first.

Decisions: `Calico process is not running.` is a ParseError quoting it (there is
no status to read, and the caller says so); a table that never closes (no
bottom rule) is truncated output, an error too.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from fabrictui.parsers import ParseError
from fabrictui.parsers.bird import BirdProtocol

__all__ = ["PEER_TYPES", "CalicoPeer", "parse_node_status", "peers_from_bird"]

PEER_TYPES = frozenset({"node-to-node mesh", "global", "node specific"})
# BIRD's protocol states, as calicoctl passes them through.
_STATES = frozenset({"up", "start", "down", "stop", "feed", "flush"})
_COLUMNS = ["PEER ADDRESS", "PEER TYPE", "STATE", "SINCE", "INFO"]
_RULE = re.compile(r"\+(?:-+\+){5}")
_TITLE = re.compile(r"IPv([46]) BGP status")
_NO_PEERS = re.compile(r"No IPv[46] peers found\.")
_SINCE = re.compile(r"\d\d:\d\d:\d\d|\d{4}-\d\d-\d\d(?: \d\d:\d\d:\d\d)?", re.ASCII)


@dataclass(frozen=True, slots=True)
class CalicoPeer:
    address: str
    peer_type: str  # "node-to-node mesh", "global", "node specific"
    state: str  # "up", "start", ...
    since: str  # "23:30:04" or "2016-11-02"
    info: str  # "Established", "Active Socket: Connection refused", ...

    @property
    def established(self) -> bool:
        return self.state == "up" and self.info.startswith("Established")


@dataclass
class _Table:
    title_line: int
    header: bool = False
    closed: bool = False
    rules: int = 0
    rows: int = 0


def _cells(line: str, what: str) -> list[str]:
    if not (line.startswith("|") and line.endswith("|")):
        raise ParseError(f"{what}: a table row must start and end with '|'")
    cells = [cell.strip() for cell in line[1:-1].split("|")]
    if len(cells) != len(_COLUMNS):
        raise ParseError(f"{what}: {len(cells)} cells, expected {len(_COLUMNS)}")
    return cells


def _peer(cells: list[str], what: str) -> CalicoPeer:
    address, peer_type, state, since, info = cells
    try:
        address = str(ipaddress.ip_address(address))
    except ValueError:
        raise ParseError(f"{what}: peer address {address[:40]!r} is not an IP address") from None
    if peer_type not in PEER_TYPES:
        raise ParseError(f"{what}: unknown peer type {peer_type[:30]!r}")
    if state not in _STATES:
        raise ParseError(f"{what}: unknown state {state[:30]!r}")
    if not _SINCE.fullmatch(since):
        raise ParseError(f"{what}: since {since[:30]!r} is neither HH:MM:SS nor a date")
    return CalicoPeer(address, peer_type, state, since, info)


def parse_node_status(text: str) -> list[CalicoPeer]:
    """Parse `calicoctl node status` (see module docstring)."""
    if not isinstance(text, str):
        raise ParseError(f"calicoctl output must be text, not {type(text).__name__}")
    peers: list[CalicoPeer] = []
    running = False
    table: _Table | None = None
    families: set[str] = set()
    awaiting: int | None = None  # the line of a title not yet followed by its status
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        what = f"line {lineno}"
        if not line:
            continue
        if table is not None and not table.closed:
            if _RULE.fullmatch(line):
                table.rules += 1
                # Rules: above the header, below it, at the bottom.
                table.closed = table.rules == 3
                continue
            cells = _cells(line, what)
            if not table.header:
                if table.rules != 1 or cells != _COLUMNS:
                    raise ParseError(f"{what}: expected the header {' | '.join(_COLUMNS)}")
                table.header = True
                continue
            if table.rules != 2:
                raise ParseError(f"{what}: a row outside the table body")
            if not any(cells[:4]):
                if not table.rows or not cells[4]:
                    raise ParseError(f"{what}: a continuation row with nothing to continue")
                last = peers[-1]
                peers[-1] = CalicoPeer(
                    last.address, last.peer_type, last.state, last.since, f"{last.info} {cells[4]}"
                )
                continue
            peers.append(_peer(cells, what))
            table.rows += 1
            continue
        if line == "Calico process is running.":
            running = True
            continue
        if line.startswith("Calico process is not running"):
            raise ParseError(f"{what}: calicoctl answered {line[:80]!r}")
        title = _TITLE.fullmatch(line)
        if title:
            if not running:
                raise ParseError(f"{what}: BGP status before 'Calico process is running.'")
            if title.group(1) in families or awaiting is not None:
                raise ParseError(f"{what}: a status title where a table was expected")
            families.add(title.group(1))
            awaiting, table = lineno, None
            continue
        if _NO_PEERS.fullmatch(line) and awaiting is not None:
            awaiting, table = None, _Table(lineno, closed=True)
            continue
        if _RULE.fullmatch(line) and awaiting is not None:
            awaiting, table = None, _Table(lineno, rules=1)
            continue
        raise ParseError(f"{what}: unexpected {line[:60]!r}")
    if not running:
        raise ParseError("not `calicoctl node status` output: no 'Calico process is running.'")
    if table is not None and not table.closed:
        raise ParseError(f"table at line {table.title_line} never closes (output truncated?)")
    if not families or awaiting is not None:
        raise ParseError("a BGP status section without its table (output truncated?)")
    return peers


# calicoctl reads its table from BIRD's `show protocols`; Calico's protocol name prefixes
# say the peer type.
_TYPE_OF_PREFIX = {"Mesh": "node-to-node mesh", "Node": "node specific", "Global": "global"}


def peers_from_bird(protocols: Iterable[BirdProtocol]) -> list[CalicoPeer]:
    """The rows `calicoctl node status` prints for a node whose BIRD shows `protocols`
    (BGP protocols named by Calico; others are left out, as calicoctl leaves them)."""
    peers = []
    for proto in protocols:
        address = proto.peer_address
        kind = _TYPE_OF_PREFIX.get(proto.name.split("_", 1)[0])
        if proto.proto != "BGP" or address is None or kind is None:
            continue
        peers.append(CalicoPeer(address, kind, proto.state, proto.since, proto.info))
    return peers
