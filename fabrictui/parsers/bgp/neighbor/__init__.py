"""One BGP session in detail (issue 26): FRR's `show bgp neighbors [PEER] json`, the same
command's text (what NCLU's `net show bgp neighbor PEER` prints on Cumulus 3.7, where no
JSON is served), read into `BgpNeighbor`s.

`parsers.bgp.parse_bgp_neighbors` takes either (JSON when the first non-space character is `{`) and
returns the neighbours in the order printed; a device saying the peer does not exist
(`{"bgpNoSuchNeighbor": true}`, `% No such neighbor in this view/vrf`) is an answer, not an
error: no neighbours, and `no_such_neighbor` gives the device's own words for the caller.

What a person troubleshooting a session wants, and nothing else: state, how long up or
down, the last reset and its NOTIFICATION (code and subcode in RFC 4271's words), timers
as configured and as negotiated, message counters, prefixes per address family, BFD.
Every field the device may leave out (older FRR releases print fewer) is None when absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "BfdState",
    "BgpNeighbor",
    "FamilyPrefixes",
    "Notification",
    "no_such_neighbor",
    "notification_words",
]

# RFC 4271 section 4.5 error codes, with the subcodes of 6.1-6.6; Cease's subcodes are
# RFC 4486's (and RFC 8538's Hard Reset), the FSM error's RFC 6608's.
ERROR_CODES = {
    1: "Message Header Error",
    2: "OPEN Message Error",
    3: "UPDATE Message Error",
    4: "Hold Timer Expired",
    5: "Finite State Machine Error",
    6: "Cease",
    7: "ROUTE-REFRESH Message Error",
}
SUBCODES = {
    1: {1: "Connection Not Synchronized", 2: "Bad Message Length", 3: "Bad Message Type"},
    2: {
        1: "Unsupported Version Number",
        2: "Bad Peer AS",
        3: "Bad BGP Identifier",
        4: "Unsupported Optional Parameter",
        6: "Unacceptable Hold Time",
        7: "Unsupported Capability",
        11: "Role Mismatch",  # RFC 9234
    },
    3: {
        1: "Malformed Attribute List",
        2: "Unrecognized Well-known Attribute",
        3: "Missing Well-known Attribute",
        4: "Attribute Flags Error",
        5: "Attribute Length Error",
        6: "Invalid ORIGIN Attribute",
        8: "Invalid NEXT_HOP Attribute",
        9: "Optional Attribute Error",
        10: "Invalid Network Field",
        11: "Malformed AS_PATH",
    },
    5: {
        1: "Receive Unexpected Message in OpenSent State",
        2: "Receive Unexpected Message in OpenConfirm State",
        3: "Receive Unexpected Message in Established State",
    },
    6: {
        1: "Maximum Number of Prefixes Reached",
        2: "Administrative Shutdown",
        3: "Peer De-configured",
        4: "Administrative Reset",
        5: "Connection Rejected",
        6: "Other Configuration Change",
        7: "Connection Collision Resolution",
        8: "Out of Resources",
        9: "Hard Reset",
        10: "BFD Down",
    },
    7: {1: "Invalid Message Length"},
}


def notification_words(code: int, subcode: int) -> str:
    """`Cease / Administrative Shutdown` for (6, 2); numbers where the RFCs give no name."""
    name = ERROR_CODES.get(code, f"error code {code}")
    if subcode == 0:
        return name
    return f"{name} / {SUBCODES.get(code, {}).get(subcode, f'subcode {subcode}')}"


def codes_of(words: str) -> tuple[int | None, int | None]:
    """(code, subcode) from a device's words for them (`Cease/Administrative Shutdown`),
    (None, None) when the words name no code the RFCs define."""
    parts = [p.strip() for p in words.split("/")]
    code = next((c for c, name in ERROR_CODES.items() if name.lower() == parts[0].lower()), None)
    if code is None or len(parts) < 2:
        return code, 0 if code is not None else None
    names = SUBCODES.get(code, {})
    # FRR's older words for Cease's subcodes
    aliases = {"administratively shutdown": 2, "peer unconfigured": 3, "administratively reset": 4}
    wanted = parts[1].lower()
    sub = next((s for s, name in names.items() if name.lower() == wanted), aliases.get(wanted))
    return code, sub


@dataclass(frozen=True, slots=True)
class Notification:
    """The last NOTIFICATION that ended the session (RFC 4271 4.5)."""

    direction: str  # "received" (the peer closed it) or "sent" (this router did)
    code: int | None  # None when only words were printed (FRR's text)
    subcode: int | None
    device_words: str = ""  # as the device printed them: "Cease/Administrative Shutdown"

    @property
    def words(self) -> str:
        if self.code is not None:
            return notification_words(self.code, self.subcode or 0)
        return self.device_words


@dataclass(frozen=True, slots=True)
class FamilyPrefixes:
    family: str  # "IPv4 Unicast"
    received: int | None  # before inbound policy (FRR prints it only with soft-reconfiguration)
    accepted: int | None
    advertised: int | None


@dataclass(frozen=True, slots=True)
class BfdState:
    status: str  # "Up", "Down", "Unknown"
    detect_multiplier: int | None
    rx_ms: int | None
    tx_ms: int | None
    last_update: str  # as printed: "0:00:00:08"


@dataclass(frozen=True, slots=True)
class BgpNeighbor:
    peer: str  # as the switch names it: address or interface
    hostname: str | None
    description: str | None
    remote_as: int | None
    local_as: int | None
    remote_router_id: str | None
    state: str  # FRR's spelling; "Idle (Admin)" when shut down by configuration
    admin_shutdown: bool
    up_seconds: float | None  # Established for this long
    last_reset_seconds: float | None  # the last reset was this long ago
    last_reset: str | None  # the device's words: "BGP Notification received"
    notification: Notification | None
    hold_configured: float | None  # seconds
    keepalive_configured: float | None
    hold: float | None  # negotiated (in use), seconds
    keepalive: float | None
    messages: tuple[tuple[str, int, int], ...]  # (kind, sent, received), Total last
    connections_established: int | None
    connections_dropped: int | None
    families: tuple[FamilyPrefixes, ...]
    bfd: BfdState | None
    local_address: str | None
    peer_address: str | None

    @property
    def established(self) -> bool:
        return self.state == "Established"

    @property
    def down_seconds(self) -> float | None:
        """How long the session has been down: since its last reset, once it was ever up."""
        if self.established or not self.connections_dropped:
            return None
        return self.last_reset_seconds


_NO_SUCH = re.compile(r"%?\s*(No such neighbor[^\n]*|Malformed address[^\n]*|No such peer[^\n]*)")


def no_such_neighbor(text: str) -> str | None:
    """The device's words when it says the neighbour does not exist, else None."""
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    if stripped.startswith("{"):
        compact = re.sub(r"\s+", "", stripped)
        if '"bgpNoSuchNeighbor":true' in compact:
            return "No such neighbor (bgpNoSuchNeighbor)"
        return None
    match = _NO_SUCH.match(stripped)
    return match.group(1).strip() if match else None
