"""Every switch's BGP sessions from Prometheus (frr_exporter's series), in one round of
queries shared by all switches, each failure named as what it is (docs/telemetry.md).

A switch whose exporter is down, whose target Prometheus does not have, whose newest scrape is
stale, or whose exporter cannot reach bgpd gets a reading with `error` saying so (`leaf2: frr
exporter down (connection refused), last good scrape 47 s ago`) and no summary: never a session
shown down. Prometheus not answering, or answering an error, raises PrometheusError (the caller
falls back to SSH).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from fabrictui.backends.real.prometheus.client import PrometheusClient, PrometheusError
from fabrictui.model import SwitchReading
from fabrictui.parsers import ParseError
from fabrictui.parsers.promql import SESSION_METRICS, Sample, frr_sessions

JOB = "frr"  # the scrape job `lab up --telemetry` writes; a user's own setup names it the same
SWITCH_LABEL = "switch"
STALE_AFTER_S = 30.0  # a newest scrape older than this is stale (scrapes run every few seconds)
LOOKBACK = "15m"  # how far back the last good scrape of a down exporter is looked for
SOURCE = "prometheus"

_NAMES = "|".join(("up", "frr_collector_up", *SESSION_METRICS))
SESSIONS_QUERY = f'{{job="{JOB}",__name__=~"{_NAMES}"}}'
SCRAPE_TIMES_QUERY = f'timestamp(up{{job="{JOB}"}})'
LAST_GOOD_QUERY = (
    f'max by ({SWITCH_LABEL}) (max_over_time(timestamp(up{{job="{JOB}"}} == 1)[{LOOKBACK}:2s]))'
)


class PrometheusBgp:
    def __init__(self, client: PrometheusClient, stale_after: float = STALE_AFTER_S) -> None:
        self.client = client
        self.stale_after = stale_after

    async def read_all(
        self, switches: Iterable[str] = (), at: float | None = None
    ) -> dict[str, SwitchReading]:
        """The reading of every switch named and every switch Prometheus has a target for, as
        of `at` (None: now). Raises PrometheusError."""
        now = time.time() if at is None else at
        samples = await self.client.query(SESSIONS_QUERY, at)
        scraped = _by_switch(await self.client.query(SCRAPE_TIMES_QUERY, at))
        up = _by_switch(s for s in samples if s.name == "up")
        switches = sorted(set(switches) | set(up))
        try:
            sessions = frr_sessions(samples, SWITCH_LABEL)
        except ParseError as exc:
            raise PrometheusError(f"{self.client.url}: {exc}") from None
        down = [name for name in switches if name in up and up[name].value != 1]
        last_good: dict[str, Sample] = {}
        errors: dict[str, str] = {}
        if down:
            last_good = _by_switch(await self.client.query(LAST_GOOD_QUERY, at))
            if at is None:  # the target's own last error, as Prometheus saw it
                for target in await self.client.targets():
                    name = target.labels.get(SWITCH_LABEL)
                    if target.labels.get("job") == JOB and name and target.last_error:
                        errors[name] = _short(target.last_error)
        collectors = {
            s.metric.get(SWITCH_LABEL, ""): s.value
            for s in samples
            if s.name == "frr_collector_up" and s.metric.get("collector") == "bgp"
        }
        if at is not None and not up:  # nothing at all then: the history, not the targets
            why = (
                "no sample in Prometheus's history then (before its first scrape, or past its "
                "retention)"
            )
            return {name: SwitchReading(name, None, f"{name}: {why}", at, source=SOURCE)
                    for name in switches}  # fmt: skip
        readings = {}
        for name in switches:
            readings[name] = self._one(
                name, now, up.get(name), scraped.get(name), last_good.get(name),
                errors.get(name), collectors.get(name), sessions.get(name),
            )  # fmt: skip
        return readings

    def missing(self, name: str, at: float | None = None) -> SwitchReading:
        """The reading of a switch Prometheus has no target for."""
        now = time.time() if at is None else at
        return self._one(name, now, None, None, None, None, None, None)

    def _one(self, name, now, up, scraped, good, error, collector, sessions) -> SwitchReading:
        def failed(why: str, when: float) -> SwitchReading:
            return SwitchReading(name, None, f"{name}: {why}", when, source=SOURCE)

        if up is None:
            return failed(
                f"Prometheus has no frr exporter target for it (job {JOB}, {SWITCH_LABEL}={name})",
                now,
            )
        stamp = scraped.value if scraped is not None else up.timestamp
        if up.value != 1:
            why = f"frr exporter down ({error})" if error else "frr exporter down"
            if good is None:
                return failed(f"{why}, no good scrape in the last {LOOKBACK}", stamp)
            return failed(f"{why}, last good scrape {_ago(now - good.value)}", good.value)
        if now - stamp > self.stale_after:
            return failed(f"telemetry stale: last scrape {_ago(now - stamp)}", stamp)
        if collector is not None and collector != 1:
            return failed("frr exporter up, but it cannot read bgpd (collector failed)", stamp)
        if sessions is None:
            return failed(
                "frr exporter up, but no frr_bgp_peer_state series (no BGP session configured, "
                "or an exporter whose metric names differ)",
                stamp,
            )
        return SwitchReading(name, sessions.summary, None, sessions.sampled_at, source=SOURCE)


def _by_switch(samples: Iterable[Sample]) -> dict[str, Sample]:
    return {s.metric[SWITCH_LABEL]: s for s in samples if SWITCH_LABEL in s.metric}


def _ago(seconds: float) -> str:
    return f"{max(0, round(seconds))} s ago"


def _short(error: str) -> str:
    """`Get "http://...": dial tcp ...: connect: connection refused` -> `connection refused`."""
    return error.rsplit(": ", 1)[-1].strip()[:80] or error[:80]
