"""A switch's interfaces (node exporter) and a node's BIRD protocols (bird exporter) from
Prometheus, in one round of queries per kind shared by every host of a refresh, each failure
named as what it is, as for the BGP sessions (sessions.py, docs/telemetry.md).

A host whose exporter is down, that Prometheus has no target for, whose newest scrape is stale,
or whose exporter serves none of the series relied on gets its failure in words (`leaf2: node
exporter down (connection refused), last good scrape 47 s ago`), never a reading that would
show its links or sessions down. Prometheus not answering raises PrometheusError (the caller
falls back to SSH).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fabrictui.backends.real.prometheus.client import PrometheusClient, PrometheusError
from fabrictui.backends.real.prometheus.sessions import LOOKBACK, STALE_AFTER_S, _ago, _short
from fabrictui.parsers import ParseError
from fabrictui.parsers.exporters import (
    BIRD_METRICS,
    BIRD_UP,
    NODE_INFO,
    NODE_METRICS,
    bird_protocols,
    node_interfaces,
)
from fabrictui.parsers.promql import Sample


class Cut(str):
    """An answer saying the telemetry could not see the host (exporter down, no target,
    stale, or the series relied on missing where that means the exporter, not the host)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class ExporterKind:
    """What one kind of exporter is to fabrictui: its scrape job, the label naming the host,
    the series read, how they are read, and the words for an exporter up without them."""

    exporter: str  # "node exporter"
    job: str
    label: str  # "switch", "node"
    metrics: tuple[str, ...]
    parse: Callable[[list[Sample], str], dict[str, Any]]
    no_series: str  # why an exporter that is up can serve none of them
    no_series_is_cut: bool  # that says nothing of the host (interfaces), or it does (BIRD)

    @property
    def series_query(self) -> str:
        return f'{{job="{self.job}",__name__=~"{"|".join(("up", *self.metrics))}"}}'

    @property
    def scrape_times_query(self) -> str:
        return f'timestamp(up{{job="{self.job}"}})'

    @property
    def last_good_query(self) -> str:
        return (
            f'max by ({self.label}) (max_over_time(timestamp(up{{job="{self.job}"}} == 1)'
            f"[{LOOKBACK}:2s]))"
        )

    def missing(self, name: str) -> str:
        return Cut(
            f"{name}: Prometheus has no {self.exporter} target for it "
            f"(job {self.job}, {self.label}={name})"
        )


INTERFACES = ExporterKind(
    "node exporter", "node", "switch", NODE_METRICS, node_interfaces,
    f"no {NODE_INFO} series (its netclass collector off, or an exporter whose metric names "
    "differ)", True,
)  # fmt: skip
BIRD = ExporterKind(
    "bird exporter", "bird", "node", BIRD_METRICS, bird_protocols,
    f"no {BIRD_UP} series (BIRD not running: Calico not in BGP mode, or calico-node down; or "
    "an exporter whose metric names differ)", False,
)  # fmt: skip


class ExporterReader:
    def __init__(
        self, client: PrometheusClient, kind: ExporterKind, stale_after: float = STALE_AFTER_S
    ) -> None:
        self.client = client
        self.kind = kind
        self.stale_after = stale_after

    async def read_all(self, at: float | None = None) -> dict[str, Any]:
        """Every host Prometheus has a target of this kind for, as of `at` (None: now): its
        reading, or a string saying why there is none. Raises PrometheusError."""
        kind, label = self.kind, self.kind.label
        now = time.time() if at is None else at
        samples = await self.client.query(kind.series_query, at)
        scraped = _by(label, await self.client.query(kind.scrape_times_query, at))
        up = _by(label, (s for s in samples if s.name == "up"))
        try:
            readings = kind.parse(samples, label)
        except ParseError as exc:
            raise PrometheusError(f"{self.client.url}: {exc}") from None
        last_good: dict[str, Sample] = {}
        errors: dict[str, str] = {}
        if any(s.value != 1 for s in up.values()):
            last_good = _by(label, await self.client.query(kind.last_good_query, at))
            if at is None:  # the target's own last error, as Prometheus saw it
                for target in await self.client.targets():
                    name = target.labels.get(label)
                    if target.labels.get("job") == kind.job and name and target.last_error:
                        errors[name] = _short(target.last_error)
        answers: dict[str, Any] = {}
        for name, sample in up.items():
            stamp = scraped[name].value if name in scraped else sample.timestamp
            if sample.value != 1:
                why = f"{kind.exporter} down" + (f" ({errors[name]})" if name in errors else "")
                good = last_good.get(name)
                answers[name] = Cut(
                    f"{name}: {why}, last good scrape {_ago(now - good.value)}"
                    if good is not None
                    else f"{name}: {why}, no good scrape in the last {LOOKBACK}"
                )
            elif now - stamp > self.stale_after:
                answers[name] = Cut(f"{name}: telemetry stale: last scrape {_ago(now - stamp)}")
            elif name not in readings:
                words = f"{name}: {kind.exporter} up, but {kind.no_series}"
                answers[name] = Cut(words) if kind.no_series_is_cut else words
            else:
                answers[name] = readings[name]
        return answers


def _by(label: str, samples: Iterable[Sample]) -> dict[str, Sample]:
    return {s.metric[label]: s for s in samples if label in s.metric}
