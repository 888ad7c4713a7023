"""Text and JSON in the devices' own formats for one session (FRR `show bgp neighbors PEER
json`, FRR/NCLU text, BIRD `show protocols all NAME`) and a switch's interface list (the
format of parsers.interfaces.INTERFACES_SCRIPT). Pure: a `SessionFacts` in, text out."""

from __future__ import annotations

import json
from dataclasses import dataclass

from fabrictui.backends.demo.fabric import format_uptime


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """One end of a session, as the demo simulation knows it."""

    peer: str
    hostname: str | None
    local_as: int
    remote_as: int
    local_address: str
    router_id: str
    remote_router_id: str | None
    state: str
    up_seconds: float | None
    reset_seconds: float | None  # the last reset was this long ago; None: never reset
    reset_reason: str  # FRR's words: "Interface down", "BGP Notification send"
    notification: tuple[int, int] | None  # (code, subcode) of the NOTIFICATION, when one
    notification_words: str  # FRR's words for it: "Hold Timer Expired"
    msg_sent: int
    msg_rcvd: int
    accepted: int
    advertised: int
    established: int  # connections established
    dropped: int
    hold: int = 9
    keepalive: int = 3
    admin_shutdown: bool = False  # `neighbor X shutdown` here: state Idle, printed as such


def _messages(f: SessionFacts) -> dict[str, tuple[int, int]]:
    """Counters by kind: one OPEN and one UPDATE per establishment, the rest keepalives."""
    opens = f.established
    notes_sent = 1 if f.notification is not None and "send" in f.reset_reason else 0
    notes_rcvd = 1 if f.notification is not None and "received" in f.reset_reason else 0
    updates = 2 * f.established
    return {
        "opens": (opens, opens),
        "notifications": (notes_sent, notes_rcvd),
        "updates": (updates, updates),
        "keepalives": (
            max(f.msg_sent - opens - updates - notes_sent, 0),
            max(f.msg_rcvd - opens - updates - notes_rcvd, 0),
        ),
        "routeRefresh": (0, 0),
        "capability": (0, 0),
    }


def frr_json(f: SessionFacts, now: float) -> str:
    """`show bgp neighbors PEER json` as FRR 8 prints it (the fields the parser reads,
    plus the ones around them)."""
    body: dict[str, object] = {"remoteAs": f.remote_as, "localAs": f.local_as}
    body["nbrExternalLink"] = True
    if f.hostname:
        body["hostname"] = f.hostname
    if f.admin_shutdown:
        body["adminShutDown"] = True
    body.update(
        bgpVersion=4,
        remoteRouterId=f.remote_router_id or "0.0.0.0",
        localRouterId=f.router_id,
        bgpState=f.state.removesuffix(" (Admin)"),
    )
    if f.state == "Established" and f.up_seconds is not None:
        body["bgpTimerUpMsec"] = int(f.up_seconds * 1000)
        body["bgpTimerUpString"] = format_uptime(f.up_seconds)
        body["bgpTimerUpEstablishedEpoch"] = int(now - f.up_seconds)
    body.update(
        bgpTimerConfiguredHoldTimeMsecs=f.hold * 1000,
        bgpTimerConfiguredKeepAliveIntervalMsecs=f.keepalive * 1000,
        bgpTimerHoldTimeMsecs=f.hold * 1000,
        bgpTimerKeepAliveIntervalMsecs=f.keepalive * 1000,
    )
    stats: dict[str, int] = {"depthInq": 0, "depthOutq": 0}
    for kind, (sent, rcvd) in _messages(f).items():
        stats[f"{kind}Sent"], stats[f"{kind}Recv"] = sent, rcvd
    stats["totalSent"], stats["totalRecv"] = f.msg_sent, f.msg_rcvd
    body["messageStats"] = stats
    family: dict[str, object] = {"commAttriSentToNbr": "extendedAndStandard"}
    family["acceptedPrefixCounter"] = f.accepted
    if f.state == "Established":
        family["sentPrefixCounter"] = f.advertised
    body["addressFamilyInfo"] = {"ipv4Unicast": family}
    body["connectionsEstablished"] = f.established
    body["connectionsDropped"] = f.dropped
    if f.reset_seconds is not None:
        body["lastResetTimerMsecs"] = int(f.reset_seconds * 1000)
        if f.notification is not None:
            code, sub = f.notification
            body["lastErrorCodeSubcode"] = f"{code:02X}{sub:02X}"  # FRR: %02X%02X
            body["lastNotificationReason"] = f.notification_words
        body["lastResetDueTo"] = f.reset_reason
    body.update(hostLocal=f.local_address, hostForeign=f.peer)
    return json.dumps({f.peer: body}, indent=2) + "\n"


