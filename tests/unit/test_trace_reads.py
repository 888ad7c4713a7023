"""The trace's state parsers on the tools' own output, and the causes they lead to for the
breakage no demo fault makes: a wrong VXLAN neighbour or FDB entry on the sending node."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabrictui.actions.trace.causes import PathContext, explain
from fabrictui.actions.trace.correlate import correlate
from fabrictui.actions.trace.model import Probe, Sighting
from fabrictui.actions.trace.points import observation_points
from fabrictui.actions.trace.reads import (
    longest_match,
    parse_brief_links,
    parse_fdb,
    parse_frr_route_json,
    parse_neigh,
    parse_route_get,
    parse_route_show,
)
from fabrictui.backends.base import BackendError
from fabrictui.backends.trace_ports import conventional_ports
from fabrictui.intent.labshape import pattern_shape
from fabrictui.model import KubeNode, KubePod, SwitchReading
from fabrictui.parsers import ParseError


def test_route_get() -> None:
    ok = parse_route_get("10.67.209.2 via 10.67.209.0 dev vxlan.calico src 10.68.86.128 uid 0 \n"
                         "    cache \n")  # fmt: skip
    assert ok.ok and ok.dev == "vxlan.calico" and ok.via == "10.67.209.0"
    assert parse_route_get("RTNETLINK answers: Invalid argument\n").error == "Invalid argument"
    assert not parse_route_get("RTNETLINK answers: Network is unreachable").ok
    with pytest.raises(ParseError):
        parse_route_get("")
    with pytest.raises(ParseError):
        parse_route_get("10.1.1.1 via 10.0.0.1 uid 0")


def test_route_show_longest_match() -> None:
    text = (
        "default via 10.9.0.254 dev d0 \n"
        "blackhole 10.65.76.192/26 proto 80 \n"
        "blackhole 10.65.76.193 \n"
    )
    entries = parse_route_show(text)
    best = longest_match(entries, "10.65.76.193")
    assert best is not None and best.kind == "blackhole" and best.prefix == "10.65.76.193/32"
    other = longest_match(entries, "10.65.76.200")
    assert other is not None and other.prefix == "10.65.76.192/26"
    with pytest.raises(ParseError):
        parse_route_show("blackhole nonsense")


def test_neigh_fdb_links_frr() -> None:
    neigh = parse_neigh("10.67.209.0 lladdr 66:11:22:33:44:55 PERMANENT\n10.1.1.1 FAILED\n")
    assert neigh["10.67.209.0"].lladdr == "66:11:22:33:44:55"
    assert neigh["10.1.1.1"].lladdr is None and neigh["10.1.1.1"].state == "FAILED"
    fdb = parse_fdb("66:11:22:33:44:55 dst 10.0.101.101 self permanent\n")
    assert fdb == {"66:11:22:33:44:55": ["10.0.101.101"]}
    links = parse_brief_links(
        "lo               UNKNOWN        00:00:00:00:00:00 <LOOPBACK,UP,LOWER_UP> \n"
        "d1@d0            DOWN           a2:8d:ec:b1:90:c7 <BROADCAST,MULTICAST> \n"
        "d0@d1            LOWERLAYERDOWN e2:18:fd:a5:97:31 <NO-CARRIER,BROADCAST,MULTICAST,UP> \n"
    )
    assert links["lo"].up and not links["d1"].up and not links["d0"].up
    routes = parse_frr_route_json(
        '{"10.0.101.0/24":[{"prefix":"10.0.101.0/24","protocol":"bgp","selected":true,'
        '"nexthops":[{"ip":"172.16.0.2","interfaceName":"swp51","active":true}]}]}'
    )
    assert routes[0].nexthops == (("172.16.0.2", "swp51", True),)
    assert parse_frr_route_json("{}") == []
    for bad in ("[]", "{", '{"x": 3}'):
        with pytest.raises(ParseError):
            parse_frr_route_json(bad)
    for parser, text in ((parse_neigh, "zz lladdr"), (parse_fdb, "nomac dst 1.2.3.4")):
        with pytest.raises(ParseError):
            parser(text)


SHAPE = pattern_shape()
PORTS = conventional_ports(SHAPE)
SRC_IP, DST_IP = "10.68.86.129", "10.67.209.2"
PEER_MAC = "66:aa:bb:cc:dd:01"


class StubLab:
    """Answers the reads of a sending node whose VXLAN entries may be broken."""

    def __init__(self, neigh: str, fdb: str) -> None:
        self.texts = {
            "route": "10.67.209.2 via 10.67.209.0 dev vxlan.calico src 10.68.86.128 uid 0 \n",
            "neigh": neigh,
            "fdb": fdb,
        }

    async def read_state(self, host: str, read: str, arg: str = "") -> str:
        if host != "k8s-node-l2-1" or read not in self.texts:
            raise BackendError(f"{host}: no {read}")
        return self.texts[read]

    async def bgp_summary(self, switch: str) -> SwitchReading:
        return SwitchReading(switch, None, "not asked", 0.0)


def context(lab: StubLab) -> PathContext:
    src = KubePod("space1", "a", 1, 1, "Running", 0, 0.0, SRC_IP, "k8s-node-l2-1")
    dst = KubePod("space1", "b", 1, 1, "Running", 0, 0.0, DST_IP, "k8s-node-l1-1")
    peer = KubeNode("k8s-node-l1-1", True, (), 0.0, "v1.15.2", "10.0.101.101",
                    ("10.67.209.0/26",), PEER_MAC)  # fmt: skip
    return PathContext(lab, SHAPE, PORTS, {}, {peer.name: peer}, [src, dst], src, dst,  # type: ignore[arg-type]
                       SRC_IP, DST_IP, "k8s-node-l2-1", "k8s-node-l1-1")  # fmt: skip


async def lost_after_vxlan(lab: StubLab, outer_dst: str | None = None) -> str | None:
    points = observation_points(SHAPE, PORTS, "k8s-node-l2-1", "caliA", "k8s-node-l1-1", "caliB")
    seen = [
        Sighting("k8s-node-l2-1", "caliA", 1.0, SRC_IP, DST_IP, 8, 9, 1),
        Sighting("k8s-node-l2-1", "vxlan.calico", 1.0, SRC_IP, DST_IP, 8, 9, 1),
    ]
    if outer_dst:
        seen.append(Sighting("k8s-node-l2-1", "eth0", 1.0, SRC_IP, DST_IP, 8, 9, 1,
                             "10.0.102.101", outer_dst, 4096))  # fmt: skip
    corr = correlate(points, seen, Probe(SRC_IP, DST_IP))
    return await explain(context(lab), corr, None)


GOOD_NEIGH = f"10.67.209.0 lladdr {PEER_MAC} PERMANENT\n"
GOOD_FDB = f"{PEER_MAC} dst 10.0.101.101 self permanent\n"


async def test_wrong_neighbour_mac_is_named() -> None:
    cause = await lost_after_vxlan(StubLab("10.67.209.0 lladdr 66:00:00:00:00:99 PERMANENT\n",
                                           GOOD_FDB))  # fmt: skip
    assert cause is not None
    assert "neighbour entry for 10.67.209.0" in cause and PEER_MAC in cause
    assert "66:00:00:00:00:99" in cause


async def test_missing_neighbour_and_fdb_are_named() -> None:
    cause = await lost_after_vxlan(StubLab("", GOOD_FDB))
    assert cause is not None and "no neighbour entry for 10.67.209.0" in cause
    cause = await lost_after_vxlan(StubLab(GOOD_NEIGH, ""))
    assert cause is not None and f"no FDB entry for {PEER_MAC}" in cause


async def test_fdb_to_the_wrong_vtep_is_named() -> None:
    lab = StubLab(GOOD_NEIGH, f"{PEER_MAC} dst 10.0.101.102 self permanent\n")
    cause = await lost_after_vxlan(lab, outer_dst="10.0.101.102")
    assert cause is not None and "sends to 10.0.101.102, not k8s-node-l1-1's 10.0.101.101" in cause


PARSERS = [
    parse_route_get,
    parse_route_show,
    parse_neigh,
    parse_fdb,
    parse_brief_links,
    parse_frr_route_json,
]
WORDS = ["10.65.76.193", "via", "dev", "blackhole", "lladdr", "dst", "66:aa:bb:cc:dd:01",
         "RTNETLINK answers:", "<UP>", "{", "}", "[", "]", '"nexthops"', ":", "5", "default",
         "10.0.0.0/8", "UP", "\n", " "]  # fmt: skip


@given(st.one_of(st.text(max_size=200), st.lists(st.sampled_from(WORDS)).map(" ".join)))
@settings(max_examples=300, deadline=None)
def test_parsers_raise_only_parse_error(text: str) -> None:
    for parser in PARSERS:
        with contextlib.suppress(ParseError):
            parser(text)


def test_frr_route_json_odd_shapes() -> None:
    for text in ('{"p": [{"nexthops": 5}]}', '{"p": [{"nexthops": "x"}]}', '{"p": [{}]}'):
        assert parse_frr_route_json(text)[0].nexthops == ()
