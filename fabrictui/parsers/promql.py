"""Prometheus HTTP API answers -> samples, targets and BGP sessions (docs/telemetry.md).

Pure: the bytes of `/api/v1/query` and `/api/v1/targets` answers in, model objects out, and
`ParseError` for anything else, in the API's own words where it has them (`bad_data: ...`).
The metric names and labels read here are those of `prometheus-frr-exporter` 1.x; a series
without the labels fabrictui relies on (an exporter of another version) is named, not guessed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fabrictui.model import BgpPeer, BgpSummary
from fabrictui.parsers import ParseError, json_list, json_map

PEER_STATE = "frr_bgp_peer_state"
PEER_UPTIME = "frr_bgp_peer_uptime_seconds"
PEER_PREFIXES = "frr_bgp_peer_prefixes_received_count_total"
# frr_exporter's frr_bgp_peer_state: 1 Established, 0 down, 2 administratively down
PEER_STATES = {1: "Established", 0: "Down", 2: "Idle (Admin)"}
SESSION_METRICS = (PEER_STATE, PEER_UPTIME, PEER_PREFIXES)


@dataclass(frozen=True, slots=True)
class Sample:
    metric: dict[str, str]
    timestamp: float  # seconds since the epoch
    value: float

    @property
    def name(self) -> str:
        return self.metric.get("__name__", "")


@dataclass(frozen=True, slots=True)
class Target:
    labels: dict[str, str]
    health: str  # "up", "down", "unknown"
    last_error: str
    last_scrape: float | None  # seconds since the epoch; None: never scraped


def _load(data: bytes | str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ParseError(f"not a Prometheus API answer (no JSON: {exc})") from None
    if not isinstance(doc, dict) or "status" not in doc:
        raise ParseError("not a Prometheus API answer (no `status`)")
    if doc["status"] != "success":
        kind = doc.get("errorType") or "error"
        raise ParseError(f"Prometheus answered {kind}: {doc.get('error') or 'no reason given'}")
    return json_map(doc.get("data"), "data")


def parse_query(data: bytes | str) -> list[Sample]:
    """An instant query's answer (`resultType` vector or scalar) as samples."""
    body = _load(data)
    kind = body.get("resultType")
    result = body.get("result")
    if kind == "scalar":
        return [Sample({}, *_point(result, "scalar"))]
    if kind != "vector":
        raise ParseError(f"query answer is a {kind!r}, not an instant vector")
    samples = []
    for item in json_list(result, "result"):
        entry = json_map(item, "result item")
        metric = json_map(entry.get("metric"), "metric")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metric.items()):
            raise ParseError("metric labels are not all strings")
        samples.append(Sample(dict(metric), *_point(entry.get("value"), "value")))
    return samples


def _point(value: Any, what: str) -> tuple[float, float]:
    point = json_list(value, what)
    if len(point) != 2:
        raise ParseError(f"{what}: {len(point)} items, not [time, value]")
    stamp, number = point
    if isinstance(stamp, bool) or not isinstance(stamp, int | float) or not math.isfinite(stamp):
        raise ParseError(f"{what}: time {stamp!r} is not a number")
    if not isinstance(number, str):
        raise ParseError(f"{what}: value {number!r} is not a string")
    try:
        return float(stamp), float(number)
    except ValueError:
        raise ParseError(f"{what}: value {number[:40]!r} is not a number") from None


def parse_targets(data: bytes | str) -> list[Target]:
    """`/api/v1/targets`: the active targets' labels, health, last error and scrape time."""
    body = _load(data)
    targets = []
    for item in json_list(body.get("activeTargets"), "activeTargets"):
        entry = json_map(item, "target")
        labels = json_map(entry.get("labels"), "target labels")
        health, error = entry.get("health", "unknown"), entry.get("lastError", "")
        if not isinstance(health, str) or not isinstance(error, str):
            raise ParseError("target: health or lastError is not a string")
        scrape = entry.get("lastScrape")
        targets.append(Target(
            {str(k): str(v) for k, v in labels.items()}, health, error, rfc3339(scrape)
        ))  # fmt: skip
    return targets


def rfc3339(value: Any) -> float | None:
    """Prometheus's RFC 3339 times (nanoseconds, `Z`) as epoch seconds; None for its
    never-scraped zero time."""
    if value is None or (isinstance(value, str) and value.startswith("0001-01-01")):
        return None
    if not isinstance(value, str):
        raise ParseError(f"time {value!r} is not a string")
    text = value.strip().replace("z", "Z").replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most microseconds: cut the fraction to six digits
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise ParseError(f"time {value[:40]!r} is not RFC 3339") from None
    if stamp.tzinfo is None:
        raise ParseError(f"time {value[:40]!r} has no time zone")
    return stamp.timestamp()


@dataclass(frozen=True, slots=True)
class SwitchSessions:
    """One switch's sessions as the exporter reported them, and when it was scraped."""

    summary: BgpSummary
    uptimes: dict[str, float]  # peer -> seconds
    sampled_at: float  # the newest sample's own time (the scrape's, not the query's)


def frr_sessions(samples: list[Sample], switch_label: str = "switch") -> dict[str, SwitchSessions]:
    """The BGP sessions of every switch in `samples` (frr_exporter's peer series)."""
    rows: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    stamps: dict[str, float] = {}
    local_as: dict[str, int | None] = {}
    for sample in samples:
        if sample.name not in SESSION_METRICS:
            continue
        missing = [k for k in (switch_label, "peer") if k not in sample.metric]
        if missing:
            raise ParseError(
                f"{sample.name} series without the label(s) {', '.join(missing)} "
                "(an exporter of another version, or a scrape job without `switch`?)"
            )
        switch = sample.metric[switch_label]
        peer = sample.metric["peer"]
        vrf = sample.metric.get("vrf", "default")
        if sample.metric.get("afi", "ipv4") != "ipv4" or vrf != "default":
            continue  # the fabric pane shows the default VRF's IPv4 unicast, as over SSH
        row = rows.setdefault(switch, {}).setdefault((peer, vrf), {})
        row[sample.name] = sample.value
        row["peer_as"] = sample.metric.get("peer_as")
        local_as[switch] = _int(sample.metric.get("local_as"))
        stamps[switch] = max(stamps.get(switch, 0.0), sample.timestamp)
    out = {}
    for switch, peers in rows.items():
        made, uptimes = [], {}
        for (peer, _vrf), row in sorted(peers.items()):
            if PEER_STATE not in row:
                raise ParseError(f"{switch} {peer}: no {PEER_STATE} series (exporter version?)")
            code = int(row[PEER_STATE]) if math.isfinite(row[PEER_STATE]) else -1
            state = PEER_STATES.get(code, f"state {code}")
            seconds = row.get(PEER_UPTIME)
            uptime = _clock(seconds) if seconds is not None and code == 1 else "never"
            if seconds is not None and math.isfinite(seconds):
                uptimes[peer] = seconds
            prefixes = row.get(PEER_PREFIXES)
            made.append(BgpPeer(
                neighbor=peer,
                hostname=None,
                remote_as=_int(row.get("peer_as")),
                state=state,
                uptime=uptime,
                prefixes_received=int(prefixes) if _finite(prefixes) else None,
            ))  # fmt: skip
        summary = BgpSummary(router_id="?", local_as=local_as.get(switch), peers=tuple(made))
        out[switch] = SwitchSessions(summary, uptimes, stamps[switch])
    return out


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and value >= 0


def _int(text: Any) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _clock(seconds: float) -> str:
    """Uptime as FRR prints it: hh:mm:ss under a day, then 1d01h44m."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h{minutes:02d}m"
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"