def frr_text(f: SessionFacts) -> str:
    """The same neighbour as text: what NCLU's `net show bgp neighbor PEER` prints."""
    lines = [
        f"BGP neighbor is {f.peer}, remote AS {f.remote_as}, local AS {f.local_as}, external link"
    ]
    if f.hostname:
        lines.append(f"Hostname: {f.hostname}")
    if f.admin_shutdown:
        lines.append(" Administratively shut down")
    lines.append(
        f"  BGP version 4, remote router ID {f.remote_router_id or '0.0.0.0'}, "
        f"local router ID {f.router_id}"
    )
    state = f"  BGP state = {f.state.removesuffix(' (Admin)')}"
    if f.state == "Established" and f.up_seconds is not None:
        state += f", up for {format_uptime(f.up_seconds)}"
    lines += [
        state,
        f"  Hold time is {f.hold}, keepalive interval is {f.keepalive} seconds",
        f"  Configured hold time is {f.hold}, keepalive interval is {f.keepalive} seconds",
        "  Message statistics:",
        "    Inq depth is 0",
        "    Outq depth is 0",
        "                         Sent       Rcvd",
    ]
    labels = {"opens": "Opens", "notifications": "Notifications", "updates": "Updates"}
    labels |= {"keepalives": "Keepalives", "routeRefresh": "Route Refresh"}
    labels |= {"capability": "Capability"}
    for kind, (sent, rcvd) in _messages(f).items():
        lines.append(f"    {labels[kind] + ':':<20}{sent:>7}{rcvd:>11}")
    lines.append(f"    {'Total:':<20}{f.msg_sent:>7}{f.msg_rcvd:>11}")
    lines += [
        "  Minimum time between advertisement runs is 0 seconds",
        "",
        " For address family: IPv4 Unicast",
        "  Community attribute sent to this neighbor(all)",
        f"  {f.accepted} accepted prefixes",
        "",
        f"  Connections established {f.established}; dropped {f.dropped}",
    ]
    if f.reset_seconds is not None:
        why = f.reset_reason
        if f.notification is not None:
            direction = "sent" if "send" in f.reset_reason else "received"
            why = f"NOTIFICATION {direction} ({f.notification_words})"
        lines.append(f"  Last reset {format_uptime(f.reset_seconds)}, due to {why}")
    lines += [
        f"Local host: {f.local_address}, Local port: 179",
        f"Foreign host: {f.peer}, Foreign port: 40179",
        "",
    ]
    return "\n".join(lines) + "\n"


NO_SUCH_NEIGHBOR_JSON = '{\n  "bgpNoSuchNeighbor":true\n}\n'
NO_SUCH_NEIGHBOR_TEXT = "% No such neighbor in this view/vrf\n"


def bird_all(row: str, details: list[tuple[str, str]], routes: tuple[int, int]) -> str:
    """`show protocols all NAME`: the protocol's row, then its detail lines."""
    imported, exported = routes
    lines = [
        "BIRD v0.3.3+birdv1.6.8 ready.",
        "name     proto    table    state  since       info",
        row,
        "  Preference:     100",
        "  Input filter:   ACCEPT",
        "  Output filter:  calico_export_to_bgp_peers",
        f"  Routes:         {imported} imported, {exported} exported, {imported} preferred",
        "  Route change stats:     received   rejected   filtered    ignored   accepted",
        f"    Import updates:     {imported:>10} {0:>10} {0:>10} {0:>10} {imported:>10}",
        f"    Import withdraws:   {0:>10} {0:>10}        --- {0:>10} {0:>10}",
        f"    Export updates:     {exported:>10} {0:>10} {0:>10}        --- {exported:>10}",
        f"    Export withdraws:   {0:>10}        ---        ---        --- {0:>10}",
    ]
    lines += [f"    {key + ':':<18}{value}" for key, value in details]
    return "\n".join(lines) + "\n"


def interfaces_text(rows: list[tuple[str, str, int | None, int, int, int]]) -> str:
    """(name, operstate, speed, mtu, rx_errors, carrier_changes) in the script's format."""
    out = []
    for name, state, speed, mtu, rx_errors, changes in rows:
        speed_cell = "-" if speed is None else str(speed)
        out.append(f"{name} {state} {speed_cell} {mtu} {rx_errors} 0 0 0 {changes}")
    return "\n".join(out) + "\n"
