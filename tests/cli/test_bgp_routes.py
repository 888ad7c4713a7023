"""`fabrictui routes` and the routes analysis (issue 11): node subnets everywhere, pod
blocks on every switch in BGP mode with ECMP over the spines, and what is missing."""

from __future__ import annotations

import json

import pytest

from fabrictui import cli
from fabrictui.actions.routes import read_routes
from fabrictui.backends.demo.backend import DemoBackend
from tests.demo_helpers import fast_demo_only


@pytest.fixture(autouse=True)
def fast_demo(monkeypatch):
    fast_demo_only(monkeypatch)


async def test_bgp_mode_every_block_everywhere() -> None:
    report = await read_routes(DemoBackend("ready-bgp"))
    assert report.mode == "bgp" and not report.missing and not report.errors
    blocks = [r for r in report.rows if r.kind == "pod block"]
    assert len(blocks) == 4 * 5  # four switches, five nodes with one block each
    by = {(r.switch, r.owner): r for r in blocks}
    own = by[("leaf2", "k8s-node-l2-1")]
    assert own.route is not None and own.nexthops == "10.0.102.101 bridge"
    across = by[("leaf2", "k8s-node-l1-2")]
    assert across.route is not None and across.route.ecmp == 2
    assert by[("spine-sw1", "k8s-node-l1-2")].nexthops == "172.16.0.1 swp1"


async def test_vxlan_mode_expects_no_blocks_on_the_fabric() -> None:
    report = await read_routes(DemoBackend("ready"))
    assert report.mode == "vxlan" and not report.missing
    assert {r.kind for r in report.rows} == {"node subnet"}


async def test_a_node_without_its_session_leaves_its_blocks_missing() -> None:
    lab = DemoBackend("ready-bgp")
    await lab.configure_switch(
        "leaf1", ["net del bgp listen range 10.0.101.0/24 peer-group calico"]
    )
    report = await read_routes(lab, "spine-sw1")
    missing = {(r.switch, r.owner) for r in report.missing}
    assert missing == {
        ("spine-sw1", "k8s-master-l1-1"),
        ("spine-sw1", "k8s-node-l1-1"),
        ("spine-sw1", "k8s-node-l1-2"),
    }


def test_command_table_json_and_exit_codes(capsys) -> None:
    assert cli.main(["routes", "--demo", "ready-bgp", "--switch", "leaf1"]) == 0
    out = capsys.readouterr().out
    lab = "lab: demo (ready-bgp, seed 1) [demo] from --demo ready-bgp"
    assert out.splitlines()[:2] == [lab, "mode: bgp"]
    assert "10.68.86.128/26   pod block    k8s-node-l2-1" in out
    assert out.rstrip().endswith("0 expected routes missing")
    assert cli.main(["routes", "--demo", "ready-bgp", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["lab"]["kind"] == "demo" and doc["observed"] is True
    assert doc["mode"] == "bgp" and doc["missing"] == 0 and len(doc["routes"]) == 4 * 7
    assert cli.main(["routes", "--demo", "ready", "--switch", "nope"]) == 2
    assert "nope: no such switch" in capsys.readouterr().err
