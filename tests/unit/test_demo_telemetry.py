"""The demo lab's telemetry fault (backends/demo/telemetry): with a switch's exporter stopped the
fabric reads "from Prometheus", that switch names its exporter and shows no session, the others
carry their sample's scrape time; cleared, the demo reads over SSH again."""

from __future__ import annotations

import pytest

from fabrictui.backends.base import NotFound
from tests.demo_helpers import fast_backend


@pytest.fixture
async def lab():
    backend = fast_backend("ready")
    await backend.start()
    yield backend
    await backend.close()


async def test_exporter_down_named_and_cleared(lab) -> None:
    assert (await lab.bgp_summary("leaf1")).source == "ssh"
    assert "exporter-down:leaf2" in {f.id for f in lab.faults()}
    await lab.set_fault("exporter-down:leaf2", True)
    leaf2 = await lab.bgp_summary("leaf2")
    assert leaf2.summary is None and leaf2.source == "prometheus"
    assert leaf2.error.startswith("leaf2: frr exporter down (connection refused), last good")
    leaf1 = await lab.bgp_summary("leaf1")
    assert leaf1.source == "prometheus" and leaf1.summary is not None
    assert all(p.established for p in leaf1.summary.peers)
    assert leaf1.fetched_at % 2.0 == 0  # a scrape's time, every 2 s
    await lab.set_fault("exporter-down:leaf2", False)
    again = await lab.bgp_summary("leaf2")
    assert again.source == "ssh" and again.summary is not None


async def test_unknown_switch(lab) -> None:
    with pytest.raises(NotFound, match="no switch named 'leaf9'"):
        await lab.set_fault("exporter-down:leaf9", True)


async def test_verify_says_the_telemetry_is_cut_not_the_switch(lab) -> None:
    from fabrictui.actions.progress import ignore
    from fabrictui.actions.verify.run import verify

    await lab.set_fault("exporter-down:leaf2", True)
    results = {r.name: r for r in await verify(lab, ignore)}
    sessions = results["leaf BGP sessions"]
    assert sessions.passed  # the spines see leaf2's sessions Established
    (unseen,) = sessions.unseen
    assert unseen.startswith("leaf2: BGP summary not read (frr exporter down")
    assert unseen.endswith("only its telemetry is cut")


async def test_node_exporter_down_names_it_never_interfaces_down(lab) -> None:
    from fabrictui.actions.drill.switch import describe_switch

    assert any(i.name == "swp51" for i in await lab.switch_interfaces("leaf2"))
    await lab.set_fault("node-exporter-down:leaf2", True)
    detail = await describe_switch(lab, "leaf2", None)
    assert "Interfaces" not in {s.title for s in detail.sections}  # not shown down
    assert detail.problems[0].startswith(
        "interfaces: leaf2: node exporter down (connection refused), last good scrape"
    )
    assert any(i.name == "swp51" for i in await lab.switch_interfaces("leaf1"))
    await lab.set_fault("node-exporter-down:leaf2", False)
    assert any(i.name == "swp51" for i in await lab.switch_interfaces("leaf2"))
