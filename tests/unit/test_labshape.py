"""The one model of the lab's shape, the same-rack rule and the domain constants."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from fabrictui import constants
from fabrictui.actions.ping.mesh import PingMatrix
from fabrictui.backends.demo import topology as demo_topology
from fabrictui.backends.real.inventory import HostMeta
from fabrictui.intent.labshape import LabShape, ShapeError, pattern_shape, same_rack
from fabrictui.lab.topology import build_topology, reference_topology
from fabrictui.model import KubePod, PingResult, Role, pod_suffix


def _pod(name: str, node: str | None) -> KubePod:
    return KubePod("space1", name, 1, 1, "Running", 0, 0.0, "10.64.0.1", node)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [(1, 1, True), (1, 2, False), (None, 1, False), (1, None, False), (None, None, False)],
)
def test_an_unknown_rack_is_never_the_same_rack(a: int | None, b: int | None, same: bool) -> None:
    assert same_rack(a, b) is same


def test_ping_mesh_and_ping_matrix_agree_on_unknown_racks() -> None:
    from fabrictui.render.common import Palette
    from fabrictui.ui.screens.ping_matrix import PingMatrixScreen

    known, other, lost = _pod("a-1", "n1"), _pod("b-2", "n1"), _pod("c-3", "n9")
    nowhere = _pod("d-4", None)
    pods = (known, other, lost, nowhere)
    node_racks = {"n1": 1, "n9": None}
    mesh = PingMatrix(pods, racks={p.key: node_racks.get(p.node or "") for p in pods})
    screen = PingMatrixScreen(list(pods), node_racks, Palette())
    for a in pods:
        for b in pods:
            assert screen.cross_rack(a, b) is not mesh.same_rack(a.key, b.key), (a.name, b.name)
    assert mesh.same_rack(known.key, other.key)
    assert not mesh.same_rack(lost.key, lost.key)  # rack unknown, even for itself
    assert not mesh.same_rack(nowhere.key, lost.key)


def test_the_pattern_is_the_reference_lab() -> None:
    shape = pattern_shape()
    assert [h.name for h in shape.spines] == ["spine-sw1", "spine-sw2"]
    assert [(h.name, h.asn, h.router_id) for h in shape.leaves] == [
        ("leaf1", 65101, "172.16.255.101"),
        ("leaf2", 65102, "172.16.255.102"),
    ]
    assert shape.expected_sessions() == (
        ("leaf1", "spine-sw1"),
        ("leaf1", "spine-sw2"),
        ("leaf2", "spine-sw1"),
        ("leaf2", "spine-sw2"),
    )
    assert shape.leaf_of("k8s-node-l2-1") == "leaf2" and shape.rack_of("k8s-node-l2-1") == 2
    assert shape.leaf_of_rack(1) == "leaf1" and shape.leaf_of_rack(None) is None
    assert shape.same_rack("k8s-master-l1-1", "k8s-node-l1-2")
    assert not shape.same_rack("k8s-node-l1-1", "k8s-node-l2-1")
    assert not shape.same_rack("spine-sw1", "spine-sw2")  # spines have no rack
    peers = dict(shape.peer_addresses())
    assert peers["172.16.0.0"] == "spine-sw1" and peers["172.16.0.7"] == "leaf2"
    assert peers["10.0.102.101"] == "k8s-node-l2-1"


def test_demo_and_rehearsal_labs_share_one_shape() -> None:
    shape = pattern_shape()
    rehearsal = reference_topology()
    assert rehearsal.hosts == shape.hosts
    assert rehearsal.shape == shape
    assert shape == demo_topology.SHAPE
    demo = [(s.name, s.role, s.asn, s.router_id, s.rack) for s in demo_topology.SWITCHES]
    assert demo == [(h.name, h.role, h.asn, h.router_id, h.rack) for h in shape.switches]
    assert [(n.name, n.role, n.rack, n.ip) for n in demo_topology.NODES] == [
        (h.name, h.role, h.rack, h.address) for h in shape.nodes
    ]
    assert {(ln.spine, ln.spine_ip, ln.leaf, ln.leaf_ip) for ln in demo_topology.LINKS} == {
        (ln.a, (ln.a_ip or "").split("/")[0], ln.b, (ln.b_ip or "").split("/")[0])
        for ln in shape.links
    }
    assert demo_topology.expected_sessions() == shape.expected_sessions()


def test_larger_shapes_and_refusals() -> None:
    shape = pattern_shape(4, 8, 8)
    assert len(shape.expected_sessions()) == 32
    assert build_topology(4, 8, 8).hosts == shape.hosts
    with pytest.raises(ShapeError):
        pattern_shape(0, 2, 2)


def test_shape_of_an_inventory() -> None:
    metas = [
        HostMeta("spine-b", Role.SPINE, None, "10.255.0.2", 65002),
        HostMeta("spine-a", Role.SPINE, None, "10.255.0.1", 65001),
        HostMeta("tor-7", Role.LEAF, 7, "10.255.1.7", 65107),
        HostMeta("web1", Role.WORKER, 7, "192.168.7.10", leaf="tor-7"),
        HostMeta("mystery", Role.WORKER, None, "192.168.9.9"),
    ]
    links = [
        {"a": "spine-a", "a_ip": "10.1.0.0/31", "b": "tor-7", "b_ip": "10.1.0.1/31"},
        {"a": "tor-7", "a_port": "swp1", "a_ip": None, "b": "web1", "b_ip": "192.168.7.10/24"},
        {"a": 3, "b": "junk"},  # not a cable: left out
    ]
    shape = LabShape.of(metas, links)
    assert shape.expected_sessions() == (("tor-7", "spine-b"), ("tor-7", "spine-a"))
    assert len(shape.links) == 2 and [ln.is_fabric for ln in shape.links] == [True, False]
    peers = dict(shape.peer_addresses())
    assert peers["10.1.0.0"] == "spine-a" and peers["10.255.0.2"] == "spine-b"
    assert shape.leaf_of("web1") == "tor-7" and shape.leaf_of_rack(7) == "tor-7"
    assert shape.leaf_of("mystery") is None and shape.rack_of("nobody") is None
    assert not shape.same_rack("mystery", "mystery")


def test_pod_suffix_and_failed_ping() -> None:
    assert pod_suffix("nginx-deployment-55457b9d87-z9pl9") == "z9pl9"
    assert pod_suffix("etcd") == "etcd"
    assert _pod("coredns-5c98db65d4-27f97", "n").short_name == "27f97"
    failed = PingResult.failed("space1/a", "10.65.76.193", "exec failed")
    assert failed.error == "exec failed" and failed.transmitted == 0 and not failed.ok
    assert failed.loss_pct == 100.0


def test_constants_import_nothing_from_fabrictui() -> None:
    code = (
        "import sys, fabrictui.constants; "
        "print(sorted(m for m in sys.modules if m.startswith('fabrictui')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['fabrictui', 'fabrictui.constants']"


def test_defaults_come_from_constants() -> None:
    from fabrictui.backends.real.inventory import Inventory
    from fabrictui.model import LabInfo

    info = LabInfo("x", "demo")
    assert (info.pod_pool, info.vni, info.vxlan_port) == ("10.64.0.0/12", 4096, 4789)
    fields = {f.name: f.default for f in dataclasses.fields(Inventory)}
    assert fields["pod_pool"] == constants.POD_POOL and fields["vni"] == constants.VXLAN_VNI
    assert constants.VXLAN_BPF == "udp port 4789"
