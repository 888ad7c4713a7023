"""FRR and Cumulus NCLU BGP summaries as printed text -> `BgpSummary`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fabrictui.model import BgpPeer, BgpSummary
from fabrictui.parsers import ParseError
from fabrictui.parsers.bgp.values import (
    ESTABLISHED_NO_PREFIXES,
    HOST_NAME,
    NO_NEIGHBORS,
    QUALIFIER,
    as_number,
    check_neighbor,
    count,
    family_key,
    is_uptime,
    merge_sections,
    parse_router_id,
    parse_state,
)

_HOSTNAME_PEER = re.compile(r"([^()\s]+)\(([^()\s]+)\)")

_NCLU_TITLE = re.compile(r"show (?:ip )?bgp (.+?) summary", re.IGNORECASE)
_FRR_TITLE = re.compile(r"(\S+(?: \S+)?) Summary(?: \(VRF [^)]*\))?:")
_ROUTER_ID = re.compile(
    r"BGP router identifier (\S+?), local AS number (\S+)(?: VRF \S+)?(?: vrf-id -?\d+)?\s*$"
)
_TOTAL = re.compile(r"Total number of neighbors (\d{1,9})", re.ASCII)
_DISPLAYED = re.compile(r"Displayed neighbors (\d{1,9})", re.ASCII)
_DYNAMIC_LEGEND = re.compile(r"\* - dynamic neighbor|\d+ dynamic neighbor\(s\), limit \d+")
_NVUE_TABLE = re.compile(r"^Neighbor\s+AS\s+State\s", re.MULTILINE)

# Header words of the neighbor table, and how many row tokens each takes.
_SINGLE_COLUMNS = {"V", "AS", "LocalAS", "MsgRcvd", "MsgSent", "TblVer", "InQ", "OutQ", "Up/Down"}
_KNOWN_COLUMNS = _SINGLE_COLUMNS | {"State/PfxRcd", "PfxSnt", "Desc"}


def _split_neighbor_cell(cell: str, what: str) -> tuple[str, str | None]:
    """`*spine-sw1.lab.local(172.16.0.0)` -> ("172.16.0.0", "spine-sw1.lab.local");
    the `*` (a dynamic neighbour) is the caller's to read."""
    cell = cell.removeprefix("*")
    match = _HOSTNAME_PEER.fullmatch(cell)
    if match:
        hostname, neighbor = match.groups()
        if not HOST_NAME.fullmatch(hostname):
            raise ParseError(f"{what}: hostname {hostname!r} is not a host name")
        return check_neighbor(neighbor, what), hostname
    return check_neighbor(cell, what), None


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
            if token.isalpha() and QUALIFIER.fullmatch(nxt) and nxt not in ESTABLISHED_NO_PREFIXES:
                token = f"{token} {nxt}"
                i += 1
        values[name] = token
    if i != len(tokens):
        raise ParseError(f"{what}: neighbor row has more cells than the header")

    if "V" in values and values["V"] != "4":
        raise ParseError(f"{what}: BGP version {values['V']!r} is not 4")
    remote_as = as_number(values["AS"], what)
    if "LocalAS" in values:
        as_number(values["LocalAS"], what)
    counters = {}
    for name in ("MsgRcvd", "MsgSent", "TblVer", "InQ", "OutQ"):
        if name in values:
            counters[name] = count(values[name], f"{what} {name}")
    uptime = values["Up/Down"]
    if not is_uptime(uptime):
        raise ParseError(f"{what}: Up/Down {uptime!r} is not an uptime")
    state_cell = values["State/PfxRcd"]
    prefixes: int | None = None
    if state_cell.isascii() and state_cell.isdigit():
        state = "Established"
        prefixes = count(state_cell, f"{what} State/PfxRcd")
    elif state_cell in ESTABLISHED_NO_PREFIXES:
        state = "Established"
    else:
        state = parse_state(state_cell, what)
    sent = values.get("PfxSnt")
    if sent is not None and sent not in ESTABLISHED_NO_PREFIXES:
        count(sent, f"{what} PfxSnt")
    policy_blocked = state == "Established" and "(Policy)" in (state_cell, sent)
    return BgpPeer(
        neighbor=neighbor,
        hostname=hostname,
        remote_as=remote_as,
        state=state,
        uptime=uptime,
        prefixes_received=prefixes,
        msg_rcvd=counters.get("MsgRcvd"),
        msg_sent=counters.get("MsgSent"),
        dynamic=tokens[0].startswith("*"),
        policy_blocked=policy_blocked,
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
            current = start(family_key(match.group(1)), lineno)
            continue
        router = _ROUTER_ID.match(line)
        if router:
            if current is None or current.router_id is not None or current.columns is not None:
                current = start(None, lineno)
            current.router_id = parse_router_id(router.group(1), f"line {lineno}")
            current.local_as = as_number(router.group(2), f"line {lineno} local AS")
            continue
        if NO_NEIGHBORS.match(line):
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


def parse_text(text: str) -> BgpSummary:
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
    return merge_sections(
        (s.family, s.router_id, s.local_as, s.peers)
        for s in sections
        if s.family or s.router_id or s.no_neighbors
    )
