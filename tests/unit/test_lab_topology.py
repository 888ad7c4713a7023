"""The rehearsal lab's pure parts: topology, FRR and sshd configs, the NCLU shim's output."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from fabrictui.lab import frr, nclu, netns, sshd
from fabrictui.lab.topology import (
    TopologyError,
    build_topology,
    inventory,
    netns_name,
    reference_topology,
)
from fabrictui.parsers.bgp import parse_bgp_summary

# LAB.md's table, row by row: name -> (role, rack, asn, address)
LAB_MD_HOSTS = {
    "spine-sw1": ("spine", None, 65001, "172.16.255.1"),
    "spine-sw2": ("spine", None, 65002, "172.16.255.2"),
    "leaf1": ("leaf", 1, 65101, "172.16.255.101"),
    "leaf2": ("leaf", 2, 65102, "172.16.255.102"),
    "k8s-master-l1-1": ("master", 1, None, "10.0.101.100"),
    "k8s-node-l1-1": ("worker", 1, None, "10.0.101.101"),
    "k8s-node-l1-2": ("worker", 1, None, "10.0.101.102"),
    "k8s-node-l2-1": ("worker", 2, None, "10.0.102.101"),
    "k8s-node-l2-2": ("worker", 2, None, "10.0.102.102"),
}

# LAB.md: (spine, spine ip, leaf, leaf ip)
LAB_MD_FABRIC = {
    ("spine-sw1", "172.16.0.0/31", "leaf1", "172.16.0.1/31"),
    ("spine-sw1", "172.16.0.2/31", "leaf2", "172.16.0.3/31"),
    ("spine-sw2", "172.16.0.4/31", "leaf1", "172.16.0.5/31"),
    ("spine-sw2", "172.16.0.6/31", "leaf2", "172.16.0.7/31"),
}


def test_reference_lab_is_lab_md() -> None:
    topo = reference_topology()
    got = {h.name: (h.role, h.rack, h.asn, h.address) for h in topo.hosts}
    assert got == LAB_MD_HOSTS
    fabric = {(ln.a, ln.a_ip, ln.b, ln.b_ip) for ln in topo.links if ln.is_fabric}
    assert fabric == LAB_MD_FABRIC
    assert topo.host("leaf1").router_id == "172.16.255.101"
    assert topo.host("leaf2").router_id == "172.16.255.102"
    assert topo.host("leaf1").server_subnet == "10.0.101.0/24"
    assert topo.host("leaf2").server_subnet == "10.0.102.0/24"
    assert topo.host("k8s-node-l2-1").gateway == "10.0.102.1"
    assert topo.host("k8s-node-l2-1").leaf == "leaf2"


def test_reference_ports_are_cumulus_names() -> None:
    topo = reference_topology()
    uplinks = {(ln.b, ln.b_port, ln.a) for ln in topo.links if ln.is_fabric}
    assert ("leaf1", "swp51", "spine-sw1") in uplinks
    assert ("leaf1", "swp52", "spine-sw2") in uplinks
    spine_ports = {(ln.a, ln.a_port, ln.b) for ln in topo.links if ln.is_fabric}
    assert ("spine-sw2", "swp2", "leaf2") in spine_ports
    server = {(ln.a, ln.a_port, ln.b, ln.b_port) for ln in topo.server_ports("leaf1")}
    assert server == {
        ("leaf1", "swp1", "k8s-master-l1-1", "eth0"),
        ("leaf1", "swp2", "k8s-node-l1-1", "eth0"),
        ("leaf1", "swp3", "k8s-node-l1-2", "eth0"),
    }


def test_bgp_neighbors_of_a_leaf() -> None:
    neighbors = reference_topology().bgp_neighbors("leaf2")
    assert [(n.port, n.local_ip, n.peer_ip, n.peer_name, n.peer_asn) for n in neighbors] == [
        ("swp51", "172.16.0.3/31", "172.16.0.2", "spine-sw1", 65001),
        ("swp52", "172.16.0.7/31", "172.16.0.6", "spine-sw2", 65002),
    ]


@pytest.mark.parametrize(("spines", "racks", "per_rack"), [(4, 8, 8), (4, 32, 2), (1, 1, 0)])
def test_generated_shapes_follow_the_pattern(spines: int, racks: int, per_rack: int) -> None:
    topo = build_topology(spines, racks, per_rack)
    assert len(topo.switches) == spines + racks
    assert len(topo.nodes) == racks * per_rack + 1  # the master sits in rack 1
    fabric = [ln for ln in topo.links if ln.is_fabric]
    assert len(fabric) == spines * racks
    seen: set[ipaddress.IPv4Address] = set()
    for link in fabric:
        a = ipaddress.IPv4Interface(link.a_ip or "")
        b = ipaddress.IPv4Interface(link.b_ip or "")
        assert a.network == b.network and a.network.prefixlen == 31
        assert a.network.subnet_of(ipaddress.IPv4Network("172.16.0.0/16"))
        assert int(a.ip) % 2 == 0 and int(b.ip) == int(a.ip) + 1
        assert a.ip not in seen and b.ip not in seen
        seen |= {a.ip, b.ip}
        s = int(link.a.removeprefix("spine-sw"))
        r = int(link.b.removeprefix("leaf"))
        assert (link.a_port, link.b_port) == (f"swp{r}", f"swp{50 + s}")
    for r in range(1, racks + 1):
        leaf = topo.host(f"leaf{r}")
        assert leaf.asn == 65100 + r and leaf.server_subnet == f"10.0.{100 + r}.0/24"
        for i in range(1, per_rack + 1):
            node = topo.host(f"k8s-node-l{r}-{i}")
            assert node.address == f"10.0.{100 + r}.{100 + i}" and node.leaf == f"leaf{r}"
    for s in range(1, spines + 1):
        assert topo.host(f"spine-sw{s}").asn == 65000 + s
    names = [h.name for h in topo.hosts]
    assert len(names) == len(set(names))
    addresses = [h.address for h in topo.hosts]
    assert len(addresses) == len(set(addresses))


def test_scale_shape_sizes() -> None:
    topo = build_topology(4, 8, 8)
    assert len(topo.nodes) == 65 and len([n for n in topo.nodes if n.role == "worker"]) == 64
    big = build_topology(4, 32, 1)
    assert len(big.switches) == 36
    assert all(len(big.bgp_neighbors(leaf.name)) == 4 for leaf in big.leaves)
    assert all(len(big.bgp_neighbors(f"spine-sw{s}")) == 32 for s in range(1, 5))


@pytest.mark.parametrize(("spines", "racks", "per_rack"), [(0, 2, 2), (50, 2, 2), (2, 100, 2)])
def test_shapes_outside_the_pattern_are_refused(spines: int, racks: int, per_rack: int) -> None:
    with pytest.raises(TopologyError):
        build_topology(spines, racks, per_rack)


def test_inventory_document() -> None:
    topo = reference_topology()
    ports = {h.name: 40000 + i for i, h in enumerate(topo.hosts)}
    doc = json.loads(json.dumps(inventory(topo, "a1b2c3", ports, 40443)))
    assert doc["format"] == "fabrictui-inventory/1"
    assert doc["kind"] == "rehearsal" and doc["lab_id"] == "a1b2c3"
    assert (doc["pod_pool"], doc["vni"], doc["vxlan_port"]) == ("10.64.0.0/12", 4096, 4789)
    assert doc["kube_api"] == {"host": "127.0.0.1", "port": 40443}
    by_name = {h["name"]: h for h in doc["hosts"]}
    spine = by_name["spine-sw1"]
    assert spine["role"] == "spine" and spine["rack"] is None and spine["asn"] == 65001
    assert spine["platform"] == "frr" and spine["netns"] == "ftl-a1b2c3-spine-sw1"
    assert spine["ssh"] == {
        "host": "127.0.0.1",
        "port": ports["spine-sw1"],
        "user": "root",
        "identity_file": "keys/id_ed25519",
    }
    assert by_name["leaf1"]["server_subnet"] == "10.0.101.0/24"
    node = by_name["k8s-node-l1-1"]
    assert node["role"] == "worker" and node["leaf"] == "leaf1" and "asn" not in node
    assert {
        "a": "spine-sw1",
        "a_port": "swp1",
        "a_ip": "172.16.0.0/31",
        "b": "leaf1",
        "b_port": "swp51",
        "b_ip": "172.16.0.1/31",
    } in doc["links"]


def test_netns_names_share_the_lab_prefix() -> None:
    assert netns_name("a1b2c3", "leaf1") == "ftl-a1b2c3-leaf1"


def test_bgpd_conf_of_a_leaf() -> None:
    conf = frr.render_bgpd_conf(reference_topology(), "leaf1")
    lines = [line.strip() for line in conf.splitlines()]
    for expected in (
        "hostname leaf1",
        "router bgp 65101",
        "bgp router-id 172.16.255.101",
        "no bgp ebgp-requires-policy",
        "bgp bestpath as-path multipath-relax",
        "bgp default show-hostname",
        "timers bgp 3 9",
        "neighbor 172.16.0.0 remote-as 65001",
        "neighbor 172.16.0.4 remote-as 65002",
        "network 10.0.101.0/24",
    ):
        assert expected in lines
    assert not any(line.startswith("neighbor") and "description" in line for line in lines)


def test_bgpd_conf_of_a_spine_announces_nothing() -> None:
    conf = frr.render_bgpd_conf(reference_topology(), "spine-sw2")
    assert "router bgp 65002" in conf
    assert "neighbor 172.16.0.5 remote-as 65101" in conf
    assert "neighbor 172.16.0.7 remote-as 65102" in conf
    assert not any(line.strip().startswith("network ") for line in conf.splitlines())
    with pytest.raises(ValueError):
        frr.render_bgpd_conf(reference_topology(), "k8s-node-l1-1")


def test_daemon_argv_runs_in_the_switch_namespace() -> None:
    argv = frr.daemon_argv("a1b2c3", "leaf1", "bgpd")
    assert argv[:4] == ["ip", "netns", "exec", "ftl-a1b2c3-leaf1"]
    assert argv[4] == "/usr/lib/frr/bgpd"
    assert argv[argv.index("-N") + 1] == "ftl-a1b2c3-leaf1"


# FRR 8.4 as the lab runs it (captured from the lab, peers trimmed to what matters)
FRR_IPV4_TEXT = """
IPv4 Unicast Summary (VRF default):
BGP router identifier 172.16.255.101, local AS number 65101 vrf-id 0
BGP table version 2
RIB entries 3, using 576 bytes of memory
Peers 2, using 1448 KiB of memory

