"""FRR and Cumulus NCLU BGP summaries as JSON -> `BgpSummary`."""

from __future__ import annotations

import json
import re
from typing import Any

from fabrictui.model import BgpPeer, BgpSummary
from fabrictui.parsers import ParseError, json_bool
from fabrictui.parsers.bgp.values import (
    HOST_NAME,
    NO_NEIGHBORS,
    check_neighbor,
    family_key,
    is_uptime,
    json_as_number,
    json_counter,
    json_text,
    merge_sections,
    parse_router_id,
    parse_state,
)


def _json_peer(key: str, data: Any, what: str) -> BgpPeer:
    what = f"{what} peer {key[:60]!r}"
    if not isinstance(data, dict):
        raise ParseError(f"{what}: is {type(data).__name__}, not an object")
    neighbor = check_neighbor(key, what)
    raw_state = json_text(data, "state", what)
    if raw_state is None:
        raise ParseError(f"{what}: has no state")
    state = parse_state(raw_state, what)
    established = state == "Established"
    prefixes = json_counter(data, "pfxRcd", what)
    if prefixes is None:
        prefixes = json_counter(data, "prefixReceivedCount", what)
    peer_state = json_text(data, "peerState", what)
    if not established or peer_state in ("Policy", "NoNeg"):
        prefixes = None
    hostname = json_text(data, "hostname", what)
    if hostname is not None and not HOST_NAME.fullmatch(hostname):
        raise ParseError(f"{what}: hostname {hostname[:60]!r} is not a host name")
    uptime = json_text(data, "peerUptime", what)
    if uptime is None:
        uptime = "" if established else "never"
    elif not is_uptime(uptime):
        raise ParseError(f"{what}: peerUptime {uptime[:30]!r} is not an uptime")
    return BgpPeer(
        neighbor=neighbor,
        hostname=hostname or None,
        remote_as=json_as_number(data, "remoteAs", what),
        state=state,
        uptime=uptime,
        prefixes_received=prefixes,
        msg_rcvd=json_counter(data, "msgRcvd", what),
        msg_sent=json_counter(data, "msgSent", what),
        dynamic=json_bool(data, "dynamicPeer", what),
        policy_blocked=established and peer_state == "Policy",
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
    raw_id = json_text(data, "routerId", what)
    if raw_id is None:
        raise ParseError(f"{what}: has no routerId")
    router_id = parse_router_id(raw_id, what)
    local_as = json_as_number(data, "as", what)
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
            if NO_NEIGHBORS.match(text):
                return True
            raise ParseError(f"{what}: the device answered {text!r}")
    return False


def _is_family_key(key: str) -> bool:
    return re.match(r"(ipv4|ipv6|l2vpn)", family_key(key)) is not None


def parse_json(text: str) -> BgpSummary:
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
        return merge_sections([family] if family else [])
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
        family = _json_family(family_key(key), value, f"JSON family {key[:40]!r}")
        if family is not None:
            families.append(family)
    return merge_sections(families)
