"""BGP summary values shared by the text and JSON readers: states, AS numbers,
counters, router ids, neighbours, uptimes, and how address families merge."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

from fabrictui.model import BgpPeer, BgpSummary
from fabrictui.parsers import ParseError

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
ESTABLISHED_NO_PREFIXES = {"(Policy)", "NoNeg"}
MAX_AS = 2**32 - 1
MAX_COUNTER = 2**64 - 1

_UPTIME_CLOCK = re.compile(r"(\d{1,9}):([0-5]\d):([0-5]\d)", re.ASCII)
_UPTIME_UNITS = re.compile(
    r"(?:(\d{1,4})y)?(?:(\d{1,4})w)?(?:(\d{1,4})d)?(?:(\d{1,4})h)?(?:(\d{1,4})m)?(?:(\d{1,4})s)?",
    re.ASCII,
)
_UNIT_SECONDS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1)

HOST_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}", re.ASCII)
_IFACE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.@:-]{0,63}", re.ASCII)

NO_NEIGHBORS = re.compile(
    r"%?\s*No (?:BGP neighbors found|\S+(?: \S+)? neighbors? (?:is|are) configured)",
    re.IGNORECASE,
)
QUALIFIER = re.compile(r"\(\w{1,20}\)")


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


def is_uptime(value: str) -> bool:
    return value.lower() == "never" or parse_bgp_uptime_seconds(value) is not None


def as_number(value: str, what: str) -> int:
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
    if number > MAX_AS:
        raise ParseError(f"{what}: AS {value} is out of range")
    return number


def count(value: str, what: str) -> int:
    if not (value.isascii() and value.isdigit() and len(value) <= 20):
        raise ParseError(f"{what}: {value!r} is not a count")
    number = int(value)
    if number > MAX_COUNTER:
        raise ParseError(f"{what}: {value} is out of range")
    return number


def parse_router_id(value: str, what: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ParseError(f"{what}: router id {value!r} is not an IPv4 address") from None


def check_neighbor(value: str, what: str) -> str:
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


def parse_state(word: str, what: str) -> str:
    base, _, qualifier = word.partition(" ")
    known = _STATES.get(base.lower())
    if known is None:
        raise ParseError(f"{what}: unknown BGP state {word!r}")
    if qualifier and not QUALIFIER.fullmatch(qualifier):
        raise ParseError(f"{what}: unknown BGP state {word!r}")
    return f"{known} {qualifier}" if qualifier else known


def family_key(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name).lower()


def merge_sections(
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


def json_counter(obj: dict[str, Any], key: str, what: str) -> int | None:
    """A counter of FRR's JSON (absent: None); a bool, a float or a negative is an error."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParseError(f"{what}: {key} is {type(value).__name__}, not a number")
    if not 0 <= value <= MAX_COUNTER:
        raise ParseError(f"{what}: {key} {value} is out of range")
    return value


def json_text(obj: dict[str, Any], key: str, what: str) -> str | None:
    """A string of FRR's JSON (absent: None)."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParseError(f"{what}: {key} is {type(value).__name__}, not text")
    return value


def json_as_number(obj: dict[str, Any], key: str, what: str) -> int | None:
    """An AS number FRR's JSON gives as a number or text; None where it is absent or still a
    word (`remote-as external` before the OPEN told the number)."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParseError(f"{what}: {key} is a boolean, not an AS number")
    if isinstance(value, int):
        if not 0 <= value <= MAX_AS:
            raise ParseError(f"{what}: {key} {value} is out of range")
        return value
    if isinstance(value, str):
        if value.lower() in ("external", "internal", "auto"):
            return None
        return as_number(value, f"{what}: {key}")
    raise ParseError(f"{what}: {key} is {type(value).__name__}, not an AS number")
