"""BIRD 1.6 `show protocols` (as calico-node's BIRD prints it) -> `BirdProtocol`s.

Accepted: what `birdcl -s /var/run/calico/bird.ctl show protocols` prints (an
optional `BIRD 1.6.8 ready.` banner, the `name proto table state since info`
header, one row per protocol), and the same with the reply codes of the raw
protocol (`2002-name ...`, `1002-Mesh_...`). `since` is `HH:MM:SS` today or
`YYYY-MM-DD` before, or both (`iso long`); `info` is the rest of the row, empty
for protocols that carry no session and for sessions that are down.

Calico names its BGP protocols after the peer: `Mesh_10_0_0_1` (node-to-node
mesh), `Node_...` (a node-specific BGPPeer), `Global_...` (a global BGPPeer),
IPv6 with `_` for `:`, and a `_port_<n>` suffix when the peer has a port.
`BirdProtocol.peer_address` reads that name back; other protocols give None.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from fabrictui.parsers import ParseError

__all__ = ["BirdProtocol", "parse_protocols", "peer_address_of"]

# BIRD 1.6 protocol states (`proto_state_name`) and core states shown instead.
STATES = frozenset({"up", "down", "start", "stop", "feed", "flush"})
_HEADER = ["name", "proto", "table", "state", "since", "info"]
_REPLY_CODE = re.compile(r"\d{4}(?:[- ]|$)", re.ASCII)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}", re.ASCII)
_WORD = re.compile(r"[A-Za-z0-9_.-]{1,64}", re.ASCII)
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d", re.ASCII)
_DATE = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", re.ASCII)
_CALICO_NAME = re.compile(r"(?:Mesh|Node|Global)_([0-9A-Fa-f_]{1,60}?)(?:_port_\d{1,5})?", re.ASCII)
_BANNER = re.compile(r"BIRD \S+ ready\.")
# birdcl's own complaints (no daemon behind the socket, a bad command).
_BIRDCL_ERROR = re.compile(r"Unable to connect|Connection refused|syntax error|Access denied", re.I)


@dataclass(frozen=True, slots=True)
class BirdProtocol:
    name: str  # "Mesh_10_0_101_101", "Global_10_0_101_1", "kernel1"
    proto: str  # "BGP", "Kernel", "Device", "Direct", "Static"
    table: str  # "master"
    state: str  # "up", "start", "down", ...
    since: str  # "23:30:04", "2016-11-02"
    info: str  # "Established", "Active        Socket: Connection refused", ""

    @property
    def established(self) -> bool:
        return self.proto == "BGP" and self.state == "up" and self.info.startswith("Established")

    @property
    def peer_address(self) -> str | None:
        return peer_address_of(self.name)


def peer_address_of(name: str) -> str | None:
    """`Mesh_10_0_0_1` -> "10.0.0.1", `Global_fd00__1_port_179` -> "fd00::1"; None
    for a name Calico did not build from a peer's address."""
    match = _CALICO_NAME.fullmatch(name)
    if not match:
        return None
    body = match.group(1)
    for candidate in (body.replace("_", "."), body.replace("_", ":")):
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def _since(tokens: list[str], what: str) -> tuple[str, int]:
    """The `since` cell and how many tokens it took (two for `iso long`)."""
    first = tokens[0] if tokens else ""
    if _TIME.fullmatch(first):
        return first, 1
    if _DATE.fullmatch(first):
        if len(tokens) > 1 and re.fullmatch(r"\d\d:\d\d:\d\d(\.\d{1,6})?", tokens[1], re.ASCII):
            return f"{first} {tokens[1]}", 2
        return first, 1
    raise ParseError(f"{what}: since {first[:30]!r} is neither HH:MM:SS nor YYYY-MM-DD")


def _row(tokens: list[str], what: str) -> BirdProtocol:
    if len(tokens) < 5:
        raise ParseError(f"{what}: a protocol row needs name, proto, table, state and since")
    name, proto, table, state = tokens[:4]
    if not _NAME.fullmatch(name):
        raise ParseError(f"{what}: {name[:40]!r} is not a BIRD protocol name")
    for cell, column in ((proto, "proto"), (table, "table")):
        if not _WORD.fullmatch(cell):
            raise ParseError(f"{what}: {column} {cell[:40]!r} is not a BIRD word")
    if state not in STATES:
        raise ParseError(f"{what}: unknown protocol state {state[:30]!r}")
    since, used = _since(tokens[4:], what)
    info = " ".join(tokens[4 + used :])
    if not info.isprintable():
        raise ParseError(f"{what}: info holds control characters")
    return BirdProtocol(name, proto, table, state, since, info)


def parse_protocols(text: str) -> list[BirdProtocol]:
    """Parse `show protocols`; a ParseError for anything else (birdcl's own
    errors are quoted)."""
    if not isinstance(text, str):
        raise ParseError(f"BIRD output must be text, not {type(text).__name__}")
    protocols: list[BirdProtocol] = []
    header_seen = False
    names: set[str] = set()
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        code = _REPLY_CODE.match(line)
        if code:
            line = line[code.end() :].strip()
        if not line or _BANNER.fullmatch(line):
            continue
        if _BIRDCL_ERROR.search(line) and not header_seen:
            raise ParseError(f"line {lineno}: birdcl answered {line[:120]!r}")
        tokens = line.split()
        if not header_seen:
            if tokens == _HEADER:
                header_seen = True
                continue
            raise ParseError(f"line {lineno}: expected the `show protocols` header: {line[:60]!r}")
        if tokens == _HEADER:
            raise ParseError(f"line {lineno}: a second header")
        protocol = _row(tokens, f"line {lineno}")
        if protocol.name in names:
            raise ParseError(f"line {lineno}: protocol {protocol.name!r} listed twice")
        names.add(protocol.name)
        protocols.append(protocol)
    if not header_seen:
        raise ParseError("not BIRD `show protocols` output: no `name proto table ...` header")
    return protocols
