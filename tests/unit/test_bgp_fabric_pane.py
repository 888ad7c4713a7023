"""The fabric pane in BGP mode (issue 11): the nodes, dynamic neighbours of their leaf,
grouped under it with the blocks each announces; (Policy) named."""

from __future__ import annotations

from fabrictui.backends.demo.backend import DemoBackend
from fabrictui.intent.bgp_sessions import analyze_sessions
from fabrictui.render.common import Palette
from fabrictui.render.fabric import fabric_lines

P = Palette()


async def _lines(lab: DemoBackend) -> list[str]:
    info = lab.info()
    readings = {s: await lab.bgp_summary(s) for s in ("leaf1", "leaf2", "spine-sw1")}
    analysis = analyze_sessions(readings, info.expected_sessions, dict(info.peer_addresses))
    announced = {n.name: n.calico_blocks for n in await lab.list_nodes()}
    return [line.plain for line in fabric_lines(readings, analysis, P, "", announced)]


async def test_nodes_grouped_under_their_leaf_with_their_blocks() -> None:
    lines = await _lines(DemoBackend("ready-bgp"))
    leaf2 = lines.index(next(line for line in lines if line.startswith("leaf2")))
    group = lines[leaf2 + 3 :]
    assert lines[leaf2].endswith("4/4 Established")
    assert group[0] == "  dynamic neighbours (listen range): 2/2 up"
    assert group[1].startswith("   *k8s-node-l2-1(10.0.102.101)")
    assert "4200102101 Established" in group[1] and group[1].endswith("→ 10.68.86.128/26")
    assert "UNEXPECTED" not in "\n".join(lines)


async def test_policy_is_shown_and_hides_the_blocks() -> None:
    lab = DemoBackend("ready-bgp")
    lab.bgp.policy["leaf1"] = False
    lines = await _lines(lab)
    node = next(line for line in lines if line.startswith("   *k8s-node-l1-1"))
    assert "(Policy)" in node and "→" not in node
    assert "  dynamic neighbours (listen range): 0/3 up" in lines


async def test_vxlan_mode_draws_as_before() -> None:
    lines = await _lines(DemoBackend("ready"))
    assert not any("dynamic" in line for line in lines)
