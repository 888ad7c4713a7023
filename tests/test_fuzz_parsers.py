"""Fuzzing the text/JSON parsers: whatever the input, only ParseError escapes,
and whatever parses successfully has sane types and values.

Inputs: random text, random bytes decoded the two ways a backend may decode
them (errors="replace" / "surrogateescape"), and mutations of the real and
hand-made fixtures (truncation, deleted/duplicated/swapped lines, swapped
columns, odd characters, huge numbers, JSON with fields removed, retyped or
nulled).

Profiles: "ci" (300 examples a test, the default) and "long" (10,000):
FABRICTUI_FUZZ=long pytest tests/test_fuzz_parsers.py
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabrictui.model import BgpPeer, BgpSummary
from fabrictui.parsers import ParseError
from fabrictui.parsers.bgp import parse_bgp_summary, parse_bgp_uptime_seconds
from fabrictui.parsers.ping import PingStats, parse_ping_output
from fabrictui.parsers.vagrant import (
    MachineStatus,
    SshHostConfig,
    parse_machine_readable_status,
    parse_ssh_config,
)

settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
FUZZ = settings(
    settings.get_profile("long" if os.environ.get("FABRICTUI_FUZZ") == "long" else "ci"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DATA = Path(__file__).parent / "data"


def _fixtures(folder: str, *suffixes: str) -> list[str]:
    paths = sorted(p for p in (DATA / folder).iterdir() if p.suffix in suffixes)
    return [p.read_text() for p in paths]


BGP_TEXT = _fixtures("bgp", ".txt")
BGP_JSON = _fixtures("bgp", ".json")
PING = _fixtures("ping", ".txt")
VAGRANT = _fixtures("vagrant", ".txt")
STATUS = [t for t in VAGRANT if ",metadata," in t or ",error-exit," in t]
SSH_CONFIG = [t for t in VAGRANT if t.startswith("Host ")]

# --- sanity of successful results --------------------------------------------------


def check_bgp(summary: BgpSummary) -> None:
    assert isinstance(summary, BgpSummary)
    assert isinstance(summary.router_id, str)
    if summary.router_id:
        ipaddress.IPv4Address(summary.router_id)
    assert summary.local_as is None or (
        type(summary.local_as) is int and 0 <= summary.local_as < 2**32
    )
    assert isinstance(summary.peers, tuple)
    neighbors = [peer.neighbor for peer in summary.peers]
    assert len(set(neighbors)) == len(neighbors)
    for peer in summary.peers:
        assert isinstance(peer, BgpPeer)
        assert isinstance(peer.neighbor, str) and peer.neighbor
        assert not any(ch.isspace() for ch in peer.neighbor)
        assert peer.hostname is None or (isinstance(peer.hostname, str) and peer.hostname)
        assert peer.remote_as is None or (type(peer.remote_as) is int and peer.remote_as >= 0)
        assert peer.remote_as is None or peer.remote_as < 2**32
        assert isinstance(peer.state, str) and peer.state[:1].isupper()
        assert isinstance(peer.uptime, str)
        for count in (peer.prefixes_received, peer.msg_rcvd, peer.msg_sent):
            assert count is None or (type(count) is int and count >= 0)
        if not peer.established:
            assert peer.prefixes_received is None
        seconds = parse_bgp_uptime_seconds(peer.uptime)
        assert seconds is None or (type(seconds) is int and seconds >= 0)


def check_ping(stats: PingStats) -> None:
    assert isinstance(stats, PingStats)
    assert type(stats.transmitted) is int and stats.transmitted >= 0
    assert type(stats.received) is int and 0 <= stats.received <= stats.transmitted
    rtts = (stats.rtt_min_ms, stats.rtt_avg_ms, stats.rtt_max_ms)
    assert all(v is None for v in rtts) or all(
        isinstance(v, float) and math.isfinite(v) for v in rtts
    )
    if stats.rtt_min_ms is not None:
        assert stats.rtt_min_ms <= stats.rtt_avg_ms <= stats.rtt_max_ms  # type: ignore[operator]
    assert stats.ttl is None or (type(stats.ttl) is int and stats.ttl >= 0)
    assert 0.0 <= stats.loss_pct <= 100.0
    assert stats.errors >= 0 and stats.duplicates >= 0
    assert stats.error is None or isinstance(stats.error, str)
    result = stats.as_result("ns/pod")
    assert result.transmitted == stats.transmitted


def check_status(machines: list[MachineStatus]) -> None:
    assert isinstance(machines, list) and machines
    names = [m.name for m in machines]
    assert len(set(names)) == len(names)
    for machine in machines:
        assert isinstance(machine, MachineStatus)
        assert all(isinstance(v, str) for v in machine)
        assert machine.name and machine.state
        machine.vm_state  # noqa: B018 - must not raise


def check_ssh_config(hosts: dict[str, SshHostConfig]) -> None:
    assert isinstance(hosts, dict) and hosts
    for name, config in hosts.items():
        assert isinstance(config, SshHostConfig) and config.host == name
        assert config.port is None or 0 < config.port < 65536
        assert all(isinstance(f, str) for f in config.identity_files)
        assert config.identities_only in (None, True, False)


PARSERS: list[tuple[Callable[[str], Any], Callable[[Any], None]]] = [
    (parse_bgp_summary, check_bgp),
    (parse_ping_output, check_ping),
    (parse_machine_readable_status, check_status),
    (parse_ssh_config, check_ssh_config),
]


def run(parser: Callable[[str], Any], check: Callable[[Any], None], text: str) -> None:
    """Parse; a ParseError is fine (with a message), anything else fails the test."""
    try:
        result = parser(text)
    except ParseError as err:
        assert str(err), "ParseError without a message"
        return
    check(result)


# --- mutation strategies ---------------------------------------------------------------

ODD_CHARS = [
    "\ufffd",  # what errors="replace" leaves
    "\udcff",  # what errors="surrogateescape" leaves
    "\x00",
    "\t",
    "\r",
    "\x0b",
    "\x85",  # NEL: str.splitlines() breaks lines on it
    "\u2028",
    "\u00a0",
    "٣",  # an Arabic-Indic digit: isdigit() but not ASCII
    "²",
    "(",
    ")",
    "%",
    "*",
    "{",
    '"',
    ",",
    "%!(VAGRANT_COMMA)",
    "\\n",
]
HUGE = ["9" * 25, "9" * 5000, "4294967296", "18446744073709551616", "-1", "1e309", "nan"]
TRICKY_TOKENS = [
    *HUGE,
    "²",
    "٣٣",
    "1²",
    "١٢",
    "\U0001d7d7",  # MATHEMATICAL BOLD DIGIT NINE
    "0",
    "65535.65535",
    "65536.1",
    "1.10",
    "never",
    "99:99:99",
    "1d",
    "(Policy)",
    "(Admin)",
    "NoNeg",
    "Idle",
    "established",
    "*",
    "a(b)",
    "x(1.2.3.4)",
    "fe80::1%swp1",
    "=",
    '""',
    "Host",
    "",
]


@st.composite
def mutated(draw: st.DrawFn, corpus: list[str]) -> str:
    text = draw(st.sampled_from(corpus))
    for _ in range(draw(st.integers(1, 3))):
        lines = text.splitlines(keepends=True) or [""]
        op = draw(
            st.sampled_from(
                [
                    "truncate",
                    "delete",
                    "duplicate",
                    "swap_lines",
                    "swap_tokens",
                    "insert",
                    "huge",
                    "retoken",
                    "retoken",
                    "retoken",
                ]
            )
        )
        if op == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
        elif op == "delete":
            del lines[draw(st.integers(0, len(lines) - 1))]
            text = "".join(lines)
        elif op == "duplicate":
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            text = "".join(lines)
        elif op == "swap_lines":
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
        elif op == "swap_tokens":
            i = draw(st.integers(0, len(lines) - 1))
            tokens = lines[i].split()
            if len(tokens) >= 2:
                a, b = draw(st.integers(0, len(tokens) - 1)), draw(st.integers(0, len(tokens) - 1))
                tokens[a], tokens[b] = tokens[b], tokens[a]
                lines[i] = " ".join(tokens) + "\n"
            text = "".join(lines)
        elif op == "retoken":
            # One cell replaced, or an odd character slipped into it; mostly in
            # table rows (lines of many cells), where the parsing is.
            rows = [n for n, line in enumerate(lines) if len(line.split()) >= 5]
            if rows and draw(st.integers(0, 4)):
                i = draw(st.sampled_from(rows))
            else:
                i = draw(st.integers(0, len(lines) - 1))
            tokens = lines[i].split()
            if tokens:
                a = draw(st.integers(0, len(tokens) - 1))
                if draw(st.booleans()):
                    tokens[a] = draw(st.sampled_from(TRICKY_TOKENS))
                else:
                    at = draw(st.integers(0, len(tokens[a])))
                    odd = draw(st.sampled_from(ODD_CHARS))
                    tokens[a] = tokens[a][:at] + odd + tokens[a][at:]
                lines[i] = " ".join(tokens) + "\n"
            text = "".join(lines)
        elif op == "insert":
            at = draw(st.integers(0, len(text)))
            extra = draw(st.sampled_from(ODD_CHARS) | st.text(max_size=5))
            text = text[:at] + extra + text[at:]
        else:  # replace a run of digits with a huge or odd number
            digits = [i for i, ch in enumerate(text) if ch.isdigit()]
            if digits:
                at = draw(st.sampled_from(digits))
                end = at
                while end < len(text) and text[end].isdigit():
                    end += 1
                text = text[:at] + draw(st.sampled_from(HUGE)) + text[end:]
    return text


JSON_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["1.10", "65536.1", "never", "Idle (Admin)", "(Policy)", "", "1d01h44m"]),
    st.lists(st.none(), max_size=2),
    st.dictionaries(st.sampled_from(["peers", "state", "routerId"]), st.none(), max_size=2),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@st.composite
def mutated_json(draw: st.DrawFn) -> str:
    doc = json.loads(draw(st.sampled_from(BGP_JSON)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[key]
        else:
            parent[key] = draw(JSON_JUNK)
        if not isinstance(doc, dict):
            break
    return json.dumps(doc)


# --- the tests ---------------------------------------------------------------------------


@FUZZ
@given(st.text())
def test_random_text(text: str) -> None:
    for parser, check in PARSERS:
        run(parser, check, text)


@FUZZ
@given(st.binary(), st.sampled_from(["replace", "surrogateescape"]))
def test_random_bytes(data: bytes, errors: str) -> None:
    text = data.decode("utf-8", errors=errors)
    for parser, check in PARSERS:
        run(parser, check, text)


@FUZZ
@given(mutated(BGP_TEXT + BGP_JSON))
def test_bgp_mutated_fixtures(text: str) -> None:
    run(parse_bgp_summary, check_bgp, text)


@FUZZ
@given(mutated_json())
def test_bgp_mutated_json(text: str) -> None:
    run(parse_bgp_summary, check_bgp, text)


@FUZZ
@given(mutated(PING))
def test_ping_mutated_fixtures(text: str) -> None:
    run(parse_ping_output, check_ping, text)


@FUZZ
@given(mutated(STATUS))
def test_vagrant_status_mutated_fixtures(text: str) -> None:
    run(parse_machine_readable_status, check_status, text)


@FUZZ
@given(mutated(SSH_CONFIG))
def test_ssh_config_mutated_fixtures(text: str) -> None:
    run(parse_ssh_config, check_ssh_config, text)


def test_corpora_are_not_empty() -> None:
    # A fuzz test over an empty corpus would pass vacuously.
    assert len(BGP_TEXT) >= 8 and len(BGP_JSON) >= 6
    assert len(PING) >= 8 and STATUS and SSH_CONFIG
    for text in BGP_TEXT + BGP_JSON:
        check_bgp(parse_bgp_summary(text))
    for text in PING:
        check_ping(parse_ping_output(text))
