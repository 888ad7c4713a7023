"""Switch interfaces from Prometheus (node exporter's netclass and netdev series), on answers
saved from a real Prometheus scraping real node exporters in a rehearsal lab's switch
namespaces (tests/data/prometheus/README.md), and each failure named as what it is."""

from __future__ import annotations

import asyncio
import re

import pytest

from fabrictui.backends.base import BackendError
from fabrictui.backends.real.prometheus.interfaces import (
    INTERFACES_QUERY,
    LAST_GOOD_QUERY,
    SCRAPE_TIMES_QUERY,
    PrometheusInterfaces,
)
from fabrictui.backends.real.prometheus.mixin import PrometheusTelemetry
from fabrictui.parsers import ParseError
from fabrictui.parsers.exporters import node_interfaces
from fabrictui.parsers.interfaces import Interface, parse_interfaces
from fabrictui.parsers.promql import Sample, parse_query, parse_targets
from tests._paths import TEST_DATA

DATA = TEST_DATA / "prometheus"
SCRAPED = 1796661926.7  # leaf1's scrape in interface_scrape_times.json
# what INTERFACES_SCRIPT printed over SSH on leaf1 of the same lab at the same moment
LEAF1_OVER_SSH = """\
br0 up 10000 1500 0 0 0 0 2
lo unknown - 65536 0 0 0 0 0
swp1 up 10000 1500 0 0 0 0 2
swp2 up 10000 1500 0 0 0 0 2
swp3 down - 1500 0 0 0 0 3
swp51 up 10000 1500 0 0 0 0 2
swp52 up 10000 1500 0 0 0 0 2
"""


def _read(name: str) -> str:
    return (DATA / name).read_text()


def test_interfaces_from_the_real_node_exporter_equal_those_over_ssh() -> None:
    found = node_interfaces(parse_query(_read("interfaces.json")))
    assert sorted(found) == ["leaf1", "leaf2", "spine-sw1", "spine-sw2"]
    assert found["leaf1"] == parse_interfaces(LEAF1_OVER_SSH)
    swp3 = next(i for i in found["leaf1"] if i.name == "swp3")
    assert (swp3.state, swp3.speed_mbps, swp3.carrier_changes) == ("down", None, 3)
    assert [i.name for i in found["spine-sw1"] if i.name.startswith("swp")] == ["swp1", "swp2"]


def test_series_without_the_labels_relied_on_are_named() -> None:
    info = Sample({"__name__": "node_network_info", "switch": "leaf1", "device": "swp1"}, 1, 1)
    with pytest.raises(ParseError, match=r"node_network_info series without the label\(s\) operst"):
        node_interfaces([info])
    mtu = Sample({"__name__": "node_network_mtu_bytes", "device": "swp1"}, 1.0, 9216.0)
    with pytest.raises(ParseError, match=r"without the label\(s\) switch"):
        node_interfaces([mtu])
    # counters without node_network_info: not the exporter relied on, left for the caller
    assert node_interfaces([replace_switch(mtu)]) == {}


def replace_switch(sample: Sample) -> Sample:
    return Sample({**sample.metric, "switch": "leaf1"}, sample.timestamp, sample.value)


class SavedPrometheus:
    """Answers from the saved files, by query (the client's interface)."""

    url = "http://127.0.0.1:9"

    def __init__(self, suffix: str = "", drop: str = "") -> None:
        self.files = {
            INTERFACES_QUERY: f"interfaces{suffix}.json",
            SCRAPE_TIMES_QUERY: f"interface_scrape_times{suffix}.json",
            LAST_GOOD_QUERY: f"interface_last_good{suffix}.json",
        }
        self.suffix, self.drop = suffix, drop

    async def query(self, promql: str, at: float | None = None) -> list[Sample]:
        samples = parse_query(_read(self.files[promql]))
        return [s for s in samples if not self.drop or s.name != self.drop]

    async def targets(self):
        return parse_targets(_read(f"node_targets{self.suffix}.json"))


def _answers(suffix: str = "", at: float | None = None, drop: str = ""):
    source = PrometheusInterfaces(SavedPrometheus(suffix, drop))  # type: ignore[arg-type]
    return asyncio.run(source.read_all(at))


def test_exporter_down_is_named_never_as_interfaces_down() -> None:
    answers = _answers("_leaf2_exporter_down", at=1796661937.492 + 10)
    assert answers["leaf2"] == "leaf2: node exporter down, last good scrape 15 s ago"
    assert isinstance(answers["leaf1"], list)
    live = _answers("_leaf2_exporter_down")["leaf2"]  # live: the target's own last error
    assert re.fullmatch(
        r"leaf2: node exporter down \(connection refused\), last good scrape \d+ s ago", live
    )


def test_stale_and_renamed_series_are_named() -> None:
    assert isinstance(_answers(at=SCRAPED + 1)["leaf1"], list)
    stale = _answers(at=SCRAPED + 300)["leaf1"]
    assert re.fullmatch(r"leaf1: telemetry stale: last scrape 30\d s ago", stale)
    renamed = _answers(at=SCRAPED + 1, drop="node_network_info")["leaf1"]
    assert renamed.startswith("leaf1: node exporter up, but no node_network_info series")


class OverSsh(PrometheusTelemetry):
    """The mixin before a base whose switch_interfaces reads over SSH, as in RealLabBackend."""


class SshBase:
    async def switch_interfaces(self, switch: str) -> list[Interface]:
        return [Interface("swp51", "up", 1000, 9216, 0, 0, 0, 0, 1)]


class Backend(OverSsh, SshBase):
    pass


def test_the_backend_reads_prometheus_and_falls_back_to_ssh() -> None:
    backend = Backend()
    assert asyncio.run(backend.switch_interfaces("leaf1"))[0].mtu == 9216  # none set: SSH
    backend.use_prometheus("http://127.0.0.1:1")  # loopback, nothing listens: SSH
    assert asyncio.run(backend.switch_interfaces("leaf1"))[0].mtu == 9216
    backend.use_prometheus("http://127.0.0.1:1", at=1000.0)  # history: no SSH to fall back on
    with pytest.raises(BackendError, match="not answering"):
        asyncio.run(backend.switch_interfaces("leaf1"))
    backend.use_prometheus("http://127.0.0.1:1")
    backend._interfaces.client = SavedPrometheus("_leaf2_exporter_down")  # type: ignore
    with pytest.raises(BackendError, match="leaf2: node exporter down"):
        asyncio.run(backend.switch_interfaces("leaf2"))
    with pytest.raises(BackendError, match="leaf9: Prometheus has no node exporter target"):
        asyncio.run(backend.switch_interfaces("leaf9"))
