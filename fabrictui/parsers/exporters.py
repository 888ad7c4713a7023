"""Prometheus samples of the standard exporters other than FRR's -> the model's readings
(docs/telemetry.md, "Metric names and labels fabrictui relies on").

Pure, like promql.py: samples in (`parse_query`'s), `Interface`s and `BirdProtocol`s out, and
`ParseError` for a series without the labels relied on (an exporter of another version) rather
than a guess.

`prometheus-node-exporter` 1.5's netclass and netdev collectors give what the SSH reader reads
from /sys/class/net (parsers/interfaces.py), one series per device and metric.

`prometheus-bird-exporter` 1.4 (its default "new" format) gives one `bird_protocol_up` series
per protocol of BIRD's `show protocols` (parsers/bird.py) but Device ones: `name`, `proto`,
and in `state` the row's info (`Established`, `Active`; no label when empty); its value is 1
when BIRD's state is `up` (its spaces are kept; they are read as one, as parsers/bird.py does).
What the exporter does not carry is read back as follows: BIRD's state of a protocol not up is
`start` when the info names a BGP state on the way up (`Idle`, `Connect`, `Active`,
`OpenSent`, `OpenConfirm`), else `down`; the table is `?`; and `since` is read from
`bird_protocol_uptime`, which 1.4 fills, for BIRD 1.6's `HH:MM:SS` since-times of today, with
that time of day in seconds (not an uptime): `?` for anything else.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from fabrictui.parsers import ParseError
from fabrictui.parsers.bird import BirdProtocol
from fabrictui.parsers.interfaces import Interface
from fabrictui.parsers.promql import Sample

NODE_INFO = "node_network_info"  # labels device, operstate (and address, duplex, ...)
# Interface's counters, in its field order, from the metric that carries each
NODE_COUNTERS = (
    ("mtu", "node_network_mtu_bytes"),
    ("rx_errors", "node_network_receive_errs_total"),
    ("tx_errors", "node_network_transmit_errs_total"),
    ("rx_dropped", "node_network_receive_drop_total"),
    ("tx_dropped", "node_network_transmit_drop_total"),
    ("carrier_changes", "node_network_carrier_changes_total"),
)
NODE_SPEED = "node_network_speed_bytes"  # bytes per second; Interface has Mb/s
NODE_METRICS = (NODE_INFO, NODE_SPEED, *(metric for _, metric in NODE_COUNTERS))
_FIELD = {metric: field for field, metric in NODE_COUNTERS}


def node_interfaces(
    samples: Iterable[Sample], switch_label: str = "switch"
) -> dict[str, list[Interface]]:
    """Every switch's interfaces in `samples`, by name. A switch whose samples have no
    node_network_info is left out (its exporter is not the one relied on: the caller names
    it); a device without one has the state `-`, as the SSH reader's unreadable file."""
    rows: dict[str, dict[str, dict[str, object]]] = {}
    infos: set[str] = set()
    for sample in samples:
        if sample.name not in NODE_METRICS:
            continue
        missing = [k for k in (switch_label, "device") if k not in sample.metric]
        if sample.name == NODE_INFO and "operstate" not in sample.metric:
            missing.append("operstate")
        if missing:
            raise ParseError(
                f"{sample.name} series without the label(s) {', '.join(missing)} "
                f"(an exporter of another version, or a scrape job without `{switch_label}`?)"
            )
        switch, device = sample.metric[switch_label], sample.metric["device"]
        row = rows.setdefault(switch, {}).setdefault(device, {})
        if sample.name == NODE_INFO:
            row["state"] = sample.metric["operstate"]
            infos.add(switch)
        elif sample.name == NODE_SPEED:
            bps = _count(sample.value)
            row["speed_mbps"] = None if bps is None else bps * 8 // 1_000_000
        else:
            row[_FIELD[sample.name]] = _count(sample.value)
    out: dict[str, list[Interface]] = {}
    for switch, devices in rows.items():
        if switch not in infos:
            continue
        out[switch] = [
            Interface(
                name=device,
                state=str(row.get("state", "-")),
                speed_mbps=row.get("speed_mbps"),  # type: ignore[arg-type]
                **{field: row.get(field) for field, _ in NODE_COUNTERS},  # type: ignore[arg-type]
            )
            for device, row in sorted(devices.items())
        ]
    return out


def _count(value: float) -> int | None:
    """A gauge or counter as the kernel's whole number; None for what the kernel would not
    give (NaN, negative: a speed the driver does not know)."""
    if not math.isfinite(value) or value < 0:
        return None
    return round(value)


BIRD_UP = "bird_protocol_up"  # labels name, proto, state (BIRD's info column)
BIRD_SINCE = "bird_protocol_uptime"  # see above: BIRD 1.6's since-time of day, in seconds
BIRD_METRICS = (BIRD_UP, BIRD_SINCE)
_STARTING = frozenset({"Idle", "Connect", "Active", "OpenSent", "OpenConfirm"})


def bird_protocols(
    samples: Iterable[Sample], node_label: str = "node"
) -> dict[str, list[BirdProtocol]]:
    """Every node's BIRD protocols in `samples`, by name. A node whose exporter serves no
    bird_protocol_up (its BIRD not running) is left out: the caller names why."""
    ups: dict[str, dict[str, Sample]] = {}
    since: dict[tuple[str, str], float] = {}
    for sample in samples:
        if sample.name not in BIRD_METRICS:
            continue
        # `state` may be absent: Prometheus drops a label whose value is empty
        missing = [k for k in (node_label, "name", "proto") if k not in sample.metric]
        if missing:
            raise ParseError(
                f"{sample.name} series without the label(s) {', '.join(missing)} "
                f"(an exporter of another version, or a scrape job without `{node_label}`?)"
            )
        node, name = sample.metric[node_label], sample.metric["name"]
        if sample.name == BIRD_UP:
            ups.setdefault(node, {})[name] = sample
        else:
            since[(node, name)] = sample.value
    out: dict[str, list[BirdProtocol]] = {}
    for node, protocols in ups.items():
        out[node] = [
            _protocol(sample, since.get((node, name))) for name, sample in sorted(protocols.items())
        ]
    return out


def _protocol(up: Sample, since: float | None) -> BirdProtocol:
    info = " ".join(up.metric.get("state", "").split())
    starting = info.split(" ", 1)[0] in _STARTING
    state = "up" if up.value == 1 else "start" if starting else "down"
    return BirdProtocol(up.metric["name"], up.metric["proto"], "?", state, _clock(since), info)


def _clock(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds) or not 0 <= seconds < 86400:
        return "?"
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
