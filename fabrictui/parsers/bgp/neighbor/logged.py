"""A session's last change as FRR logged it (issue 26), for a neighbour the switch no longer
lists: FRR deletes a dynamic neighbour (a node accepted through `bgp listen range`) when its
session ends, so `show bgp neighbors PEER` says "No such neighbor" and only the log keeps why.

With `bgp log-neighbor-changes` (Cumulus's default; the rehearsal lab sets it) bgpd logs

    2026/12/07 16:50:56 BGP: [H7QV4-WR3ZD] %NOTIFICATION: received from neighbor 172.16.0.0
        6/2 (Cease/Administrative Shutdown) "maintenance"      (one line)
    2026/12/07 16:50:56 BGP: [PXVXG-TFNNT] %ADJCHANGE: neighbor 172.16.0.0(spine-sw1) in vrf
        default Down BGP Notification received                  (one line)

(FRR 4.0 on Cumulus 3.7 the same words without the `[XXXXX-XXXXX]` tag, through syslog with
its own time stamp). `last_change` reads the newest ADJCHANGE of one peer, and the
NOTIFICATION logged for the same peer just before it; the time is FRR's own `YYYY/MM/DD
HH:MM:SS` when the line has it, and how long ago is counted from the switch's clock read in
the same format (`now`)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from fabrictui.parsers import ParseError
from fabrictui.parsers.bgp.neighbor import Notification

__all__ = ["LoggedChange", "bgpd_log_file", "last_change"]

_STAMP = r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)"
_STAMP_AT = re.compile(r"\s*" + _STAMP, re.ASCII)
_ADJ = re.compile(
    r"%ADJCHANGE: neighbor (\S+?)(?:\(([^()\s]*)\))?(?: in vrf \S+)? (Up|Down)\b ?(.*)$",
    re.ASCII,
)
_NOTE = re.compile(
    r"%NOTIFICATION(?:\(Hard Reset\))?: (sent to|received from) neighbor (\S+) "
    r"(\d{1,3})/(\d{1,3}) \(([^()]*)\)",
    re.ASCII,
)
_FILE = re.compile(r"File logging: level \S+, filename (\S+)")
NOTE_WITHIN = 5.0  # a NOTIFICATION logged this close before the Down is its cause
LONGEST_LINE = 4096  # a log line longer than this is not FRR's: skipped


@dataclass(frozen=True, slots=True)
class LoggedChange:
    peer: str
    hostname: str | None
    state: str  # "Up" or "Down", as logged
    reason: str  # the Down's words ("BGP Notification received"); "" for Up
    when: str  # as logged ("2026/12/07 16:50:56"), "" when the line has no FRR time stamp
    seconds_ago: float | None  # from `now`, when both are FRR's stamps
    notification: Notification | None


def _epoch(stamp: str) -> float | None:
    try:
        return time.mktime(time.strptime(stamp, "%Y/%m/%d %H:%M:%S"))
    except (ValueError, OverflowError):
        return None


def _stamp(line: str) -> str:
    match = _STAMP_AT.match(line)
    return match.group(1) if match else ""


def last_change(text: str, peer: str, now: str = "") -> LoggedChange | None:
    """The newest logged change of `peer`'s session, None when the log has none."""
    if not isinstance(text, str) or not isinstance(peer, str) or not isinstance(now, str):
        raise ParseError("a log is text")
    if not peer or any(ch.isspace() for ch in peer):
        raise ParseError(f"{peer[:60]!r} is not a peer")
    now_epoch = _epoch(now.strip()) if now.strip() else None
    if now.strip() and now_epoch is None:
        raise ParseError(f"the switch's clock {now.strip()[:40]!r} is not YYYY/MM/DD HH:MM:SS")
    found: LoggedChange | None = None
    note: tuple[float | None, Notification] | None = None
    for line in text.splitlines():
        if len(line) > LONGEST_LINE or peer not in line:
            continue
        stamp = _stamp(line)
        at = _epoch(stamp) if stamp else None
        noted = _NOTE.search(line)
        if noted and noted.group(2) == peer:
            direction = "sent" if noted.group(1) == "sent to" else "received"
            code, sub = int(noted.group(3)), int(noted.group(4))
            note = (at, Notification(direction, code, sub, noted.group(5).strip()))
            continue
        adj = _ADJ.search(line)
        if not adj or adj.group(1) != peer:
            continue
        state, reason = adj.group(3), adj.group(4).strip()
        cause = None
        if state == "Down" and note is not None:
            noted_at, cause = note
            if at is not None and noted_at is not None and at - noted_at > NOTE_WITHIN:
                cause = None
        note = None
        ago = now_epoch - at if now_epoch is not None and at is not None else None
        host = adj.group(2)  # FRR's "Unknown" when the peer sent no host name
        found = LoggedChange(
            peer=peer,
            hostname=None if host in (None, "", "Unknown") else host,
            state=state,
            reason=reason if state == "Down" else "",
            when=stamp,
            seconds_ago=None if ago is None else max(ago, 0.0),
            notification=cause,
        )
    return found


def bgpd_log_file(show_logging: str) -> str | None:
    """The file bgpd logs to, from vtysh's `show logging` ("Logging configuration for
    bgpd:" ... "File logging: level informational, filename PATH"); None when it logs to
    no file of its own (syslog: the platform's file, /var/log/frr/frr.log on Cumulus)."""
    if not isinstance(show_logging, str):
        raise ParseError("`show logging` is text")
    section = show_logging.partition("Logging configuration for bgpd:")[2]
    if not section:
        return None
    section = section.partition("Logging configuration for ")[0]
    match = _FILE.search(section)
    return match.group(1) if match and match.group(1).startswith("/") else None
