"""The path MTU search against paths whose MTU is known: it finds the edge exactly, uses a
reported MTU when there is one, and never calls a path that carries nothing an MTU fault."""

from __future__ import annotations

import asyncio

import pytest

from fabrictui.actions.mtu.result import Culprit, MtuResult, SizeProbe
from fabrictui.actions.mtu.search import MAX_PROBES, search
from fabrictui.actions.mtu.where import culprit
from fabrictui.actions.trace.model import REQUEST, ObservationPoint, PointKind
from fabrictui.model import Verdict


def path(mtu: int | None, reporter: str | None = None, dead: bool = False):
    """A probe function for a path whose packets above `mtu` bytes die."""
    sent: list[int] = []

    async def probe(size: int) -> SizeProbe:
        sent.append(size)
        crossed = not dead and (mtu is None or size + 28 <= mtu)
        told = mtu if not crossed and reporter and mtu and size + 28 > mtu else None
        return SizeProbe(size, crossed, True, told, reporter if told else None)

    return probe, sent


def run(probe, full: int = 1422):
    return asyncio.run(search(probe, full, lambda: "no ping"))


@pytest.mark.parametrize("mtu", [1400, 1351, 1450, 576, 1280, 85])
def test_the_edge_is_found_exactly_by_bisection(mtu: int) -> None:
    probe, sent = path(mtu)
    found = run(probe)
    if mtu >= 1450:
        assert (found.largest_ok, found.smallest_dead, sent) == (1422, None, [1422])
        return
    assert found.largest_ok == mtu - 28 and found.smallest_dead == mtu - 27
    assert len(sent) <= MAX_PROBES


def test_a_reported_mtu_is_tried_first_and_settles_it_in_two_more_probes() -> None:
    probe, sent = path(1400, reporter="10.0.1.1")
    found = run(probe, 1472)
    assert (found.largest_ok, found.smallest_dead) == (1372, 1373)
    assert sent == [1472, 56, 1372, 1373]
    assert (found.reported_mtu, found.reported_by) == (1400, "10.0.1.1")


def test_a_path_that_carries_nothing_is_not_an_mtu_answer() -> None:
    probe, sent = path(None, dead=True)
    found = run(probe)
    assert found.largest_ok is None and found.smallest_dead == 56 and sent == [1422, 56]


def test_no_probe_that_went_out_is_not_probed() -> None:
    async def probe(size: int) -> SizeProbe:
        return SizeProbe(size, False, probed=False)

    found = run(probe)
    assert found.not_probed == "no ping" and found.largest_ok is None


def point(host: str, iface: str, kind: PointKind) -> ObservationPoint:
    return ObservationPoint(host, iface, kind, REQUEST, 0)


POINTS = (
    point("n1", "cali1", PointKind.POD),
    point("n1", "vxlan.calico", PointKind.VXLAN),
    point("n1", "eth0", PointKind.NODE_UPLINK),
    point("leaf1", "swp1", PointKind.LEAF_DOWNLINK),
    point("leaf1", "swp51", PointKind.LEAF_UPLINK),
)


def test_the_first_port_too_small_is_named() -> None:
    mtus = {"n1": {"cali1": 1450, "vxlan.calico": 1450, "eth0": 1500},
            "leaf1": {"swp1": 1500, "swp51": 1400}}  # fmt: skip
    assert culprit(POINTS, mtus, 1450, "vxlan") == Culprit("leaf1", "swp51", 1400, 1500)
    assert culprit(POINTS, mtus, 1400, "bgp") is None  # BGP mode adds nothing: it fits


def test_a_jumbo_pod_mtu_on_a_1500_underlay_is_the_pods_fault() -> None:
    mtus = {"n1": {"cali1": 8950, "vxlan.calico": 8950, "eth0": 1500},
            "leaf1": {"swp1": 1500, "swp51": 1500}}  # fmt: skip
    found = culprit(POINTS, mtus, 8950, "vxlan")
    assert found is not None and found.pod_side and found.mtu == 1500
    result = MtuResult("a", "b", "10.0.0.2", "vxlan", 8950, True, 1422, 1423, culprit=found)
    assert result.verdict is Verdict.FAIL
    assert "Lower Calico's MTU to 1450" in result.advice()


def test_verdicts_and_advice() -> None:
    ok = MtuResult("a", "b", "ip", "vxlan", 1450, True, 1422)
    assert ok.verdict is Verdict.PASS and ok.advice().startswith("Nothing to set")
    port = Culprit("leaf1", "swp51", 1400, 1500)
    bad = MtuResult("a", "b", "ip", "vxlan", 1450, True, 1322, 1323, culprit=port)
    assert bad.verdict is Verdict.FAIL
    assert "ip link set dev swp51 mtu 1500" in bad.advice() and "1350" in bad.advice()
    assert MtuResult("a", "b", "ip", "vxlan", 1450, False).verdict is Verdict.NOT_OBSERVED
