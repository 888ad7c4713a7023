"""BIRD 1.6 `show protocols all NAME` (calico-node's `birdcl`) -> `BirdSession`s.

Each protocol is its `show protocols` row (parsers.bird) followed by indented `Key: value`
lines; for a BGP protocol: `Routes: 1 imported, 1 exported, 1 preferred`, the `Route change
stats` table (received / rejected / filtered / ignored / accepted), `BGP state:`,
`Neighbor address:`, `Neighbor AS:`, `Neighbor ID:`, `Hold timer: 7/9` and `Keepalive
timer: 1/3` (left / in use, while up), `Last error:` (BIRD's words: `Socket: Connection
refused`, `Received: Administrative shutdown` for a NOTIFICATION received, `BGP Error: Bad
peer AS` for one it sent). `NAME is not a protocol` is BIRD's answer for an unknown name:
no sessions (`not_a_protocol` gives the words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fabrictui.parsers import ParseError
from fabrictui.parsers.bgp.values import count
from fabrictui.parsers.bird import BirdProtocol, parse_protocols

__all__ = ["BirdSession", "not_a_protocol", "parse_protocols_all"]

_HEADER = "name proto table state since info"
_REPLY_CODE = re.compile(r"\d{4}(?:[- ]|$)", re.ASCII)
_KEY = re.compile(r"([A-Z][A-Za-z ]{1,30}):\s*(.*)")
_ROUTES = re.compile(r"(\d{1,12}) imported, (?:(\d{1,12}) filtered, )?(\d{1,12}) exported")
_TIMER = re.compile(r"(\d{1,6})/(\d{1,6})")
_STATS_ROW = re.compile(r"(Import|Export) (updates|withdraws):((?:\s+(?:\d{1,12}|---)){5})")
_NOT_PROTOCOL = re.compile(r"(\S{1,64} is not a protocol)")


@dataclass(frozen=True, slots=True)
class BirdSession:
    protocol: BirdProtocol  # the `show protocols` row: state, since, info
    bgp_state: str | None  # "Established", "Active", "Idle", "Connect", ...
    neighbor_address: str | None
    neighbor_as: int | None
    neighbor_id: str | None
    hold: tuple[int, int] | None  # (left, in use) seconds
    keepalive: tuple[int, int] | None
    last_error: str | None  # BIRD's words
    imported: int | None
    exported: int | None
    # Route change stats, import updates: received, rejected, filtered, ignored, accepted
    import_updates: tuple[int | None, ...] | None
    export_updates: tuple[int | None, ...] | None

    @property
    def notification(self) -> tuple[str, str] | None:
        """("received" | "sent", words) when the last error was a NOTIFICATION."""
        error = self.last_error or ""
        if error.startswith("Received: "):
            return "received", error.removeprefix("Received: ")
        if error.startswith("BGP Error: "):
            return "sent", error.removeprefix("BGP Error: ")
        return None


def not_a_protocol(text: str) -> str | None:
    """BIRD's words when it knows no protocol of that name, else None."""
    if not isinstance(text, str):
        return None
    match = _NOT_PROTOCOL.search(text[:400])
    return match.group(1) if match else None


def _stats(cells: str) -> tuple[int | None, ...]:
    return tuple(None if c == "---" else count(c, "route change stats") for c in cells.split())


def _session(row: BirdProtocol, lines: list[tuple[int, str]]) -> BirdSession:
    keys: dict[str, str] = {}
    imported = exported = None
    imports = exports = None
    for lineno, line in lines:
        what = f"line {lineno}"
        stats = _STATS_ROW.match(line)
        if stats:
            if stats.group(2) == "updates":
                values = _stats(stats.group(3))
                if stats.group(1) == "Import":
                    imports = values
                else:
                    exports = values
            continue
        key = _KEY.match(line)
        if key is None:
            continue
        name, value = key.group(1).strip(), key.group(2).strip()
        if not value.isprintable():
            raise ParseError(f"{what}: {name} holds control characters")
        if name == "Routes":
            routes = _ROUTES.match(value)
            if routes is None:
                raise ParseError(f"{what}: Routes {value[:40]!r} is not BIRD's route counts")
            imported, exported = count(routes.group(1), what), count(routes.group(3), what)
        keys.setdefault(name, value[:200])
    timers = {}
    for name in ("Hold timer", "Keepalive timer"):
        raw = keys.get(name)
        if raw is not None:
            match = _TIMER.fullmatch(raw)
            if match is None:
                raise ParseError(f"{row.name}: {name} {raw[:20]!r} is not left/total")
            timers[name] = (int(match.group(1)), int(match.group(2)))
    asn = keys.get("Neighbor AS")
    if asn is not None and not (asn.isascii() and asn.isdigit() and len(asn) <= 10):
        raise ParseError(f"{row.name}: Neighbor AS {asn[:20]!r} is not a number")
    return BirdSession(
        protocol=row,
        bgp_state=keys.get("BGP state"),
        neighbor_address=keys.get("Neighbor address"),
        neighbor_as=int(asn) if asn is not None else None,
        neighbor_id=keys.get("Neighbor ID"),
        hold=timers.get("Hold timer"),
        keepalive=timers.get("Keepalive timer"),
        last_error=keys.get("Last error"),
        imported=imported,
        exported=exported,
        import_updates=imports,
        export_updates=exports,
    )


def parse_protocols_all(text: str) -> list[BirdSession]:
    """`show protocols all [NAME]`: one BirdSession per protocol ([] for an unknown name)."""
    if not isinstance(text, str):
        raise ParseError(f"BIRD output must be text, not {type(text).__name__}")
    if not_a_protocol(text) is not None:
        return []
    header: list[str] = []
    groups: list[tuple[str, list[tuple[int, str]]]] = []
    reply = ""  # the raw protocol's reply code in force: 1002 rows, 1006 their detail
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        code = _REPLY_CODE.match(line)
        if code:
            reply = line[:4]
            line = line[code.end() :]
        if not line.strip():
            continue
        if not header:
            if " ".join(line.split()) == _HEADER:
                header = [line]
            elif "BIRD" not in line or "ready" not in line:
                parse_protocols(line)  # raises with birdcl's own words or "no header"
            continue
        is_row = reply == "1002" if reply in ("1002", "1006") else line[0] not in " \t"
        if is_row:
            groups.append((line.strip(), []))
        elif groups:
            groups[-1][1].append((lineno, line.strip()))
        else:
            raise ParseError(f"line {lineno}: detail before any protocol row")
    if not header:
        raise ParseError("not BIRD `show protocols all` output: no `name proto table ...` header")
    if not groups:
        return []
    sessions = []
    for row_text, lines in groups:
        rows = parse_protocols(f"{header[0]}\n{row_text}")
        if len(rows) != 1:
            raise ParseError(f"{row_text[:40]!r} is not one protocol row")
        sessions.append(_session(rows[0], lines))
    names = [s.protocol.name for s in sessions]
    if len(set(names)) != len(names):
        raise ParseError("a protocol is listed twice")
    return sessions