Neighbor              V         AS   MsgRcvd   MsgSent   TblVer  InQ OutQ  Up/Down State/PfxRcd   PfxSnt Desc
spine-sw1(172.16.0.0) 4      65001         5         5        0    0    0 00:00:03            1        2 N/A
spine-sw2(172.16.0.4) 4      65002         7         7        0    0    0 00:00:02        Active        0 N/A

Total number of neighbors 2
"""  # noqa: E501


def test_nclu_text_form_parses_as_nclu() -> None:
    text = nclu.nclu_text(
        {
            "ipv4 unicast": FRR_IPV4_TEXT,
            "ipv6 unicast": "% No BGP neighbors found in VRF default\n",
            "l2vpn evpn": "% No BGP neighbors found in VRF default\n",
        }
    )
    lines = text.splitlines()
    assert lines[:3] == [
        "show bgp ipv4 unicast summary",
        "=============================",
        "BGP router identifier 172.16.255.101, local AS number 65101 vrf-id 0",
    ]
    assert "show bgp l2vpn evpn summary" in lines
    assert "===========================" in lines
    summary = parse_bgp_summary(text)
    assert summary.router_id == "172.16.255.101"
    peers = {p.short_hostname: p for p in summary.peers}
    assert set(peers) == {"spine-sw1", "spine-sw2"}
    assert peers["spine-sw1"].established and not peers["spine-sw2"].established


def test_split_frr_all_family_summary() -> None:
    v6 = FRR_IPV4_TEXT.replace("IPv4 Unicast Summary", "IPv6 Unicast Summary")
    parts = nclu.split_frr_summary(FRR_IPV4_TEXT + v6)
    assert set(parts) == {"ipv4 unicast", "ipv6 unicast"}
    assert parts["ipv4 unicast"].startswith("BGP router identifier 172.16.255.101")
    assert parts["ipv4 unicast"].endswith("Total number of neighbors 2")
    assert nclu.split_frr_summary("% No BGP neighbors found in VRF default\n") == {}


def test_nclu_json_form() -> None:
    ipv4 = {"routerId": "172.16.255.101", "as": 65101, "peers": {"172.16.0.0": {}}}
    doc = nclu.nclu_json({"ipv4 unicast": ipv4, "ipv6 unicast": {}, "l2vpn evpn": {}})
    assert doc == {"ipv4 unicast": ipv4, "ipv6 unicast": None, "l2vpn evpn": None}


def test_net_shim_main_with_a_fake_vtysh(capsys: pytest.CaptureFixture[str]) -> None:
    asked: list[str] = []

    def fake(command: str) -> str:
        asked.append(command)
        if command == "show bgp summary json":
            ipv4 = {"routerId": "172.16.255.1", "as": 65001, "peers": {"x": {}}}
            return json.dumps({"ipv4Unicast": ipv4})
        if command == "show bgp summary":
            return FRR_IPV4_TEXT
        return ""

    assert nclu.main(["--pathspace", "ps", "show", "bgp", "summary", "json"], run=fake) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ipv4 unicast"]["as"] == 65001 and out["ipv6 unicast"] is None
    assert out["l2vpn evpn"] is None
    assert nclu.main(["--pathspace", "ps", "show", "bgp", "sum"], run=fake) == 0
    text = capsys.readouterr().out
    assert parse_bgp_summary(text).router_id == "172.16.255.101"
    assert "show bgp ipv6 unicast summary\n=============================\n% No BGP" in text
    assert asked == ["show bgp summary json", "show bgp summary"]
    assert nclu.main(["--pathspace", "ps", "show", "interface"], run=fake) == 1
    assert "Command not found" in capsys.readouterr().err


def test_sshd_config_is_loopback_key_only() -> None:
    conf = sshd.render_sshd_config(
        40001, Path("/d/keys/h"), Path("/d/keys/authorized_keys"), Path("/d/p"), Path("/d/s")
    )
    lines = conf.splitlines()
    assert "ListenAddress 127.0.0.1:40001" in lines
    assert "PasswordAuthentication no" in lines and "UsePAM no" in lines
    assert "PermitRootLogin prohibit-password" in lines
    assert "AuthorizedKeysFile /d/keys/authorized_keys" in lines
    assert "MaxSessions 30" in lines and "StrictModes no" in lines
    assert "ForceCommand /d/s" in lines
    assert not any(
        line.startswith(("Port ", "ListenAddress 0", "ListenAddress ::")) for line in lines
    )


def test_ssh_config_has_vagrant_shape() -> None:
    text = sshd.render_ssh_config(
        [sshd.SshEntry("leaf1", 40003, Path("/d/keys/id_ed25519"), Path("/d/known_hosts"))]
    )
    assert text.splitlines()[:4] == [
        "Host leaf1",
        "  HostName 127.0.0.1",
        "  User root",
        "  Port 40003",
    ]
    assert "  StrictHostKeyChecking yes" in text.splitlines()
    assert "  IdentitiesOnly yes" in text.splitlines()
    assert sshd.known_hosts_line(40003, "ssh-ed25519 AAAAC3 leaf1@lab") == (
        "[127.0.0.1]:40003 ssh-ed25519 AAAAC3"
    )


def test_shims_are_generated(tmp_path: Path) -> None:
    session = sshd.install_shims(tmp_path, "leaf1", "ftl-x-leaf1", "ftl-x-leaf1")
    text = session.read_text()
    assert "ip netns exec ftl-x-leaf1" in text and "SSH_ORIGINAL_COMMAND" in text
    assert "-N ftl-x-leaf1" in (tmp_path / "leaf1" / "vtysh").read_text()
    assert "fabrictui.lab.nclu" in (tmp_path / "leaf1" / "net").read_text()
    node = sshd.install_shims(tmp_path, "k8s-node-l1-1", "ftl-x-k8s-node-l1-1", None)
    assert not (node.parent / "vtysh").exists() and (node.parent / "sudo").exists()


def test_ip_batch_refuses_shell_like_tokens() -> None:
    assert netns.batch_text([["netns", "add", "ftl-x-leaf1"]]) == "netns add ftl-x-leaf1\n"
    with pytest.raises(ValueError):
        netns.batch_text([["netns", "add", "x; reboot"]])


def _lab_cli(argv: list[str]) -> int:
    from fabrictui.cli import build_subcommand_parser

    parser, module = build_subcommand_parser("lab")
    return int(module.run(parser.parse_args(argv)))  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", ["up", "status", "down"])
def test_lab_cli_refuses_without_root(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert _lab_cli([command, "--dir", str(tmp_path / "lab")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs root" in err
    assert not (tmp_path / "lab").exists()


def test_lab_cli_refuses_off_linux(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr("sys.platform", "darwin")
    assert _lab_cli(["up", "--dir", str(tmp_path / "lab")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Linux" in err


def test_lab_cli_refuses_a_shape_outside_the_pattern(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert _lab_cli(["up", "--dir", str(tmp_path / "lab"), "--spines", "0"]) == 2
    assert "spines must be" in capsys.readouterr().err


def test_nclu_shim_prints_a_neighbor_as_frrs_text(capsys) -> None:
    """`net show bgp neighbor PEER`: FRR's text, as Cumulus 3.7's NCLU prints it (issue 26);
    vtysh's complaint goes to stderr with exit 1."""
    asked: list[str] = []

    def fake(command: str) -> str:
        asked.append(command)
        if command.endswith("10.9.9.9"):
            raise RuntimeError("% No such neighbor in this view/vrf")
        return "BGP neighbor is 172.16.0.0, remote AS 65001, local AS 65101, external link\n"

    argv = ["--pathspace", "ps", "show", "bgp", "neighbor", "172.16.0.0"]
    assert nclu.main(argv, run=fake) == 0
    assert capsys.readouterr().out.startswith("BGP neighbor is 172.16.0.0")
    assert nclu.main([*argv[:-1], "10.9.9.9"], run=fake) == 1
    assert "No such neighbor" in capsys.readouterr().err
    assert asked == ["show bgp neighbors 172.16.0.0", "show bgp neighbors 10.9.9.9"]
