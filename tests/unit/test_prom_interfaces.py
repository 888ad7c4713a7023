"""Switch interfaces (node exporter) and nodes' BIRD protocols (bird exporter) from
Prometheus, on answers saved from a real Prometheus scraping the real exporters of a rehearsal
lab (tests/data/prometheus/README.md), equal to what SSH read then, and each failure named as
what it is."""

from __future__ import annotations

import asyncio
import re

import pytest

from fabrictui.backends.base import BackendError
from fabrictui.backends.real.prometheus.exporters import (
    BIRD,
    INTERFACES,
    ExporterKind,
    ExporterReader,
)
from fabrictui.backends.real.prometheus.mixin import PrometheusTelemetry
from fabrictui.parsers import ParseError
from fabrictui.parsers.bird import BirdProtocol, parse_protocols
from fabrictui.parsers.exporters import bird_protocols, node_interfaces
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


def _bgp(protocols: list[BirdProtocol]) -> list[tuple[str, str, str, str]]:
    """What both sources carry of the BGP protocols (the exporter has no table)."""
    rows = [(p.name, p.state, p.since, p.info) for p in protocols if p.proto == "BGP"]
    return sorted(rows)


def test_bird_protocols_from_the_real_exporter_equal_those_over_ssh() -> None:
    found = bird_protocols(parse_query(_read("bird_sessions.json")))
    assert len(found) == 5 and all(len(_bgp(p)) == 1 for p in found.values())
    node = found["k8s-node-l2-1"]
    assert _bgp(node) == _bgp(parse_protocols(_read("birdcl_k8s-node-l2-1.txt")))
    assert next(p for p in node if p.proto == "BGP").established
    faults = bird_protocols(parse_query(_read("bird_sessions_faults.json")))
    for name in ("k8s-node-l2-1", "k8s-node-l2-2"):  # disabled; a neighbor nobody has
        over_ssh = parse_protocols(_read(f"birdcl_faults_{name}.txt"))
        assert _bgp(faults[name]) == _bgp(over_ssh)
    assert _bgp(faults["k8s-node-l2-2"])[0][1:] == (
        "start", "16:51:24", "Connect Socket: No route to host"
    )  # fmt: skip
    assert "k8s-node-l1-2" not in faults  # its BIRD killed: no series (named by the reader)


def test_series_without_the_labels_relied_on_are_named() -> None:
    info = Sample({"__name__": "node_network_info", "switch": "leaf1", "device": "swp1"}, 1, 1)
    with pytest.raises(ParseError, match=r"node_network_info series without the label\(s\) oper"):
        node_interfaces([info])
    mtu = Sample({"__name__": "node_network_mtu_bytes", "device": "swp1"}, 1.0, 9216.0)
    with pytest.raises(ParseError, match=r"without the label\(s\) switch"):
        node_interfaces([mtu])
    # counters without node_network_info: not the exporter relied on, left for the caller
    assert node_interfaces([Sample({**mtu.metric, "switch": "leaf1"}, 1.0, 9216.0)]) == {}
    up = Sample({"__name__": "bird_protocol_up", "node": "n1", "name": "Node_10_0_0_1"}, 1, 1)
    with pytest.raises(ParseError, match=r"bird_protocol_up series without the label\(s\) proto"):
        bird_protocols([up])


class SavedPrometheus:
    """Answers from the saved files, by query (the client's interface)."""

    url = "http://127.0.0.1:9"

    def __init__(self, kind: ExporterKind, suffix: str = "", drop: str = "") -> None:
        prefix = "interface" if kind is INTERFACES else "bird"
        self.files = {
            kind.series_query: ("interfaces" if kind is INTERFACES else "bird_sessions") + suffix,
            kind.scrape_times_query: f"{prefix}_scrape_times{suffix}",
            kind.last_good_query: f"{prefix}_last_good{suffix}",
        }
        self.targets_file = ("node_targets" if kind is INTERFACES else "bird_targets") + suffix
        self.drop = drop

    async def query(self, promql: str, at: float | None = None) -> list[Sample]:
        samples = parse_query(_read(self.files[promql] + ".json"))
        return [s for s in samples if not self.drop or s.name != self.drop]

    async def targets(self):
        return parse_targets(_read(self.targets_file + ".json"))


def _answers(kind: ExporterKind, suffix: str = "", at: float | None = None, drop: str = ""):
    reader = ExporterReader(SavedPrometheus(kind, suffix, drop), kind)  # type: ignore[arg-type]
    return asyncio.run(reader.read_all(at))


def test_exporter_down_is_named_never_as_interfaces_or_sessions_down() -> None:
    answers = _answers(INTERFACES, "_leaf2_exporter_down", at=1796661937.492 + 10)
    assert answers["leaf2"] == "leaf2: node exporter down, last good scrape 15 s ago"
    assert isinstance(answers["leaf1"], list)
    live = _answers(INTERFACES, "_leaf2_exporter_down")["leaf2"]  # the target's last error
    assert re.fullmatch(
        r"leaf2: node exporter down \(connection refused\), last good scrape \d+ s ago", live
    )
    birds = _answers(BIRD, "_faults", at=1796662291.951 + 1)
    assert re.fullmatch(
        r"k8s-master-l1-1: bird exporter down, last good scrape \d s ago", birds["k8s-master-l1-1"]
    )
    assert birds["k8s-node-l1-2"].startswith(
        "k8s-node-l1-2: bird exporter up, but no bird_protocol_up series (BIRD not running"
    )
    assert isinstance(birds["k8s-node-l2-1"], list)


