"""The fabric map's graph and layout at several fabric sizes and terminal sizes."""

from __future__ import annotations

import pytest

from fabrictui.render.map.graph import BAD, GOOD, UNSEEN, WARN, TracePath, build_map
from fabrictui.render.map.layout import layout_map, move
from tests.map_helpers import fabric_inputs


def test_a_healthy_fabric_is_all_good_and_links_every_leaf_to_every_spine():
    graph = build_map(fabric_inputs(2, 2, 2))
    assert {n.state for n in graph.all_nodes} == {GOOD}
    uplinks = [x for x in graph.links if x.kind == "uplink"]
    assert len(uplinks) == 4 and {x.label for x in uplinks} == {"Established"}
    assert len([x for x in graph.links if x.kind == "node"]) == 5  # the master too
    doc = graph.to_json()
    assert {n["kind"] for n in doc["nodes"]} == {"spine", "leaf", "node"}


def test_faults_show_on_the_links_and_switches_they_touch():
    inputs = fabric_inputs(
        2, 2, 2,
        down=frozenset({("leaf1", "spine-sw1")}),
        silent=frozenset({"spine-sw2"}),
        not_ready=frozenset({"k8s-node-l2-1"}),
        lossy=("k8s-node-l1-1", "k8s-node-l2-2"),
    )  # fmt: skip
    graph = build_map(inputs)
    assert graph.link("spine-sw1", "leaf1").state == BAD
    assert graph.link("spine-sw1", "leaf1").label == "Active"
    spine2 = next(s for s in graph.spines if s.name == "spine-sw2")
    assert spine2.state == UNSEEN and spine2.label == "no answer 42s"
    # the leaves still see spine-sw2's sessions: the link is read from their side
    assert graph.link("spine-sw2", "leaf2").state == GOOD
    assert graph.link("leaf2", "k8s-node-l2-1").label == "NotReady"
    (traffic,) = graph.traffic
    assert (traffic.src_rack, traffic.dst_rack, traffic.lost) == (1, 2, 30)
    assert traffic.state == WARN and round(traffic.loss_percent) == 30
    text = layout_map(graph, 80, 24).plain()
    assert "✕ leaf1" in text and "s1 Active" in text
    assert "? spine-sw2 no answer 42s" in text
    assert "✕ k8s-node-l2-1 NotReady" in text
    assert "rack1 → rack2" in text and "lost 30 of 100 (30.0%)" in text


def test_a_session_up_without_policy_is_neither_good_nor_down():
    graph = build_map(fabric_inputs(policy=frozenset({("leaf2", "spine-sw1")})))
    link = graph.link("spine-sw1", "leaf2")
    assert (link.state, link.label, link.via) == (WARN, "(Policy)", "leaf2 spine-sw1")
    assert {n.name: n.state for n in graph.leaves} == {"leaf1": GOOD, "leaf2": WARN}
    assert "↑1◐2● s1 (Policy)" in layout_map(graph, 80, 24).plain()


def test_frames_per_second_come_from_the_previous_map():
    first = build_map(fabric_inputs(lossy=("k8s-node-l1-1", "k8s-node-l2-1")))
    later = fabric_inputs(lossy=("k8s-node-l1-1", "k8s-node-l2-1"))
    moved = type(later)(**{**{f: getattr(later, f) for f in later.__dataclass_fields__},
                           "now": later.now + 2.0})  # fmt: skip
    assert build_map(moved, first).traffic[0].rate == 0.0  # no new frames in 2 s
    assert first.traffic[0].rate is None


@pytest.mark.parametrize(
    "spines, racks, nodes, width, height",
    [
        (2, 2, 2, 80, 24),
        (2, 2, 2, 160, 48),
        (4, 8, 4, 80, 24),
        (4, 32, 8, 80, 24),
        (4, 32, 8, 160, 48),
        (1, 1, 0, 80, 24),
        (8, 60, 2, 120, 40),
    ],
)
def test_the_layout_fits_its_box_and_says_what_it_left_out(spines, racks, nodes, width, height):
    graph = build_map(fabric_inputs(spines, racks, nodes))
    layout = layout_map(graph, width, height)
    lines = layout.plain().split("\n")
    assert len(lines) <= height
    assert max(len(line) for line in lines) <= width
    shown = [n.name for n in graph.all_nodes if n.name in layout.spots]
    hidden = len(graph.all_nodes) - len(shown)
    if hidden:
        assert layout.left_out or "nodes" in layout.plain()  # counted on the map or named below
    else:
        assert not layout.left_out
    for name, (row, col) in layout.spots.items():
        assert name[-4:] in lines[row][col:], name  # the spot shows its name (its end, if cut)


def test_at_80x24_a_big_fabric_shows_its_worst_nodes_and_counts_the_rest():
    graph = build_map(fabric_inputs(4, 32, 8, not_ready=frozenset({"k8s-node-l3-7"})))
    layout = layout_map(graph, 80, 24)
    text = layout.plain()
    assert "racks" in " ".join(layout.left_out) and "not shown" in text
    # no room for nodes: each rack counts its own, the sick one in rack 3 stands out
    assert "└ 8 nodes ✕1" in text and text.count("nodes ok") == 24
    wide = layout_map(graph, 160, 48)
    assert "k8s-node-l3-7" in wide.spots and "✕ …node-l3-7" in wide.plain()


def test_the_trace_is_drawn_with_where_it_stopped_and_why():
    inputs = fabric_inputs()
    trace = TracePath(
        "space1/a → space1/b",
        ("k8s-node-l1-1", "leaf1", "spine-sw1"),
        "leaf2",
        "leaf2 swp51 (request)",
        "leaf2: session to spine-sw1 is Active",
    )
    inputs = type(inputs)(**{**{f: getattr(inputs, f) for f in inputs.__dataclass_fields__},
                             "paths": (trace,)})  # fmt: skip
    text = layout_map(build_map(inputs), 80, 24).plain()
    assert "leaf1»" in text and "leaf2✕" in text and "spine-sw1»" in text
    assert "trace NOT delivered, stopped at leaf2 swp51 (request)" in text
    assert "cause: leaf2: session to spine-sw1 is Active" in text


@pytest.mark.parametrize("width", [80, 156])
def test_arrow_keys_move_between_switches_and_nodes(width):
    layout = layout_map(build_map(fabric_inputs()), width, 24)
    first = move(layout, None, 0, 1)
    assert first == "spine-sw1"
    assert move(layout, first, 1, 0) == "spine-sw2"
    assert move(layout, first, 0, 1) == "leaf1"
    assert move(layout, "leaf1", 1, 0) == "leaf2"
    assert move(layout, "leaf1", 0, 1) == "k8s-master-l1-1"
    assert move(layout, "leaf2", 0, -1) in ("spine-sw1", "spine-sw2")
    assert move(layout, "k8s-node-l1-2", 1, 0) == "k8s-node-l2-2"  # the nearest row
    assert move(layout, "spine-sw1", 0, -1) == "spine-sw1"  # nothing above: stays
