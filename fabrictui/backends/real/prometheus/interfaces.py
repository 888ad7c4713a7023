"""Every switch's interfaces from Prometheus (node exporter's netclass and netdev series), in
one round of queries shared by all switches, each failure named as what it is, as for the BGP
sessions (sessions.py, docs/telemetry.md).

A switch whose node exporter is down, that Prometheus has no target for, whose newest scrape is
stale, or whose exporter gives no node_network_info gets its failure in words (`leaf2: node
exporter down (connection refused), last good scrape 47 s ago`), never an interface list that
would draw its links down. Prometheus not answering raises PrometheusError (the caller falls
back to SSH).
"""

from __future__ import annotations

import time

from fabrictui.backends.real.prometheus.client import PrometheusClient, PrometheusError
from fabrictui.backends.real.prometheus.sessions import (
    LOOKBACK,
    STALE_AFTER_S,
    SWITCH_LABEL,
    _ago,
    _by_switch,
    _short,
)
from fabrictui.parsers import ParseError
from fabrictui.parsers.exporters import NODE_INFO, NODE_METRICS, node_interfaces
from fabrictui.parsers.interfaces import Interface

JOB = "node"  # the scrape job `lab up --telemetry` writes; a user's own setup names it the same

_NAMES = "|".join(("up", *NODE_METRICS))
INTERFACES_QUERY = f'{{job="{JOB}",__name__=~"{_NAMES}"}}'
SCRAPE_TIMES_QUERY = f'timestamp(up{{job="{JOB}"}})'
LAST_GOOD_QUERY = (
    f'max by ({SWITCH_LABEL}) (max_over_time(timestamp(up{{job="{JOB}"}} == 1)[{LOOKBACK}:2s]))'
)

Answer = list[Interface] | str  # the interfaces, or why there are none


class PrometheusInterfaces:
    def __init__(self, client: PrometheusClient, stale_after: float = STALE_AFTER_S) -> None:
        self.client = client
        self.stale_after = stale_after

    async def read_all(self, at: float | None = None) -> dict[str, Answer]:
        """Every switch Prometheus has a node exporter target for, as of `at` (None: now).
        Raises PrometheusError."""
        now = time.time() if at is None else at
        samples = await self.client.query(INTERFACES_QUERY, at)
        scraped = _by_switch(await self.client.query(SCRAPE_TIMES_QUERY, at))
        up = _by_switch(s for s in samples if s.name == "up")
        try:
            interfaces = node_interfaces(samples, SWITCH_LABEL)
        except ParseError as exc:
            raise PrometheusError(f"{self.client.url}: {exc}") from None
        last_good, errors = {}, {}
        if any(s.value != 1 for s in up.values()):
            last_good = _by_switch(await self.client.query(LAST_GOOD_QUERY, at))
            if at is None:  # the target's own last error, as Prometheus saw it
                for target in await self.client.targets():
                    name = target.labels.get(SWITCH_LABEL)
                    if target.labels.get("job") == JOB and name and target.last_error:
                        errors[name] = _short(target.last_error)
        answers: dict[str, Answer] = {}
        for name, sample in up.items():
            stamp = scraped[name].value if name in scraped else sample.timestamp
            if sample.value != 1:
                why = f"node exporter down ({errors[name]})" if name in errors else (
                    "node exporter down"
                )  # fmt: skip
                good = last_good.get(name)
                answers[name] = (
                    f"{name}: {why}, last good scrape {_ago(now - good.value)}"
                    if good is not None
                    else f"{name}: {why}, no good scrape in the last {LOOKBACK}"
                )
            elif now - stamp > self.stale_after:
                answers[name] = f"{name}: telemetry stale: last scrape {_ago(now - stamp)}"
            elif name not in interfaces:
                answers[name] = (
                    f"{name}: node exporter up, but no {NODE_INFO} series (its netclass "
                    "collector off, or an exporter whose metric names differ)"
                )
            else:
                answers[name] = interfaces[name]
        return answers

    @staticmethod
    def missing(name: str) -> str:
        return f"{name}: Prometheus has no node exporter target for it (job {JOB}, switch={name})"
