"""A report of the fabric as Prometheus's history had it at one time, without a recording
(`fabrictui report --at "10m ago" --prometheus URL`, docs/telemetry.md): every switch's BGP
sessions and interfaces, and in BGP mode every node's BIRD sessions, each read with the
instant queries the live source uses at `time=` then.

What could not be read at that time (an exporter down, no target, stale series) is said in
its words, never as a session or interface down. Prometheus not answering is the report's
failure (PrometheusError): history has no SSH to fall back on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from fabrictui.backends.real.prometheus.client import PrometheusClient
from fabrictui.backends.real.prometheus.exporters import BIRD, INTERFACES, ExporterReader
from fabrictui.backends.real.prometheus.sessions import PrometheusBgp
from fabrictui.model import SwitchReading
from fabrictui.report.moment import stamp
from fabrictui.report.render import Section

FABRIC_PORT = ("swp", "eth")  # the switch ports a report lists (lo, bridges, vxlan left out)


@dataclass
class History:
    url: str
    at: float
    lab: str  # the lab's own description, or the URL when no lab was named
    readings: dict[str, SwitchReading]  # switch -> its sessions or its error
    interfaces: dict[str, Any]  # switch -> list[Interface] or the words why not
    birds: dict[str, Any]  # node -> list[BirdProtocol] or the words why not


async def read_history(
    url: str,
    at: float,
    lab: str | None = None,
    switches: tuple[str, ...] = (),
    peer_names: dict[str, str] | None = None,
) -> History:
    """The three rounds of queries at `at`, together. Raises PrometheusError."""
    client = PrometheusClient(url)
    sessions, interfaces, birds = await asyncio.gather(
        PrometheusBgp(client).read_all(switches, at),
        ExporterReader(client, INTERFACES).read_all(at),
        ExporterReader(client, BIRD).read_all(at),
    )
    names = peer_names or {}
    for name, reading in sessions.items():
        if reading.summary is not None:  # peers named from the lab, as the live pane names them
            peers = tuple(
                replace(p, hostname=p.hostname or names.get(p.neighbor))
                for p in reading.summary.peers
            )
            sessions[name] = replace(reading, summary=replace(reading.summary, peers=peers))
    about = lab or "no lab named: every switch and node Prometheus has targets for"
    return History(client.url, at, about, dict(sorted(sessions.items())), interfaces, birds)


def _ago(history: History, t: float) -> str:
    return f"{max(0, round(history.at - t))} s before"


def sections(h: History) -> list[Section]:
    out = [
        Section(
            "Source",
            lines=(
                h.lab,
                f"Prometheus {h.url}, instant queries at {stamp(h.at)} (no recording)",
                f"this report: the fabric as Prometheus had it at {stamp(h.at)}",
            ),
        )
    ]
    rows, errors = [], []
    for switch, reading in h.readings.items():
        if reading.summary is None:
            errors.append(reading.error or f"{switch}: no answer")
            continue
        for p in reading.summary.peers:
            rows.append(
                (switch, p.neighbor, p.hostname or "", str(p.remote_as or ""), p.state, p.uptime,
                 "" if p.prefixes_received is None else str(p.prefixes_received),
                 _ago(h, reading.fetched_at))
            )  # fmt: skip
    out.append(
        Section(
            "Fabric: BGP sessions",
            ("switch", "neighbor", "peer", "AS", "state", "up/down", "prefixes", "sample"),
            tuple(rows),
            tuple(errors) or ("every switch read",),
        )
    )
    rows, errors = [], []
    for switch, answer in sorted(h.interfaces.items()):
        if isinstance(answer, str):
            errors.append(answer)
            continue
        for i in answer:
            if not i.name.startswith(FABRIC_PORT):
                continue
            rows.append(
                (switch, i.name, i.state, "-" if i.speed_mbps is None else str(i.speed_mbps),
                 "-" if i.mtu is None else str(i.mtu), str(i.errors),
                 str((i.rx_dropped or 0) + (i.tx_dropped or 0)),
                 "-" if i.carrier_changes is None else str(i.carrier_changes))
            )  # fmt: skip
    out.append(
        Section(
            "Fabric: switch ports",
            ("switch", "port", "state", "Mb/s", "MTU", "errors", "drops", "carrier changes"),
            tuple(rows),
            tuple(errors) or (("every switch read",) if rows else ("no node exporter sample",)),
        )
    )
    rows, errors = [], []
    for node, answer in sorted(h.birds.items()):
        if isinstance(answer, str):
            errors.append(answer)
            continue
        for p in answer:
            if p.proto == "BGP":
                rows.append((node, p.name, p.state, p.since, p.info))
    if rows or any("bird exporter down" in e for e in errors):
        out.append(
            Section(
                "Nodes: BIRD sessions (Calico BGP mode)",
                ("node", "protocol", "state", "since", "info"),
                tuple(rows),
                tuple(errors),
            )
        )
    else:  # VXLAN mode then: no BIRD ran, and that is no problem
        out.append(Section("Nodes: BIRD sessions", lines=("no node ran BIRD (not in BGP mode)",)))
    return out


def title(h: History) -> str:
    return f"fabrictui report: the fabric at {stamp(h.at)} (from Prometheus)"
