"""FRR `show bgp neighbors [PEER] json` -> `BgpNeighbor`s (`parsers.bgp.neighbor`).

Keys read, with the releases that changed them: the up time is `bgpTimerUpMsec` (7.x on;
`bgpTimerUp`, also milliseconds, before); the last reset is `lastResetTimerMsecs` and
`lastResetDueTo`, the NOTIFICATION behind it `lastErrorCodeSubcode` (code and subcode as
two hex digits each: `0602`, `020B`) with `lastNotificationReason` (its words); timers
`bgpTimer[Configured]HoldTimeMsecs` and `...KeepAliveIntervalMsecs`; `messageStats`;
per family `addressFamilyInfo.<family>.acceptedPrefixCounter` / `sentPrefixCounter`;
`peerBfdInfo` where BFD is configured; `adminShutDown` for a session shut by configuration.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fabrictui.parsers import ParseError, json_bool, json_map
from fabrictui.parsers.bgp.neighbor import BfdState, BgpNeighbor, FamilyPrefixes, Notification
from fabrictui.parsers.bgp.values import (
    HOST_NAME,
    check_neighbor,
    json_as_number,
    json_counter,
    json_text,
    parse_router_id,
    parse_state,
)

# messageStats key stems, in the order FRR prints the text table
MESSAGE_KINDS = (
    ("Opens", "opens"),
    ("Notifications", "notifications"),
    ("Updates", "updates"),
    ("Keepalives", "keepalives"),
    ("Route Refresh", "routeRefresh"),
    ("Capability", "capability"),
    ("Total", "total"),
)
_CODE_SUBCODE = re.compile(r"([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})", re.ASCII)
_FAMILY_WORDS = re.compile(r"(ipv4|ipv6|l2vpn)([A-Z][a-z]+)?(.*)", re.ASCII)


def _str(obj: dict[str, Any], key: str, what: str) -> str | None:
    """A string shown as it is: no control characters, at most 200 characters."""
    value = json_text(obj, key, what)
    if value is not None and not value.isprintable():
        raise ParseError(f"{what}: {key} holds control characters")
    return None if value is None else value[:200]


def _seconds(obj: dict[str, Any], key: str, what: str) -> float | None:
    msecs = json_counter(obj, key, what)
    return None if msecs is None else msecs / 1000


def family_title(key: str) -> str:
    """`ipv4Unicast` -> `IPv4 Unicast`, `l2VpnEvpn`/`l2vpnEvpn` -> `L2VPN EVPN`."""
    match = _FAMILY_WORDS.fullmatch(key)
    if match is None:
        return key
    afi, safi, rest = match.groups()
    afi_word = {"ipv4": "IPv4", "ipv6": "IPv6", "l2vpn": "L2VPN"}[afi]
    safi_word = (safi or "") + rest
    if afi == "l2vpn":
        safi_word = safi_word.upper()
    return f"{afi_word} {safi_word}".strip()


def _notification(data: dict[str, Any], due_to: str | None, what: str) -> Notification | None:
    code_subcode = _str(data, "lastErrorCodeSubcode", what)
    words = _str(data, "lastNotificationReason", what) or ""
    mentions = due_to is not None and "notification" in due_to.lower()
    if code_subcode is None and not mentions:
        return None
    code = subcode = None
    if code_subcode is not None:
        match = _CODE_SUBCODE.fullmatch(code_subcode)
        if match is None:
            raise ParseError(f"{what}: lastErrorCodeSubcode {code_subcode[:20]!r} is not 4 digits")
        # FRR prints each as two hex digits (`%02X%02X`): Role Mismatch (2, 11) is `020B`
        code, subcode = (int(g, 16) for g in match.groups())
    lowered = (due_to or "").lower()
    direction = "sent" if "send" in lowered or "sent" in lowered else "received"
    return Notification(direction, code, subcode, words)


def _messages(data: dict[str, Any], what: str) -> tuple[tuple[str, int, int], ...]:
    stats = json_map(data.get("messageStats"), f"{what} messageStats")
    rows = []
    for label, stem in MESSAGE_KINDS:
        sent = json_counter(stats, f"{stem}Sent", what)
        rcvd = json_counter(stats, f"{stem}Recv", what)
        if sent is not None or rcvd is not None:
            rows.append((label, sent or 0, rcvd or 0))
    return tuple(rows)


def _families(data: dict[str, Any], what: str) -> tuple[FamilyPrefixes, ...]:
    info = json_map(data.get("addressFamilyInfo"), f"{what} addressFamilyInfo")
    out = []
    for key, value in info.items():
        fam = json_map(value, f"{what} family {key[:40]!r}")
        out.append(
            FamilyPrefixes(
                family=family_title(str(key))[:40],
                received=None,
                accepted=json_counter(fam, "acceptedPrefixCounter", what),
                advertised=json_counter(fam, "sentPrefixCounter", what),
            )
        )
    return tuple(out)


def _bfd(data: dict[str, Any], what: str) -> BfdState | None:
    if data.get("peerBfdInfo") is None:
        return None
    info = json_map(data.get("peerBfdInfo"), f"{what} peerBfdInfo")
    return BfdState(
        status=_str(info, "status", what) or "Unknown",
        detect_multiplier=json_counter(info, "detectMultiplier", what),
        rx_ms=json_counter(info, "rxMinInterval", what),
        tx_ms=json_counter(info, "txMinInterval", what),
        last_update=_str(info, "lastUpdate", what) or "",
    )


def _neighbor(key: str, value: Any) -> BgpNeighbor:
    what = f"neighbor {key[:60]!r}"
    data = json_map(value, what)
    peer = check_neighbor(key, what)
    raw_state = _str(data, "bgpState", what)
    if raw_state is None:
        raise ParseError(f"{what}: has no bgpState")
    state = parse_state(raw_state, what)
    admin = json_bool(data, "adminShutDown", what)
    if admin and state == "Idle":
        state = "Idle (Admin)"
    hostname = _known(_str(data, "hostname", what))
    if hostname is not None and not HOST_NAME.fullmatch(hostname):
        raise ParseError(f"{what}: hostname {hostname[:60]!r} is not a host name")
    router_id = _str(data, "remoteRouterId", what)
    if router_id is not None:
        router_id = parse_router_id(router_id, what)
    up = _seconds(data, "bgpTimerUpMsec", what)
    if up is None:
        up = _seconds(data, "bgpTimerUp", what)
    due_to = _str(data, "lastResetDueTo", what)
    return BgpNeighbor(
        peer=peer,
        hostname=hostname,
        description=_str(data, "nbrDesc", what),
        remote_as=json_as_number(data, "remoteAs", what),
        local_as=json_as_number(data, "localAs", what),
        remote_router_id=None if router_id in (None, "0.0.0.0") else router_id,
        state=state,
        admin_shutdown=admin,
        up_seconds=up if state == "Established" else None,
        last_reset_seconds=_seconds(data, "lastResetTimerMsecs", what),
        last_reset=due_to,
        notification=_notification(data, due_to, what),
        hold_configured=_seconds(data, "bgpTimerConfiguredHoldTimeMsecs", what),
        keepalive_configured=_seconds(data, "bgpTimerConfiguredKeepAliveIntervalMsecs", what),
        hold=_seconds(data, "bgpTimerHoldTimeMsecs", what),
        keepalive=_seconds(data, "bgpTimerKeepAliveIntervalMsecs", what),
        messages=_messages(data, what),
        connections_established=json_counter(data, "connectionsEstablished", what),
        connections_dropped=json_counter(data, "connectionsDropped", what),
        families=_families(data, what),
        bfd=_bfd(data, what),
        local_address=_known(_str(data, "hostLocal", what)),
        peer_address=_known(_str(data, "hostForeign", what)),
    )


def _known(value: str | None) -> str | None:
    """FRR prints "Unknown" for a host name the peer did not send and for the connection's
    addresses while there is none (a session down: `"hostLocal":"Unknown"`, port -1)."""
    return None if value == "Unknown" else value


def parse_neighbors_json(text: str) -> list[BgpNeighbor]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise ParseError(f"BGP neighbor JSON does not parse: {str(err)[:120]}") from None
    if not isinstance(data, dict):
        raise ParseError(f"BGP neighbor JSON is {type(data).__name__}, not an object")
    for key in ("warning", "error"):
        if isinstance(data.get(key), str):
            raise ParseError(f"the device answered {data[key][:120]!r}")
    return [_neighbor(str(key), value) for key, value in data.items()]