def test_stale_and_renamed_series_are_named() -> None:
    assert isinstance(_answers(INTERFACES, at=SCRAPED + 1)["leaf1"], list)
    stale = _answers(INTERFACES, at=SCRAPED + 300)["leaf1"]
    assert re.fullmatch(r"leaf1: telemetry stale: last scrape 30\d s ago", stale)
    renamed = _answers(INTERFACES, at=SCRAPED + 1, drop="node_network_info")["leaf1"]
    assert renamed.startswith("leaf1: node exporter up, but no node_network_info series")


class SshBase:
    async def switch_interfaces(self, switch: str) -> list[Interface]:
        return [Interface("swp51", "up", 1000, 9216, 0, 0, 0, 0, 1)]

    async def node_bgp_status(self, node: str) -> list[BirdProtocol]:
        return [BirdProtocol("Node_10_0_101_1", "BGP", "master", "up", "10:00:00", "Established")]


class Backend(PrometheusTelemetry, SshBase):
    """The mixin before the bases that read over SSH, as in RealLabBackend."""


def test_the_backend_reads_prometheus_and_falls_back_to_ssh() -> None:
    backend = Backend()
    assert asyncio.run(backend.switch_interfaces("leaf1"))[0].mtu == 9216  # none set: SSH
    backend.use_prometheus("http://127.0.0.1:1")  # loopback, nothing listens: SSH
    assert asyncio.run(backend.switch_interfaces("leaf1"))[0].mtu == 9216
    assert asyncio.run(backend.node_bgp_status("n1"))[0].table == "master"
    backend.use_prometheus("http://127.0.0.1:1", at=1000.0)  # history: no SSH to fall back on
    with pytest.raises(BackendError, match="not answering"):
        asyncio.run(backend.switch_interfaces("leaf1"))
    backend.use_prometheus("http://127.0.0.1:1", at=1796662292.9)  # as of the saved answers
    assert backend._exporters is not None
    backend._exporters["node"].client = SavedPrometheus(INTERFACES, "_leaf2_exporter_down")  # type: ignore[assignment]
    backend._exporters["bird"].client = SavedPrometheus(BIRD, "_faults")  # type: ignore[assignment]
    with pytest.raises(BackendError, match="leaf2: node exporter down"):
        asyncio.run(backend.switch_interfaces("leaf2"))
    with pytest.raises(BackendError, match="leaf9: Prometheus has no node exporter target"):
        asyncio.run(backend.switch_interfaces("leaf9"))
    with pytest.raises(
        BackendError, match=r"n9: Prometheus has no bird exporter target for it .job bird"
    ):
        asyncio.run(backend.node_bgp_status("n9"))
    (bgp,) = [p for p in asyncio.run(backend.node_bgp_status("k8s-node-l2-2")) if p.proto == "BGP"]
    assert (bgp.state, bgp.table) == ("start", "?")


def test_a_time_before_any_sample_is_named_as_such() -> None:
    from fabrictui.backends.real.prometheus.sessions import PrometheusBgp

    class Empty:
        url = "http://127.0.0.1:9"

        async def query(self, promql: str, at: float | None = None) -> list[Sample]:
            return []  # what Prometheus answers for a time before its first scrape

    readings = asyncio.run(PrometheusBgp(Empty()).read_all(["leaf1"], at=1000.0))  # type: ignore[arg-type]
    assert readings["leaf1"].summary is None
    assert readings["leaf1"].error == (
        "leaf1: no sample in Prometheus's history then (before its first scrape, or past its "
        "retention)"
    )
    live = asyncio.run(PrometheusBgp(Empty()).read_all(["leaf1"]))  # type: ignore[arg-type]
    assert "no frr exporter target" in live["leaf1"].error  # now: the targets are the cause


async def test_verify_counts_a_bird_exporter_down_as_not_seen_never_as_a_fault() -> None:
    from fabrictui.actions.progress import ignore
    from fabrictui.actions.verify.run import verify
    from fabrictui.backends.base import TelemetryCut
    from tests.demo_helpers import fast_backend

    lab = fast_backend("ready-bgp")
    await lab.start()
    try:
        own = lab.node_bgp_status
        answer = {"k8s-node-l2-1": TelemetryCut("k8s-node-l2-1: bird exporter down")}

        async def status(node: str):
            if node in answer:
                raise answer[node]
            return await own(node)

        lab.node_bgp_status = status  # type: ignore[method-assign]
        results = {r.name: r for r in await verify(lab, ignore)}
        nodes = results["node BGP sessions"]
        assert nodes.passed and nodes.unseen == (
            "k8s-node-l2-1: BIRD not seen (k8s-node-l2-1: bird exporter down)",
        )
        # BIRD itself not answering (as over SSH, or its exporter up without its series) fails
        answer["k8s-node-l2-1"] = BackendError("k8s-node-l2-1: bird exporter up, but no ...")
        results = {r.name: r for r in await verify(lab, ignore)}
        assert not results["node BGP sessions"].passed
        assert "BIRD not readable" in (results["node BGP sessions"].cause or "")
    finally:
        await lab.close()
