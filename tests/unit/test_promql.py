"""PromQL answers -> sessions, on answers saved from a real Prometheus scraping the real FRR
exporter (tests/data/prometheus/README.md), and how each failure is named."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from fabrictui.backends.real.prometheus.client import PrometheusError, check_url
from fabrictui.backends.real.prometheus.mixin import PrometheusTelemetry
from fabrictui.backends.real.prometheus.sessions import (
    LAST_GOOD_QUERY,
    SCRAPE_TIMES_QUERY,
    SESSIONS_QUERY,
    PrometheusBgp,
)
from fabrictui.commands.fabric.bgp import parse_at
from fabrictui.model import BgpSummary, SwitchReading
from fabrictui.parsers import ParseError
from fabrictui.parsers.promql import frr_sessions, parse_query, parse_targets, rfc3339
from tests._paths import TEST_DATA

DATA = TEST_DATA / "prometheus"


def _read(name: str) -> str:
    return (DATA / name).read_text()


def test_sessions_of_every_switch_from_the_real_exporter() -> None:
    sessions = frr_sessions(parse_query(_read("sessions.json")))
    assert sorted(sessions) == ["leaf1", "leaf2", "spine-sw1", "spine-sw2"]
    leaf1 = sessions["leaf1"].summary
    assert leaf1.local_as == 65101
    assert [(p.neighbor, p.remote_as, p.state) for p in leaf1.peers] == [
        ("172.16.0.0", 65001, "Established"),
        ("172.16.0.4", 65002, "Established"),
    ]
    assert all(p.prefixes_received == 1 for p in leaf1.peers)
    assert [p.prefixes_received for p in sessions["spine-sw2"].summary.peers] == [2, 2]
    # the uptime as FRR prints it, and the sample's own time (the scrape's)
    assert all(p.uptime.count(":") == 2 for p in leaf1.peers)
    assert sessions["leaf1"].sampled_at == pytest.approx(1796652141.091)


def test_prometheus_error_answer_is_named_in_its_words() -> None:
    with pytest.raises(ParseError, match="bad_data: invalid parameter"):
        parse_query(_read("bad_query.json"))


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("<html><body>frr exporter</body></html>", "not a Prometheus API answer"),
        ('{"status":"success","data":{"resultType":"matrix","result":[]}}', "'matrix'"),
        ('{"status":"success","data":{"resultType":"vector","result":[{"metric":{},'
         '"value":[1,"x"]}]}}', "not a number"),
        ("[]", "no `status`"),
    ],
)  # fmt: skip
def test_what_is_not_a_query_answer(body: str, words: str) -> None:
    with pytest.raises(ParseError, match=words):
        parse_query(body)


def test_series_without_the_labels_relied_on_are_named() -> None:
    doc = json.loads(_read("sessions.json"))
    for item in doc["data"]["result"]:
        item["metric"].pop("peer", None)
    with pytest.raises(ParseError, match=r"without the label.*peer"):
        frr_sessions(parse_query(json.dumps(doc)))


def test_targets_with_their_last_error() -> None:
    targets = {
        t.labels["switch"]: t for t in parse_targets(_read("targets_leaf2_exporter_down.json"))
    }
    assert targets["leaf2"].health == "down"
    assert targets["leaf2"].last_error.endswith("connection refused")
    assert targets["leaf1"].health == "up" and targets["leaf1"].last_scrape is not None


def test_rfc3339_with_nanoseconds() -> None:
    assert rfc3339("2026-12-07T14:02:34.579095208Z") == pytest.approx(1796652154.579095)
    assert rfc3339("0001-01-01T00:00:00Z") is None
    with pytest.raises(ParseError):
        rfc3339("yesterday")


class SavedPrometheus:
    """Answers from the saved files, by query (the client's interface)."""

    url = "http://127.0.0.1:9"

    def __init__(self, suffix: str = "") -> None:
        self.files = {
            SESSIONS_QUERY: f"sessions{suffix}.json",
            SCRAPE_TIMES_QUERY: f"scrape_times{suffix}.json",
            LAST_GOOD_QUERY: f"last_good{suffix}.json",
        }
        self.suffix = suffix

    async def query(self, promql: str, at: float | None = None):
        return parse_query(_read(self.files[promql]))

    async def targets(self):
        return parse_targets(_read(f"targets{self.suffix}.json"))


def _readings(suffix: str, at: float):
    source = PrometheusBgp(SavedPrometheus(suffix))  # type: ignore[arg-type]
    return asyncio.run(source.read_all(["leaf1", "leaf3"], at=at))


def test_exporter_down_is_named_never_as_sessions_down() -> None:
    readings = _readings("_leaf2_exporter_down", at=1796652150.3 + 20)
    leaf2 = readings["leaf2"]
    assert leaf2.summary is None  # no session shown, up or down
    assert leaf2.error == "leaf2: frr exporter down, last good scrape 24 s ago"
    assert leaf2.source == "prometheus"
    assert readings["leaf3"].error.startswith("leaf3: Prometheus has no frr exporter target")
    assert readings["leaf1"].summary is not None
    # live (not --at): the target's own last error, as Prometheus saw it
    source = PrometheusBgp(SavedPrometheus("_leaf2_exporter_down"))  # type: ignore[arg-type]
    live = asyncio.run(source.read_all(["leaf2"]))["leaf2"]
    assert re.fullmatch(
        r"leaf2: frr exporter down \(connection refused\), last good scrape \d+ s ago", live.error
    )


def test_fresh_and_stale_samples() -> None:
    fresh = _readings("", at=1796652142.0)
    assert fresh["leaf1"].error is None and fresh["leaf1"].summary is not None
    assert fresh["leaf1"].fetched_at == pytest.approx(1796652141.091)  # the sample's time
    stale = _readings("", at=1796652141.0 + 300)
    assert stale["leaf1"].summary is None
    assert stale["leaf1"].error.startswith("leaf1: telemetry stale: last scrape 301 s ago")


def test_urls_and_times_the_user_types() -> None:
    assert check_url("http://127.0.0.1:9090/") == "http://127.0.0.1:9090"
    with pytest.raises(PrometheusError, match="not an http"):
        check_url("127.0.0.1:9090")
    assert parse_at("10m ago", now=1000.0) == 400.0
    assert parse_at("2026-12-07T14:00:00Z", now=1796652150.0) == 1796652000.0
    for bad in ("yesterday", "2026-12-07T14:00:00", "2099-01-01T00:00:00Z"):
        with pytest.raises(ValueError, match="--at"):
            parse_at(bad, now=1796652150.0)


class OverSsh(PrometheusTelemetry):
    async def ssh_bgp_summary(self, switch: str) -> SwitchReading:
        return SwitchReading(switch, BgpSummary("10.0.0.1", 65101, ()), None, 1.0)


def test_prometheus_not_answering_falls_back_to_ssh_and_says_so() -> None:
    backend = OverSsh()
    assert asyncio.run(backend.bgp_summary("leaf1")).source == "ssh"  # none set
    backend.use_prometheus("http://127.0.0.1:1")  # loopback, nothing listens
    reading = asyncio.run(backend.bgp_summary("leaf1"))
    assert reading.summary is not None
    assert reading.source.startswith(
        "ssh (Prometheus failed: Prometheus at http://127.0.0.1:1 not answering"
    )
    backend.use_prometheus("http://127.0.0.1:1", at=1000.0)  # history: no SSH to fall back on
    with pytest.raises(PrometheusError, match="not answering"):
        asyncio.run(backend.bgp_summary("leaf1"))


def test_an_exporter_whose_metric_names_differ() -> None:
    class Renamed(SavedPrometheus):
        async def query(self, promql: str, at: float | None = None):
            samples = await super().query(promql, at)
            return [s for s in samples if s.name != "frr_bgp_peer_state" or s.metric["switch"]
                    != "leaf1"] if promql == SESSIONS_QUERY else samples  # fmt: skip

    source = PrometheusBgp(Renamed(""))  # type: ignore[arg-type]
    words = re.escape("leaf1 172.16.0.0: no frr_bgp_peer_state series")
    with pytest.raises(PrometheusError, match=words):
        asyncio.run(source.read_all(at=1796652142.0))

    class Silent(SavedPrometheus):
        async def query(self, promql: str, at: float | None = None):
            samples = await super().query(promql, at)
            keep = ("up", "frr_collector_up")
            return [s for s in samples if s.name in keep or s.metric.get("switch") != "leaf1"]

    leaf1 = asyncio.run(PrometheusBgp(Silent("")).read_all(at=1796652142.0))["leaf1"]  # type: ignore[arg-type]
    assert leaf1.summary is None
    assert leaf1.error.startswith("leaf1: frr exporter up, but no frr_bgp_peer_state series")
