"""`fabrictui bgp [--json] [--prometheus URL] [--at TIME]`: every switch's BGP sessions (switch,
peer, state, uptime, prefixes), the headless twin of the fabric pane; the same JSON shape whether
they come over SSH or from Prometheus (docs/telemetry.md). `--at` ("10m ago", or an RFC 3339
time) reads them as they were then, from Prometheus's history.

Exit 0 when every session is Established, 1 when one is not, 2 on bad input or a lab that cannot
be reached, 3 when none is down but a switch could not be read (its reason said: an exporter
down is not a session down).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from datetime import datetime

from fabrictui.backends.base import LabBackend
from fabrictui.commands._headless import (
    EXIT_FAILED,
    EXIT_NOT_OBSERVED,
    EXIT_OK,
    emit,
    error,
    run_on_lab,
)
from fabrictui.commands.options import add_lab_selection
from fabrictui.model import LabInfo, SwitchReading
from fabrictui.parsers.bgp.values import parse_bgp_uptime_seconds

PROG = "fabrictui bgp"
_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s+ago\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the sessions as JSON")
    parser.add_argument(
        "--at",
        metavar="TIME",
        help='the sessions as they were then ("10m ago", or RFC 3339): from Prometheus',
    )
    add_lab_selection(parser)


def parse_at(text: str, now: float | None = None) -> float:
    """`10m ago`, `90s ago`, `2h ago`, `1d ago`, or an RFC 3339 time -> epoch seconds."""
    now = time.time() if now is None else now
    ago = _AGO.match(text)
    if ago:
        return now - float(ago.group(1)) * _UNIT[ago.group(2)]
    try:
        stamp = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f'--at {text}: not "N{{s,m,h,d}} ago" nor an RFC 3339 time') from None
    if stamp.tzinfo is None:
        raise ValueError(f"--at {text}: an RFC 3339 time needs its zone (Z or +01:00)")
    if stamp.timestamp() > now + 1:
        raise ValueError(f"--at {text}: in the future")
    return stamp.timestamp()


def reading_json(reading: SwitchReading, source: str, peers: dict[str, str]) -> dict:
    sessions = []
    if reading.summary is not None:
        for peer in reading.summary.peers:
            sessions.append(
                {
                    "peer": peer.neighbor,
                    "peer_host": peers.get(peer.neighbor, peer.short_hostname),
                    "remote_as": peer.remote_as,
                    "state": peer.state,
                    "established": peer.established,
                    "uptime_seconds": parse_bgp_uptime_seconds(peer.uptime),
                    "prefixes_received": peer.prefixes_received,
                }
            )
    return {
        "switch": reading.switch,
        "source": source,
        "sampled_at": round(reading.fetched_at, 3),
        "error": reading.error,
        "sessions": sessions,
    }


def to_json(lab: LabInfo, source: str, at: float | None, rows: list[dict]) -> str:
    return json.dumps(
        {"lab": lab.to_json(), "source": source, "at": at, "switches": rows}, indent=2
    )


def to_table(lab: LabInfo, source: str, rows: list[dict], now: float) -> str:
    lines = [lab.describe(), f"source: {source}"]
    header = ("SWITCH", "PEER", "HOST", "AS", "STATE", "UPTIME", "PFX", "SAMPLE")
    table = [header]
    for row in rows:
        age = f"{max(0, round(now - row['sampled_at']))} s old"
        if row["error"]:
            lines_error = row["error"].removeprefix(f"{row['switch']}: ")
            table.append((row["switch"], "-", "-", "-", "NOT READ", "-", "-", age))
            lines.append(f"{row['switch']}: {lines_error}")
        for s in row["sessions"]:
            uptime = "-" if s["uptime_seconds"] is None else f"{s['uptime_seconds']} s"
            table.append((
                row["switch"], s["peer"], s["peer_host"] or "-", str(s["remote_as"] or "?"),
                s["state"], uptime, "-" if s["prefixes_received"] is None
                else str(s["prefixes_received"]), age,
            ))  # fmt: skip
    # a switch read another way than the lab's source (Prometheus failed: SSH fell in)
    lines += sorted({f"read via {r['source']}" for r in rows if r["source"] != source})
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    return "\n".join(lines[:2] + body + lines[2:])


def run(args: argparse.Namespace) -> int:
    at: float | None = None
    if args.at:
        try:
            at = parse_at(args.at)
        except ValueError as err:
            return error(PROG, str(err))

    async def body(backend: LabBackend) -> int:
        lab = backend.info()
        telemetry = getattr(backend, "telemetry_source", None)
        if at is not None:
            if not telemetry or telemetry == "ssh":
                return error(PROG, "--at reads Prometheus's history: name one with --prometheus")
            backend.telemetry_at = at  # type: ignore[attr-defined]
        source = "demo" if lab.kind == "demo" else (telemetry or "ssh")
        hosts = await backend.list_hosts()
        switches = sorted(h.name for h in hosts if h.role.is_switch)
        readings = await asyncio.gather(*(backend.bgp_summary(s) for s in switches))
        peers = dict(lab.peer_addresses)
        rows = [
            reading_json(r, "demo" if r.source == "ssh" and lab.kind == "demo" else r.source, peers)
            for r in readings
        ]
        emit(
            to_json(lab, source, at, rows)
            if args.json
            else to_table(lab, source, rows, at or time.time())
        )
        down = any(not s["established"] for row in rows for s in row["sessions"])
        if down:
            return EXIT_FAILED
        return EXIT_NOT_OBSERVED if any(row["error"] for row in rows) else EXIT_OK

    return run_on_lab(args, PROG, body)
