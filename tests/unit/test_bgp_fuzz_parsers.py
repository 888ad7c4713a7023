"""Fuzzing the scenario-2 parsers (calicoctl node status, BIRD show protocols,
show ip route) the way tests/unit/test_fuzz_parsers.py fuzzes the others: random
text and bytes, mutated fixtures, mutated JSON; only ParseError may escape and
whatever parses has sane types. Same profiles (FABRICTUI_FUZZ=long)."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from fabrictui.parsers.bird import STATES, BirdProtocol, parse_protocols
from fabrictui.parsers.calico import PEER_TYPES, CalicoPeer, parse_node_status
from fabrictui.parsers.routes import NextHop, Route, parse_routes
from tests._fuzz import fuzz_settings
from tests._paths import TEST_DATA
from tests.unit.test_fuzz_parsers import JSON_JUNK, _paths, mutated, run

FUZZ = fuzz_settings(HealthCheck.data_too_large)
DATA = TEST_DATA


def _fixtures(folder: str) -> list[str]:
    return [p.read_text() for p in sorted((DATA / folder).iterdir())]


CALICO = _fixtures("calico")
BIRD = _fixtures("bird")
ROUTES = _fixtures("routes")
ROUTES_JSON = [t for t in ROUTES if t.lstrip().startswith("{")]


def check_calico(peers: list[CalicoPeer]) -> None:
    assert isinstance(peers, list)
    for peer in peers:
        assert isinstance(peer, CalicoPeer)
        ipaddress.ip_address(peer.address)
        assert peer.peer_type in PEER_TYPES
        assert peer.state in STATES
        assert isinstance(peer.since, str) and peer.since
        assert isinstance(peer.info, str) and "\n" not in peer.info
        assert isinstance(peer.established, bool)


def check_bird(protocols: list[BirdProtocol]) -> None:
    assert isinstance(protocols, list)
    names = [p.name for p in protocols]
    assert len(set(names)) == len(names)
    for proto in protocols:
        assert isinstance(proto, BirdProtocol)
        assert proto.name and not any(ch.isspace() for ch in proto.name)
        assert proto.state in STATES
        assert proto.info == proto.info.strip() and proto.info.isprintable()
        assert proto.peer_address is None or ipaddress.ip_address(proto.peer_address)
        assert isinstance(proto.established, bool)


def check_routes(routes: list[Route]) -> None:
    assert isinstance(routes, list)
    for route in routes:
        assert isinstance(route, Route)
        ipaddress.ip_network(route.prefix)
        assert isinstance(route.protocol, str) and route.protocol.islower()
        assert type(route.selected) is bool and type(route.installed) is bool
        assert isinstance(route.nexthops, tuple)
        for hop in route.nexthops:
            assert isinstance(hop, NextHop)
            assert hop.ip is not None or hop.interface is not None
            assert hop.ip is None or ipaddress.ip_address(hop.ip)
            assert hop.interface is None or not any(ch.isspace() for ch in hop.interface)
        assert 0 <= route.ecmp <= len(route.nexthops)
        for number in (route.distance, route.metric):
            assert number is None or (type(number) is int and number >= 0)


PARSERS: list[tuple[Callable[[str], Any], Callable[[Any], None]]] = [
    (parse_node_status, check_calico),
    (parse_protocols, check_bird),
    (parse_routes, check_routes),
]


@st.composite
def mutated_route_json(draw: st.DrawFn) -> str:
    doc = json.loads(draw(st.sampled_from(ROUTES_JSON)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON_JUNK)
    return json.dumps(doc)


@FUZZ
@given(st.text())
def test_random_text(text: str) -> None:
    for parser, check in PARSERS:
        run(parser, check, text)


@FUZZ
@given(st.binary(), st.sampled_from(["replace", "surrogateescape"]))
def test_random_bytes(data: bytes, errors: str) -> None:
    for parser, check in PARSERS:
        run(parser, check, data.decode("utf-8", errors=errors))


@FUZZ
@given(mutated(CALICO))
def test_calico_mutated_fixtures(text: str) -> None:
    run(parse_node_status, check_calico, text)


@FUZZ
@given(mutated(BIRD))
def test_bird_mutated_fixtures(text: str) -> None:
    run(parse_protocols, check_bird, text)


@FUZZ
@given(mutated(ROUTES))
def test_routes_mutated_fixtures(text: str) -> None:
    run(parse_routes, check_routes, text)


@FUZZ
@given(mutated_route_json())
def test_routes_mutated_json(text: str) -> None:
    run(parse_routes, check_routes, text)


def test_corpora_are_not_empty() -> None:
    assert len(CALICO) >= 2 and len(BIRD) >= 2 and len(ROUTES) >= 3 and ROUTES_JSON
    for text in CALICO:
        check_calico(parse_node_status(text))
    for text in BIRD:
        check_bird(parse_protocols(text))
    for text in ROUTES:
        check_routes(parse_routes(text))
