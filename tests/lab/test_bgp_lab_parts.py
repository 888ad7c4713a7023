"""The rehearsal lab's BGP mode, piece by piece (issue 11): calico-node's BIRD
configuration (checked by BIRD 1.6 itself when installed), Calico's selectors as BGPPeers
use them, and the NCLU shim's `net add|del bgp` / `net commit`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from fabrictui.lab.bird import BirdPeer, NodeBird, birdcl_shim, render_bird_conf, socket_path
from fabrictui.lab.kubeapi.controllers.bgp import selects
from fabrictui.lab.nclu import commit, frr_line, main
from fabrictui.parsers.bird import peer_address_of

NODE = NodeBird(
    "k8s-node-l1-1",
    "ftl-abc-k8s-node-l1-1",
    "10.0.101.101",
    4200101101,
    ("10.67.209.0/26",),
    (
        BirdPeer("Node", "10.0.101.1", 65101),
        BirdPeer("Mesh", "10.0.102.101", 4200102101),
        BirdPeer("Global", "fd00::1", 65000, port=1179),
    ),
)


def test_protocol_names_as_calico_makes_them_and_the_parser_reads_them() -> None:
    names = [p.name for p in NODE.peers]
    assert names == ["Node_10_0_101_1", "Mesh_10_0_102_101", "Global_fd00__1_port_1179"]
    assert [peer_address_of(n) for n in names] == ["10.0.101.1", "10.0.102.101", "fd00::1"]


def test_bird_conf_shape() -> None:
    conf = render_bird_conf(NODE)
    assert "router id 10.0.101.101;" in conf
    assert "  if ( net ~ 10.67.209.0/26 ) then { accept; }" in conf
    assert "  route 10.67.209.0/26 blackhole;" in conf
    assert "  local as 4200101101;" in conf
    assert "protocol bgp Node_10_0_101_1 from bgp_template {" in conf
    assert "  neighbor fd00::1 port 1179 as 65000;" in conf
    assert "  export none;" in conf  # nothing learned goes into the kernel


def test_bird_itself_accepts_the_configuration(tmp_path: Path) -> None:
    binary = shutil.which("bird") or "/usr/sbin/bird"
    if not Path(binary).exists():
        pytest.skip("BIRD 1.6 (Debian's bird package) is not installed")
    ipv4_only = (
        NodeBird(*NODE[:5], NODE.peers[:2])
        if False
        else NodeBird(NODE.node, NODE.netns, NODE.address, NODE.asn, NODE.blocks, NODE.peers[:2])
    )
    conf = tmp_path / "bird.conf"
    conf.write_text(render_bird_conf(ipv4_only))
    done = subprocess.run([binary, "-p", "-c", str(conf)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_birdcl_shim_uses_the_nodes_own_socket() -> None:
    shim = birdcl_shim("ftl-abc-k8s-node-l1-1")
    assert f"-s {socket_path('ftl-abc-k8s-node-l1-1')}" in shim
    assert shim.startswith("#!/bin/sh\n")


@pytest.mark.parametrize(
    ("selector", "selected"),
    [
        ("all()", True),
        ("kubernetes.io/hostname in {'k8s-node-l1-1', 'k8s-node-l1-2'}", True),
        ("kubernetes.io/hostname in {'k8s-node-l2-1'}", False),
        ("kubernetes.io/hostname == 'k8s-node-l1-1'", True),
        ("kubernetes.io/hostname != 'k8s-node-l1-1'", False),
        ("has(topology.fabrictui.lab/rack) && topology.fabrictui.lab/rack == '1'", True),
        ("!has(topology.fabrictui.lab/rack)", False),
        ("rack ~= 'nonsense'", False),
    ],
)
def test_calico_selectors(selector: str, selected: bool) -> None:
    labels = {"kubernetes.io/hostname": "k8s-node-l1-1", "topology.fabrictui.lab/rack": "1"}
    assert selects(selector, labels) is selected


def test_nclu_lines_become_frr_lines() -> None:
    add = ["listen", "range", "10.0.101.0/24", "peer-group", "calico"]
    assert frr_line("add", add) == "bgp listen range 10.0.101.0/24 peer-group calico"
    assert frr_line("add", ["neighbor", "calico", "remote-as", "external"]) == (
        "neighbor calico remote-as external"
    )
    assert frr_line("del", ["neighbor", "calico", "peer-group"]) == "no neighbor calico peer-group"
    assert frr_line("add", ["bestpath", "as-path", "multipath-relax"]) == (
        "bgp bestpath as-path multipath-relax"
    )


def test_net_add_stages_and_commit_applies_under_router_bgp(tmp_path: Path) -> None:
    (tmp_path / "ps").mkdir()
    args = ["--pathspace", "ps", "--config-dir", str(tmp_path)]
    summary = json.dumps({"ipv4Unicast": {"as": 65101}})
    assert main([*args, "add", "bgp", "neighbor", "calico", "peer-group"], run=lambda c: "") == 0
    assert main([*args, "add", "bgp", "listen", "range", "10.0.101.0/24", "peer-group",
                 "calico"], run=lambda c: "") == 0  # fmt: skip
    pending = tmp_path / "ps" / "nclu-pending"
    applied: list[list[str]] = []
    said = commit(lambda lines: applied.append(lines) or "", lambda c: summary, pending)
    assert said == "net commit: 2 changes committed\n"
    assert applied == [
        [
            "configure terminal",
            "router bgp 65101",
            "neighbor calico peer-group",
            "bgp listen range 10.0.101.0/24 peer-group calico",
            "end",
        ]
    ]
    assert not pending.exists()
    pending.write_text("bgp nonsense\n")
    with pytest.raises(RuntimeError, match="Unknown command"):
        commit(lambda lines: "% Unknown command: bgp nonsense\n", lambda c: summary, pending)
    assert main([*args, "add", "interface", "swp1"], run=lambda c: "") == 1
