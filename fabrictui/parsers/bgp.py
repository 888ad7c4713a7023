"""BGP summaries -> `BgpSummary`.

One entry point, `parse_bgp_summary`, takes whatever a switch printed:

- FRR `show bgp summary` text of any release since 4.0 (7.5 added PfxSnt,
  8.0 added Desc, `wide` adds LocalAS), with one section per address family;
- Cumulus NCLU `net show bgp summary` text (sections titled
  `show bgp ipv4 unicast summary` with a `====` underline), column-aligned or
  with runs of whitespace collapsed (as in copy-pasted web pages);
- FRR JSON, wrapped per family (`show bgp summary json`) or not
  (`show bgp ipv4 unicast summary json`), and NCLU JSON (`"ipv4 unicast"`
  keys, `null` for a family without neighbours).

Cumulus 5 NVUE (`nv show vrf default router bgp neighbor`, text or `-o json`)
is recognised and refused with a hint: its columns and JSON shape change
between releases (5.12 changed the JSON), while `sudo vtysh -c 'show bgp vrf
default summary json'` prints FRR JSON on every Cumulus release.

Input whose first non-space character is `{` is JSON, anything else is text.

Merging families: the IPv4 unicast section (or a section without a family
title, which is what `show bgp ipv4 unicast summary` prints) gives the router
id and local AS; its peers come first, then peers of the other families that
are not already listed (by neighbor).

No neighbours at all (`{}`, `% No BGP neighbors found`) is an answer, not an
error: a summary with no peers. When nothing says which router answered, the
router id is the empty string and the local AS is None.

State normalisation, the same for text and JSON: a prefix count in
State/PfxRcd means `Established` with that count; `(Policy)` and `NoNeg` mean
the session is Established but exchanges nothing for this family
(prefixes_received None); every other state keeps its device spelling in FRR
capitalisation (`Active`, `Idle (Admin)`). prefixes_received is None unless
the session is Established.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fabrictui.model import BgpPeer, BgpSummary
from fabrictui.parsers import ParseError

__all__ = ["parse_bgp_summary", "parse_bgp_uptime_seconds"]

# FSM states as FRR spells them, keyed by lower case (NVUE prints lower case).
_STATES = {
    s.lower(): s
    for s in (
        "Idle",
        "Connect",
        "Active",
        "OpenSent",
        "OpenConfirm",
        "Established",
        "Clearing",
        "Deleted",
    )
}
_ESTABLISHED_NO_PREFIXES = {"(Policy)", "NoNeg"}
_MAX_AS = 2**32 - 1
_MAX_COUNTER = 2**64 - 1

_UPTIME_CLOCK = re.compile(r"(\d{1,9}):([0-5]\d):([0-5]\d)", re.ASCII)
_UPTIME_UNITS = re.compile(
    r"(?:(\d{1,4})y)?(?:(\d{1,4})w)?(?:(\d{1,4})d)?(?:(\d{1,4})h)?(?:(\d{1,4})m)?(?:(\d{1,4})s)?",
    re.ASCII,
)
_UNIT_SECONDS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1)

_HOST_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}", re.ASCII)
_IFACE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.@:-]{0,63}", re.ASCII)
_HOSTNAME_PEER = re.compile(r"([^()\s]+)\(([^()\s]+)\)")

_NCLU_TITLE = re.compile(r"show (?:ip )?bgp (.+?) summary", re.IGNORECASE)
_FRR_TITLE = re.compile(r"(\S+(?: \S+)?) Summary(?: \(VRF [^)]*\))?:")
_ROUTER_ID = re.compile(
    r"BGP router identifier (\S+?), local AS number (\S+)(?: VRF \S+)?(?: vrf-id -?\d+)?\s*$"
)
_TOTAL = re.compile(r"Total number of neighbors (\d{1,9})", re.ASCII)
_DISPLAYED = re.compile(r"Displayed neighbors (\d{1,9})", re.ASCII)
_NO_NEIGHBORS = re.compile(
    r"%?\s*No (?:BGP neighbors found|\S+(?: \S+)? neighbors? (?:is|are) configured)",
    re.IGNORECASE,
)
_DYNAMIC_LEGEND = re.compile(r"\* - dynamic neighbor|\d+ dynamic neighbor\(s\), limit \d+")
_QUALIFIER = re.compile(r"\(\w{1,20}\)")
_NVUE_TABLE = re.compile(r"^Neighbor\s+AS\s+State\s", re.MULTILINE)

# Header words of the neighbor table, and how many row tokens each takes.
_SINGLE_COLUMNS = {"V", "AS", "LocalAS", "MsgRcvd", "MsgSent", "TblVer", "InQ", "OutQ", "Up/Down"}
_KNOWN_COLUMNS = _SINGLE_COLUMNS | {"State/PfxRcd", "PfxSnt", "Desc"}


# --- small value parsers -------------------------------------------------------


def parse_bgp_uptime_seconds(text: str) -> int | None:
    """Seconds in an FRR Up/Down value (`02:07:56`, `1d01h44m`, `02w3d04h`,
    `01y02w3d`); None for `never` and for anything that is not an uptime."""
    value = text.strip() if isinstance(text, str) else ""
    if not value or value.lower() == "never":
        return None
    clock = _UPTIME_CLOCK.fullmatch(value)
    if clock:
        h, m, s = (int(g) for g in clock.groups())
        return h * 3600 + m * 60 + s
    units = _UPTIME_UNITS.fullmatch(value)
    if units and any(units.groups()):
        return sum(
            int(g) * mult for g, mult in zip(units.groups(), _UNIT_SECONDS, strict=True) if g
        )
    return None


def _is_uptime(value: str) -> bool:
    return value.lower() == "never" or parse_bgp_uptime_seconds(value) is not None


def _as_number(value: str, what: str) -> int:
    """`65001` or asdot `1.10` (= 65546)."""
    if value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
    else:
        high, dot, low = value.partition(".")
        if not (
            dot
            and high.isascii()
            and high.isdigit()
            and low.isascii()
            and low.isdigit()
            and len(high) <= 5
            and len(low) <= 5
            and int(high) <= 0xFFFF
            and int(low) <= 0xFFFF
        ):
            raise ParseError(f"{what}: {value!r} is not an AS number")
        number = int(high) * 65536 + int(low)
    if number > _MAX_AS:
        raise ParseError(f"{what}: AS {value} is out of range")
    return number


def _count(value: str, what: str) -> int:
    if not (value.isascii() and value.isdigit() and len(value) <= 20):
        raise ParseError(f"{what}: {value!r} is not a count")
    number = int(value)
    if number > _MAX_COUNTER:
        raise ParseError(f"{what}: {value} is out of range")
    return number


def _router_id(value: str, what: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ParseError(f"{what}: router id {value!r} is not an IPv4 address") from None


def _check_neighbor(value: str, what: str) -> str:
    """An address (IPv6 may carry a %zone) or an interface name (unnumbered)."""
    address = value.split("%", 1)[0]
    try:
        ipaddress.ip_address(address)
        return value
    except ValueError:
        pass
    if _IFACE_NAME.fullmatch(value):
        return value
    raise ParseError(f"{what}: neighbor {value!r} is neither an address nor an interface")


def _split_neighbor_cell(cell: str, what: str) -> tuple[str, str | None]:
    """`*spine-sw1.lab.local(172.16.0.0)` -> ("172.16.0.0", "spine-sw1.lab.local")."""
    cell = cell.removeprefix("*")
    match = _HOSTNAME_PEER.fullmatch(cell)
    if match:
        hostname, neighbor = match.groups()
        if not _HOST_NAME.fullmatch(hostname):
            raise ParseError(f"{what}: hostname {hostname!r} is not a host name")
        return _check_neighbor(neighbor, what), hostname
    return _check_neighbor(cell, what), None


def _state(word: str, what: str) -> str:
    base, _, qualifier = word.partition(" ")
    known = _STATES.get(base.lower())
    if known is None:
        raise ParseError(f"{what}: unknown BGP state {word!r}")
    if qualifier and not _QUALIFIER.fullmatch(qualifier):
        raise ParseError(f"{what}: unknown BGP state {word!r}")
    return f"{known} {qualifier}" if qualifier else known


# --- text ------------------------------------------------------------------------


@dataclass
class _Section:
    family: str | None  # normalised "ipv4unicast", None when the output has no title
    router_id: str | None = None
    local_as: int | None = None
    columns: list[str] | None = None
    peers: list[BgpPeer] = field(default_factory=list)
    total: int | None = None
    displayed: int | None = None
    no_neighbors: bool = False
    title_line: int = 0


def _family_key(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name).lower()


def _parse_columns(tokens: list[str], lineno: int) -> list[str]:
    columns = tokens[1:]
    for name in columns:
        if name not in _KNOWN_COLUMNS:
            raise ParseError(f"line {lineno}: unknown neighbor table column {name!r}")
    for required in ("AS", "Up/Down", "State/PfxRcd"):
        if required not in columns:
            raise ParseError(f"line {lineno}: neighbor table header lacks {required!r}")
    if len(set(columns)) != len(columns):
        raise ParseError(f"line {lineno}: neighbor table header repeats a column")
    if "Desc" in columns and columns[-1] != "Desc":
        raise ParseError(f"line {lineno}: Desc must be the last column")
    return columns


def _parse_row(tokens: list[str], columns: list[str], lineno: int) -> BgpPeer:
    what = f"line {lineno}"
    neighbor, hostname = _split_neighbor_cell(tokens[0], what)
    values: dict[str, str] = {}
    i = 1
    for name in columns:
        if name == "Desc":
            i = len(tokens)  # free text up to the end of the line (may be empty)
            continue
        if i >= len(tokens):
            raise ParseError(f"{what}: neighbor row ends before column {name!r}")
        token = tokens[i]
        i += 1
        if name == "State/PfxRcd" and i < len(tokens):
            # "Idle (Admin)", "Idle (PfxCt)": a state word plus a qualifier.
            nxt = tokens[i]
            if (
                token.isalpha()
                and _QUALIFIER.fullmatch(nxt)
                and nxt not in _ESTABLISHED_NO_PREFIXES
            ):
                token = f"{token} {nxt}"
                i += 1
        values[name] = token
    if i != len(tokens):
        raise ParseError(f"{what}: neighbor row has more cells than the header")

    if "V" in values and values["V"] != "4":
        raise ParseError(f"{what}: BGP version {values['V']!r} is not 4")
    remote_as = _as_number(values["AS"], what)
    if "LocalAS" in values:
        _as_number(values["LocalAS"], what)
    counters = {}
    for name in ("MsgRcvd", "MsgSent", "TblVer", "InQ", "OutQ"):
        if name in values:
            counters[name] = _count(values[name], f"{what} {name}")
    uptime = values["Up/Down"]
    if not _is_uptime(uptime):
        raise ParseError(f"{what}: Up/Down {uptime!r} is not an uptime")
    state_cell = values["State/PfxRcd"]
    prefixes: int | None = None
    if state_cell.isascii() and state_cell.isdigit():
        state = "Established"
        prefixes = _count(state_cell, f"{what} State/PfxRcd")
    elif state_cell in _ESTABLISHED_NO_PREFIXES:
        state = "Established"
    else:
        state = _state(state_cell, what)
    if "PfxSnt" in values:
        sent = values["PfxSnt"]
        if sent not in _ESTABLISHED_NO_PREFIXES:
            _count(sent, f"{what} PfxSnt")
    return BgpPeer(
        neighbor=neighbor,
        hostname=hostname,
        remote_as=remote_as,
        state=state,
        uptime=uptime,
        prefixes_received=prefixes,
        msg_rcvd=counters.get("MsgRcvd"),
        msg_sent=counters.get("MsgSent"),
    )


def _text_sections(text: str) -> list[_Section]:
    sections: list[_Section] = []
    current: _Section | None = None
    pending_neighbor: str | None = None  # a long neighbor printed on a line of its own

    def start(family: str | None, lineno: int) -> _Section:
        section = _Section(family=family, title_line=lineno)
        sections.append(section)
        return section

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or set(line) == {"="}:
            continue
        tokens = line.split()

        in_table = current is not None and current.columns is not None and current.total is None
        if in_table and current is not None and current.columns is not None:
            total = _TOTAL.fullmatch(line)
            if total:
                if pending_neighbor is not None:
                    raise ParseError(f"line {lineno}: neighbor {pending_neighbor!r} has no row")
                current.total = int(total.group(1))
                continue
            displayed = _DISPLAYED.fullmatch(line)
            if displayed:
                current.displayed = int(displayed.group(1))
                continue
            if _DYNAMIC_LEGEND.fullmatch(line):
                continue
            if pending_neighbor is None and len(tokens) == 1:
                # Before dynamic widths (FRR < 7.5) a neighbor longer than 15
                # characters ends the line; its cells follow on the next one.
                pending_neighbor = tokens[0]
                continue
            if pending_neighbor is not None:
                tokens = [pending_neighbor, *tokens]
                pending_neighbor = None
            current.peers.append(_parse_row(tokens, current.columns, lineno))
            continue

        nclu = _NCLU_TITLE.fullmatch(line)
        frr = None if nclu else _FRR_TITLE.fullmatch(line)
        if nclu or frr:
            match = nclu or frr
            assert match is not None
            current = start(_family_key(match.group(1)), lineno)
            continue
        router = _ROUTER_ID.match(line)
        if router:
            if current is None or current.router_id is not None or current.columns is not None:
                current = start(None, lineno)
            current.router_id = _router_id(router.group(1), f"line {lineno}")
            current.local_as = _as_number(router.group(2), f"line {lineno} local AS")
            continue
        if _NO_NEIGHBORS.match(line):
            if current is None or current.columns is not None or current.no_neighbors:
                current = start(None, lineno)
            current.no_neighbors = True
            continue
        if line.startswith("%"):
            raise ParseError(f"line {lineno}: the device answered {line[:120]!r}")
        if tokens[0] == "Neighbor" and "Up/Down" in tokens:
            if current is None or current.router_id is None:
                raise ParseError(f"line {lineno}: neighbor table without 'BGP router identifier'")
            if current.columns is not None:
                raise ParseError(f"line {lineno}: a second neighbor table header")
            current.columns = _parse_columns(tokens, lineno)
            continue
        # Anything else outside a table: "BGP table version 6", "RIB entries ...",
        # "Peers 2, ...", "Peer groups ...", "Dampening enabled.", legends: skip.

    if pending_neighbor is not None:
        raise ParseError(f"neighbor {pending_neighbor!r} has no row (output truncated?)")
    return sections


def _check_section(section: _Section) -> None:
    where = f"section at line {section.title_line}"
    if section.family and section.router_id is None and not section.no_neighbors:
        raise ParseError(f"{where}: title without a summary (output truncated?)")
    if section.router_id is not None and section.columns is None and not section.no_neighbors:
        raise ParseError(f"{where}: no neighbor table (output truncated?)")
    if section.columns is not None:
        if section.total is None:
            raise ParseError(f"{where}: no 'Total number of neighbors' line (output truncated?)")
        expected = section.displayed if section.displayed is not None else section.total
        if expected != len(section.peers):
            raise ParseError(f"{where}: says {expected} neighbors but lists {len(section.peers)}")


def _parse_text(text: str) -> BgpSummary:
    sections = _text_sections(text)
    if not any(s.router_id is not None or s.no_neighbors for s in sections):
        if _NVUE_TABLE.search(text):
            raise ParseError(
                "this is an NVUE `nv show ... bgp neighbor` table, which is not supported;"
                " ask for `vtysh -c 'show bgp vrf default summary json'` instead"
            )
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        raise ParseError(
            f"not a BGP summary: no 'BGP router identifier' line (starts {first[:60]!r})"
        )
    for section in sections:
        _check_section(section)
    return _merge(
        (s.family, s.router_id, s.local_as, s.peers)
        for s in sections
        if s.family or s.router_id or s.no_neighbors
    )


def _merge(
    sections: Iterable[tuple[str | None, str | None, int | None, list[BgpPeer]]],
) -> BgpSummary:
    ordered = list(sections)
    primary_index = next(
        (i for i, (fam, rid, _, _) in enumerate(ordered) if fam in (None, "ipv4unicast") and rid),
        None,
    )
    if primary_index is None:
        primary_index = next((i for i, (_, rid, _, _) in enumerate(ordered) if rid), None)
    router_id, local_as = "", None
    if primary_index is not None:
        primary = ordered.pop(primary_index)
        ordered.insert(0, primary)
        router_id, local_as = primary[1] or "", primary[2]
    peers: list[BgpPeer] = []
    seen: set[str] = set()
    for _, _, _, section_peers in ordered:
        for peer in section_peers:
            if peer.neighbor not in seen:
                seen.add(peer.neighbor)
                peers.append(peer)
    return BgpSummary(router_id=router_id, local_as=local_as, peers=tuple(peers))


# --- JSON ---------------------------------------------------------------------------


def _json_int(obj: dict[str, Any], key: str, what: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParseError(f"{what}: {key} is {type(value).__name__}, not a number")
    if not 0 <= value <= _MAX_COUNTER:
        raise ParseError(f"{what}: {key} {value} is out of range")
    return value


def _json_str(obj: dict[str, Any], key: str, what: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParseError(f"{what}: {key} is {type(value).__name__}, not text")
    return value


def _json_as(obj: dict[str, Any], key: str, what: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParseError(f"{what}: {key} is a boolean, not an AS number")
    if isinstance(value, int):
        if not 0 <= value <= _MAX_AS:
            raise ParseError(f"{what}: {key} {value} is out of range")
        return value
    if isinstance(value, str):
        if value.lower() in ("external", "internal", "auto"):
            return None  # `remote-as external` before the OPEN told us the number
        return _as_number(value, f"{what}: {key}")
    raise ParseError(f"{what}: {key} is {type(value).__name__}, not an AS number")


def _json_peer(key: str, data: Any, what: str) -> BgpPeer:
    what = f"{what} peer {key[:60]!r}"
    if not isinstance(data, dict):
        raise ParseError(f"{what}: is {type(data).__name__}, not an object")
    neighbor = _check_neighbor(key, what)
    raw_state = _json_str(data, "state", what)
    if raw_state is None:
        raise ParseError(f"{what}: has no state")
    state = _state(raw_state, what)
    established = state == "Established"
    prefixes = _json_int(data, "pfxRcd", what)
    if prefixes is None:
        prefixes = _json_int(data, "prefixReceivedCount", what)
    peer_state = _json_str(data, "peerState", what)
    if not established or peer_state in ("Policy", "NoNeg"):
        prefixes = None
    hostname = _json_str(data, "hostname", what)
    if hostname is not None and not _HOST_NAME.fullmatch(hostname):
        raise ParseError(f"{what}: hostname {hostname[:60]!r} is not a host name")
    uptime = _json_str(data, "peerUptime", what)
    if uptime is None:
        uptime = "" if established else "never"
    elif not _is_uptime(uptime):
        raise ParseError(f"{what}: peerUptime {uptime[:30]!r} is not an uptime")
    return BgpPeer(
        neighbor=neighbor,
        hostname=hostname or None,
        remote_as=_json_as(data, "remoteAs", what),
        state=state,
        uptime=uptime,
        prefixes_received=prefixes,
        msg_rcvd=_json_int(data, "msgRcvd", what),
        msg_sent=_json_int(data, "msgSent", what),
    )


def _json_family(
    family: str | None, data: Any, what: str
) -> tuple[str | None, str | None, int | None, list[BgpPeer]] | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ParseError(f"{what}: is {type(data).__name__}, not an object")
    if not data:
        return None
    if _json_message(data, what):
        return None
    raw_id = _json_str(data, "routerId", what)
    if raw_id is None:
        raise ParseError(f"{what}: has no routerId")
    router_id = _router_id(raw_id, what)
    local_as = _json_as(data, "as", what)
    peers_obj = data.get("peers")
    if peers_obj is None:
        peers_obj = {}
    if not isinstance(peers_obj, dict):
        raise ParseError(f"{what}: peers is {type(peers_obj).__name__}, not an object")
    peers = [_json_peer(key, value, what) for key, value in peers_obj.items()]
    return family, router_id, local_as, peers


def _json_message(data: dict[str, Any], what: str) -> bool:
    """FRR answers some requests with {"warning": "..."}: True when that means
    'no neighbours' (an empty family), a ParseError for any other message."""
    if "routerId" in data:
        return False
    for key in ("warning", "error"):
        message = data.get(key)
        if message is not None:
            text = str(message)[:120]
            if _NO_NEIGHBORS.match(text):
                return True
            raise ParseError(f"{what}: the device answered {text!r}")
    return False


def _is_family_key(key: str) -> bool:
    return re.match(r"(ipv4|ipv6|l2vpn)", _family_key(key)) is not None


def _parse_json(text: str) -> BgpSummary:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise ParseError(f"BGP summary JSON does not parse: {str(err)[:120]}") from None
    if not isinstance(data, dict):
        raise ParseError(f"BGP summary JSON is {type(data).__name__}, not an object")
    if not data:
        return BgpSummary(router_id="", local_as=None, peers=())
    if "routerId" in data or "peers" in data:
        family = _json_family(None, data, "JSON summary")
        return _merge([family] if family else [])
    message_only = set(data) <= {"warning", "error"}
    if message_only:
        _json_message(data, "JSON summary")
        return BgpSummary(router_id="", local_as=None, peers=())
    if any(isinstance(v, dict) and ("remote-as" in v or "afi-safi" in v) for v in data.values()):
        raise ParseError(
            "this is NVUE `nv show ... bgp neighbor -o json`, whose shape changes between"
            " Cumulus releases; ask for `vtysh -c 'show bgp vrf default summary json'` instead"
        )
    families = []
    for key, value in data.items():
        if not _is_family_key(key):
            raise ParseError(f"JSON summary: unexpected key {key[:60]!r} (not an address family)")
        family = _json_family(_family_key(key), value, f"JSON family {key[:40]!r}")
        if family is not None:
            families.append(family)
    return _merge(families)


# --- entry point ---------------------------------------------------------------------


def parse_bgp_summary(text: str) -> BgpSummary:
    """Parse a BGP summary in any of the supported forms (see module docstring)."""
    if not isinstance(text, str):
        raise ParseError(f"BGP summary must be text, not {type(text).__name__}")
    start = text.lstrip()
    if not start:
        raise ParseError("empty BGP summary")
    if start[0] == "{":
        return _parse_json(start)
    if start[0] == "[":
        raise ParseError("BGP summary JSON is a list, not an object")
    return _parse_text(text)
