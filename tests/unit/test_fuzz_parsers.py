"""Fuzzing the text/JSON parsers: whatever the input, only ParseError escapes,
and whatever parses successfully has sane types and values.

Inputs: random text, random bytes decoded the two ways a backend may decode
them (errors="replace" / "surrogateescape"), and mutations of the real and
hand-made fixtures (truncation, deleted/duplicated/swapped lines, swapped
columns, odd characters, huge numbers, JSON with fields removed, retyped or
nulled).

Profiles: "ci" (300 examples a test, the default) and "long" (10,000):
FABRICTUI_FUZZ=long pytest tests/unit/test_fuzz_parsers.py
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from fabrictui.model import BgpPeer, BgpSummary
from fabrictui.parsers import ParseError
from fabrictui.parsers.bgp import parse_bgp_neighbors, parse_bgp_summary, parse_bgp_uptime_seconds
from fabrictui.parsers.bgp.bird_session import BirdSession, parse_protocols_all
from fabrictui.parsers.bgp.neighbor import BgpNeighbor
from fabrictui.parsers.bgp.neighbor.logged import LoggedChange, bgpd_log_file, last_change
from fabrictui.parsers.dns import (
    DigAnswer,
    ResolvConf,
    parse_dig,
    parse_getent_hosts,
    parse_resolv_conf,
)
from fabrictui.parsers.interfaces import Interface, parse_interfaces
from fabrictui.parsers.iptables import NatTable, parse_nat_table
from fabrictui.parsers.mtu import MAX_LINK_MTU, MIN_MTU, TooBig, parse_link_mtus, parse_too_big
from fabrictui.parsers.ping import PingStats, parse_ping_output
from fabrictui.parsers.services import services_from_api
from fabrictui.parsers.vagrant import (
    MachineStatus,
    SshHostConfig,
    machine_readable_error,
    parse_machine_readable_status,
    parse_ssh_config,
)
from tests._fuzz import fuzz_settings
from tests._paths import TEST_DATA

FUZZ = fuzz_settings(HealthCheck.data_too_large)

DATA = TEST_DATA


def _fixtures(folder: str, *suffixes: str) -> list[str]:
    paths = sorted(p for p in (DATA / folder).iterdir() if p.suffix in suffixes)
    return [p.read_text() for p in paths]


BGP_TEXT = _fixtures("bgp", ".txt")
BGP_JSON = _fixtures("bgp", ".json")
PING = _fixtures("ping", ".txt")
VAGRANT = _fixtures("vagrant", ".txt")
MTU_TEXT = _fixtures("mtu", ".txt")
STATUS = [t for t in VAGRANT if ",metadata," in t or ",error-exit," in t]
SSH_CONFIG = [t for t in VAGRANT if t.startswith("Host ")]
NAT = _fixtures("iptables", ".txt")
DNS = _fixtures("dns", ".txt")

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
        assert type(peer.dynamic) is bool and type(peer.policy_blocked) is bool
        assert peer.established or not peer.policy_blocked
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


def check_too_big(found: TooBig | None) -> None:
    if found is None:
        return
    assert isinstance(found, TooBig) and isinstance(found.reporter, str) and found.reporter
    assert found.mtu is None or (type(found.mtu) is int and MIN_MTU <= found.mtu <= 65535)
    assert found.size is None or (type(found.size) is int and found.size >= 0)


def check_link_mtus(mtus: dict[str, int]) -> None:
    assert isinstance(mtus, dict) and mtus
    for name, mtu in mtus.items():
        assert isinstance(name, str) and name and type(mtu) is int
        assert MIN_MTU <= mtu <= MAX_LINK_MTU


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


def check_nat(table: NatTable) -> None:
    for rule in table.rules:
        assert rule.chain and isinstance(rule.args, tuple)
    for chain in table.chains:
        table.destinations(chain)  # ends, even for chains that jump in circles
    for rule in table.in_chain("KUBE-SERVICES"):  # the Service trace's reading of each rule
        dport = rule.option("--dport") or ""
        if not dport.isascii() or not dport.isdigit() or len(dport) > 5:
            continue
        try:
            path = table.service_path((rule.option("-d") or "").removesuffix("/32"), int(dport),
                                      rule.option("-p") or "tcp")  # fmt: skip
        except ParseError:
            continue
        if path is None:  # the first rule for ip:port jumps nowhere
            continue
        assert path.chain and all(p.chain for p in path.picks)
        assert all(0.0 <= p.share <= 1.0 for p in path.picks)
        assert sum(p.share for p in path.picks) <= 1.0 + 1e-9


def check_getent(entries: tuple) -> None:
    for entry in entries:
        ipaddress.ip_address(entry.address)
        assert entry.name and not any(c.isspace() for c in entry.name)


def check_dig(answer: DigAnswer) -> None:
    assert answer.status is None or answer.status.isidentifier()
    for address in answer.addresses:
        ipaddress.ip_address(address)
    assert answer.query_ms is None or answer.query_ms >= 0


def check_resolv(conf: ResolvConf) -> None:
    for address in conf.nameservers:
        ipaddress.ip_address(address)
    for name in ("kubernetes.default", "a.b.c.d.e.f", "x."):
        assert conf.candidates(name)  # libc always asks at least once


PARSERS: list[tuple[Callable[[str], Any], Callable[[Any], None]]] = [
    (parse_bgp_summary, check_bgp),
    (parse_nat_table, check_nat),
    (parse_ping_output, check_ping),
    (parse_too_big, check_too_big),
    (parse_link_mtus, check_link_mtus),
    (parse_machine_readable_status, check_status),
    (parse_ssh_config, check_ssh_config),
    (parse_getent_hosts, check_getent),
    (parse_dig, check_dig),
    (parse_resolv_conf, check_resolv),
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


def damage(draw: Callable[..., Any], doc: Any, most: int = 3, objects_only: bool = False) -> Any:
    """`doc` with 1 to `most` of its values deleted or replaced by junk (`objects_only`: stop
    once the document itself is no longer an object)."""
    for _ in range(draw(st.integers(1, most))):
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
        if objects_only and not isinstance(doc, dict):
            break
    return doc


@st.composite
def mutated_json(draw: st.DrawFn) -> str:
    doc = json.loads(draw(st.sampled_from(BGP_JSON)))
    return json.dumps(damage(draw, doc, objects_only=True))


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
@given(mutated(MTU_TEXT + PING))
def test_mtu_mutated_fixtures(text: str) -> None:
    run(parse_too_big, check_too_big, text)
    run(parse_link_mtus, check_link_mtus, text)


@FUZZ
@given(mutated(STATUS))
def test_vagrant_status_mutated_fixtures(text: str) -> None:
    run(parse_machine_readable_status, check_status, text)


@FUZZ
@given(mutated(SSH_CONFIG))
def test_ssh_config_mutated_fixtures(text: str) -> None:
    run(parse_ssh_config, check_ssh_config, text)


@FUZZ
@given(st.one_of(st.text(), mutated(STATUS)))
def test_machine_readable_error_never_raises(text: str) -> None:
    """Reading why vagrant failed must itself never fail: words on one line, or None."""
    words = machine_readable_error(text)
    assert words is None or (isinstance(words, str) and words.strip() == words != "")
    assert words is None or not any(ch in words for ch in "\n\r\t")


@FUZZ
@given(mutated(NAT))
def test_nat_mutated_fixtures(text: str) -> None:
    run(parse_nat_table, check_nat, text)


@FUZZ
@given(mutated(DNS))
def test_dns_mutated_fixtures(text: str) -> None:
    assert len(DNS) >= 8
    for parser, check in PARSERS[-3:]:  # getent, dig, resolv.conf: each on every sample
        run(parser, check, text)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["items", "metadata", "name", "namespace", "spec", "ports", "port", "selector",
         "clusterIP", "subsets", "addresses", "ip", "targetRef", "kind", "endpoints",
         "labels", "conditions", "ready", "notReadyAddresses"]), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


@FUZZ
@given(JSON_VALUES, JSON_VALUES, JSON_VALUES)
def test_services_from_any_json(services: Any, endpoints: Any, slices: Any) -> None:
    """Whatever an API answers, the Service reader returns Services or a ParseError."""
    for args in ((services, endpoints, None), (services, None, slices)):
        try:
            found = services_from_api(*args)
        except ParseError as err:
            assert str(err)
            continue
        for svc in found:
            assert all(0 < p.port < 65536 for p in svc.ports)


def test_corpora_are_not_empty() -> None:
    # A fuzz test over an empty corpus would pass vacuously.
    assert len(BGP_TEXT) >= 8 and len(BGP_JSON) >= 6
    assert len(PING) >= 8 and STATUS and SSH_CONFIG and len(MTU_TEXT) >= 5 and len(NAT) >= 2
    for text in MTU_TEXT:
        if text.startswith("PING"):
            check_too_big(parse_too_big(text))
        else:
            check_link_mtus(parse_link_mtus(text))
    for text in BGP_TEXT + BGP_JSON:
        check_bgp(parse_bgp_summary(text))
    for text in PING:
        check_ping(parse_ping_output(text))


# --- round trip: any summary, rendered the way FRR/NCLU print it, parses back ----------

STATES_DOWN = ["Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Idle (Admin)"]
STATES_DOWN += ["Idle (PfxCt)", "Clearing", "Deleted"]


@st.composite
def uptimes(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["never", "clock", "dhm", "wdh", "ywd"]))
    n = st.integers(0, 99)
    if kind == "never":
        return "never"
    if kind == "clock":
        return f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}:{draw(n) % 60:02d}"
    a, b, c = draw(n), draw(n), draw(n)
    return f"{a}{kind[0]}{b:02d}{kind[1]}{c:02d}{kind[2]}"  # 1d01h44m, 02w3d04h, ...


@st.composite
def bgp_peers(draw: st.DrawFn, neighbor: str) -> tuple[BgpPeer, str]:
    """A peer and how its State/PfxRcd cell reads (number, state, (Policy), NoNeg)."""
    hostname = draw(
        st.none() | st.from_regex(r"[a-z][a-z0-9-]{0,12}(\.[a-z]{2,6}){0,2}", fullmatch=True)
    )
    kind = draw(st.sampled_from(["count", "down", "(Policy)", "NoNeg"]))
    if kind == "count":
        state, prefixes = "Established", draw(st.integers(0, 2**32))
        cell = str(prefixes)
    elif kind == "down":
        state, prefixes = draw(st.sampled_from(STATES_DOWN)), None
        cell = state
    else:
        state, prefixes, cell = "Established", None, kind
    peer = BgpPeer(
        neighbor=neighbor,
        hostname=hostname,
        remote_as=draw(st.integers(0, 2**32 - 1)),
        state=state,
        uptime=draw(uptimes()),
        prefixes_received=prefixes,
        msg_rcvd=draw(st.integers(0, 2**40)),
        msg_sent=draw(st.integers(0, 2**40)),
        policy_blocked=kind == "(Policy)",
    )
    return peer, cell


NEIGHBORS = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
    st.from_regex(r"swp[1-9][0-9]{0,2}(s[0-3])?|peerlink\.4094|eth[0-9]", fullmatch=True),
)


@st.composite
def summaries(draw: st.DrawFn) -> tuple[BgpSummary, list[str], list[bool]]:
    neighbors = draw(st.lists(NEIGHBORS, max_size=8, unique=True))
    drawn = [draw(bgp_peers(n)) for n in neighbors]
    dynamic = [draw(st.booleans()) for _ in drawn]
    summary = BgpSummary(
        router_id=str(draw(st.ip_addresses(v=4))),
        local_as=draw(st.integers(1, 2**32 - 1)),
        peers=tuple(
            replace(peer, dynamic=dyn) for (peer, _), dyn in zip(drawn, dynamic, strict=True)
        ),
    )
    return summary, [cell for _, cell in drawn], dynamic


def render_text(
    summary: BgpSummary, cells: list[str], dynamic: list[bool], release: str, collapse: bool
) -> str:
    names = [
        ("*" if dyn else "") + (f"{p.hostname}({p.neighbor})" if p.hostname else p.neighbor)
        for p, dyn in zip(summary.peers, dynamic, strict=True)
    ]
    head = "Neighbor        V         AS   MsgRcvd   MsgSent   TblVer  InQ OutQ  Up/Down "
    head += "State/PfxRcd"
    if release in ("7.5", "8.0"):
        head += "   PfxSnt"
    if release == "8.0":
        head += " Desc"
    lines = [
        "",
        "IPv4 Unicast Summary:",
        f"BGP router identifier {summary.router_id}, local AS number {summary.local_as} vrf-id 0",
        "BGP table version 7",
        f"Peers {len(names)}, using 40 KiB of memory",
        "",
    ]
    width = max([15, *(len(n) for n in names)]) if release != "7.0" else 15
    lines.append(head)
    for peer, cell, name in zip(summary.peers, cells, names, strict=True):
        row = (
            f" 4 {peer.remote_as:>10} {peer.msg_rcvd:>9} {peer.msg_sent:>9}"
            f"        0    0    0 {peer.uptime:>8} {cell:>12}"
        )
        if release in ("7.5", "8.0"):
            row += " (Policy)" if cell == "(Policy)" else "        3"
        if release == "8.0":
            row += " to the spine" if peer.hostname else " N/A"
        if len(name) > width:  # FRR before 7.5: the cells move to the next line
            lines += [name, " " * 16 + row.lstrip()]
        else:
            lines.append(f"{name:<{width}}{row}")
    lines += ["", f"Total number of neighbors {len(names)}"]
    if any(dynamic):
        lines += ["* - dynamic neighbor", f"{sum(dynamic)} dynamic neighbor(s), limit 100"]
    if collapse:
        lines = [" ".join(line.split()) for line in lines]
    return "\n".join(lines) + "\n"


def render_json(summary: BgpSummary, cells: list[str], style: str, asdot: bool) -> str:
    def as_value(number: int) -> int | str:
        if asdot and number >= 65536:
            return f"{number >> 16}.{number & 0xFFFF}"
        return number

    peers: dict[str, Any] = {}
    for peer, cell in zip(summary.peers, cells, strict=True):
        data: dict[str, Any] = {
            "remoteAs": as_value(peer.remote_as or 0),
            "msgRcvd": peer.msg_rcvd,
            "msgSent": peer.msg_sent,
            "peerUptime": peer.uptime,
            "state": peer.state,
            "idType": "interface" if peer.neighbor[0].isalpha() else "ipv4",
        }
        if peer.hostname:
            data["hostname"] = peer.hostname
        if peer.dynamic:
            data["dynamicPeer"] = True
        count = peer.prefixes_received or 0
        data["prefixReceivedCount" if style == "nclu" else "pfxRcd"] = count
        if cell in ("(Policy)", "NoNeg"):
            data["peerState"] = "Policy" if cell == "(Policy)" else "NoNeg"
        peers[peer.neighbor] = data
    family = {"routerId": summary.router_id, "as": as_value(summary.local_as or 0), "peers": peers}
    if style == "unwrapped":
        return json.dumps(family, indent=2)
    if style == "nclu":
        return json.dumps({"ipv4 unicast": family, "ipv6 unicast": None, "l2vpn evpn": None})
    return json.dumps({"ipv4Unicast": family})


@FUZZ
@given(
    summaries(),
    st.sampled_from(["7.0", "7.5", "8.0"]),
    st.booleans(),
)
def test_text_round_trip(
    drawn: tuple[BgpSummary, list[str], list[bool]], release: str, collapse: bool
) -> None:
    summary, cells, dynamic = drawn
    assert parse_bgp_summary(render_text(summary, cells, dynamic, release, collapse)) == summary


@FUZZ
@given(summaries(), st.sampled_from(["wrapped", "unwrapped", "nclu"]), st.booleans())
def test_json_round_trip(
    drawn: tuple[BgpSummary, list[str], list[bool]], style: str, asdot: bool
) -> None:
    summary, cells, _ = drawn
    assert parse_bgp_summary(render_json(summary, cells, style, asdot)) == summary


# --- network policy: selectors and policy objects (issue 19) ----------------------------

POLICY_SAMPLES: list[tuple[str, dict[str, Any]]] = [
    (
        "NetworkPolicy",
        {
            "metadata": {"name": "web", "namespace": "space1"},
            "spec": {
                "podSelector": {"matchLabels": {"app": "nginx"}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "podSelector": {
                                    "matchExpressions": [
                                        {"key": "tier", "operator": "In", "values": ["a"]}
                                    ]
                                }
                            },
                            {"namespaceSelector": {}},
                            {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
                        ],
                        "ports": [{"protocol": "TCP", "port": 80}, {"port": "http"}],
                    }
                ],
                "egress": [{"to": [{"podSelector": {}}], "ports": [{"port": 53}]}],
            },
        },
    ),
    (
        "CalicoNetworkPolicy",
        {
            "metadata": {"name": "deny", "namespace": "space1"},
            "spec": {
                "order": 10,
                "selector": "app == 'nginx' && !has(debug)",
                "ingress": [
                    {
                        "action": "Deny",
                        "protocol": "TCP",
                        "source": {"selector": "role in {'a', 'b'}", "nets": ["10.0.0.0/8"]},
                        "destination": {"ports": [80, "8000:8080"]},
                    },
                    {"action": "Allow"},
                ],
            },
        },
    ),
]


def _mutate_json(draw: st.DrawFn, value: Any) -> Any:
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        choice = draw(st.integers(0, 3))
        out = dict(value)
        if choice == 0:
            del out[key]
        elif choice == 1:
            out[key] = draw(st.sampled_from([None, 7, "x", [], {}, True, "a ==", "1:0"]))
        else:
            out[key] = _mutate_json(draw, value[key])
        return out
    if isinstance(value, list) and value:
        i = draw(st.integers(0, len(value) - 1))
        return [*value[:i], _mutate_json(draw, value[i]), *value[i + 1 :]]
    return draw(st.sampled_from([None, 0, -1, 70000, "", "x", "a == 'b' ||", "{", True]))


@st.composite
def mutated_policies(draw: st.DrawFn) -> tuple[str, Any]:
    kind, obj = draw(st.sampled_from(POLICY_SAMPLES))
    for _ in range(draw(st.integers(1, 4))):
        obj = _mutate_json(draw, obj)
    return kind, obj


@FUZZ
@given(mutated_policies())
def test_policy_mutated_objects(sample: tuple[str, Any]) -> None:
    from fabrictui.parsers.netpolicy import policies_from_list

    kind, obj = sample
    try:
        policies = policies_from_list(kind, {"items": [obj]})
    except ParseError:
        return
    for policy in policies:
        assert policy.name and set(policy.types) <= {"Ingress", "Egress"}
        for rule in policy.ingress + policy.egress:
            assert rule.action in ("Allow", "Deny", "Log", "Pass")


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("ab =!&|(){},'\"in has all() not")), max_size=40))
def test_calico_selector_text(text: str) -> None:
    from fabrictui.parsers.selectors import calico_selector

    try:
        selector = calico_selector(text)
    except ParseError:
        return
    assert isinstance(selector.matches({"a": "b"}), bool)


IPTABLES_SAVE = [
    '[0:0] -A KUBE-SERVICES -d 10.80.0.10/32 -p tcp -m comment --comment "space1/s: has no '
    'endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable\n',
    "# Generated by iptables-save v1.8.9 (nf_tables)\n*filter\n:INPUT ACCEPT [0:0]\n"
    ":ftui-policy - [0:0]\n[4:336] -A FORWARD -j ftui-policy\n"
    '[1:84] -A ftui-pi-0a -m comment --comment "policy space1/d: no ingress rule allows" -j DROP\n'
    "[0:0] -A ftui-pi-0a -s 10.64.0.66/32 -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n",
]


@FUZZ
@given(st.one_of(mutated(IPTABLES_SAVE), st.text()))
def test_iptables_save_mutated(text: str) -> None:
    from fabrictui.parsers.iptables import parse_iptables_save

    try:
        rules = parse_iptables_save(text)
    except ParseError:
        return
    assert all(r.packets >= 0 and r.bytes >= 0 and r.chain for r in rules)
    from fabrictui.parsers.iptables import reject_rule

    found = reject_rule(rules, "10.80.0.10", 80)  # the Service trace's REJECT lookup
    assert found is None or (found.target == "REJECT" and found.chain == "KUBE-SERVICES")


# --- BGP neighbor detail (issue 26): FRR JSON and text, BIRD `show protocols all` -------

NEIGHBOR_DIR = DATA / "bgp" / "neighbors"
NEIGHBOR_TEXT = [p.read_text() for p in sorted(NEIGHBOR_DIR.glob("*.txt")) if "bird" not in p.name]
NEIGHBOR_JSON = [p.read_text() for p in sorted(NEIGHBOR_DIR.glob("*.json"))]
BIRD_ALL = [p.read_text() for p in sorted(NEIGHBOR_DIR.glob("bird-*.txt"))]


def check_neighbors(found: list[BgpNeighbor]) -> None:
    assert isinstance(found, list)
    for n in found:
        assert isinstance(n, BgpNeighbor) and n.peer and n.state
        assert n.up_seconds is None or (n.state == "Established" and n.up_seconds >= 0)
        for value in (n.last_reset_seconds, n.hold, n.keepalive, n.hold_configured):
            assert value is None or value >= 0
        for kind, sent, rcvd in n.messages:
            assert isinstance(kind, str) and sent >= 0 and rcvd >= 0
        if n.notification is not None:
            assert n.notification.direction in ("sent", "received")
            assert isinstance(n.notification.words, str)
        assert n.remote_as is None or 0 <= n.remote_as < 2**32


def check_bird_sessions(found: list[BirdSession]) -> None:
    assert isinstance(found, list)
    for s in found:
        assert isinstance(s, BirdSession) and s.protocol.name
        assert s.neighbor_as is None or s.neighbor_as >= 0
        for timer in (s.hold, s.keepalive):
            assert timer is None or (len(timer) == 2 and min(timer) >= 0)
        assert s.notification is None or s.notification[0] in ("sent", "received")


@st.composite
def mutated_neighbor_json(draw: st.DrawFn) -> str:
    doc = json.loads(draw(st.sampled_from(NEIGHBOR_JSON)))
    return json.dumps(damage(draw, doc, objects_only=True))


@FUZZ
@given(st.one_of(st.text(), mutated(NEIGHBOR_TEXT + NEIGHBOR_JSON)))
def test_bgp_neighbor_mutated_fixtures(text: str) -> None:
    run(parse_bgp_neighbors, check_neighbors, text)


@FUZZ
@given(mutated_neighbor_json())
def test_bgp_neighbor_mutated_json(text: str) -> None:
    run(parse_bgp_neighbors, check_neighbors, text)


@FUZZ
@given(st.one_of(st.text(), mutated(BIRD_ALL)))
def test_bird_protocols_all_mutated(text: str) -> None:
    run(parse_protocols_all, check_bird_sessions, text)


FRR_LOGS = [p.read_text() for p in sorted(NEIGHBOR_DIR.glob("frr-*.log"))]


def check_logged(found: LoggedChange | None) -> None:
    if found is None:
        return
    assert found.state in ("Up", "Down") and found.peer == "172.16.0.0"
    assert found.reason == "" or found.state == "Down"
    assert found.seconds_ago is None or found.seconds_ago >= 0
    assert found.notification is None or found.notification.direction in ("sent", "received")


@FUZZ
@given(st.one_of(st.text(), mutated(FRR_LOGS)), st.sampled_from(["", "2026/12/07 16:51:06"]))
def test_frr_log_mutated(text: str, now: str) -> None:
    run(lambda t: last_change(t, "172.16.0.0", now), check_logged, text)
    run(bgpd_log_file, check_log_file, text)


def check_log_file(path: str | None) -> None:
    assert path is None or (path.startswith("/") and not any(c.isspace() for c in path))


def test_neighbor_corpora_are_not_empty() -> None:
    assert FRR_LOGS and check_logged(last_change(FRR_LOGS[0], "172.16.0.0")) is None
    assert len(NEIGHBOR_TEXT) >= 5 and len(NEIGHBOR_JSON) >= 5 and len(BIRD_ALL) >= 4
    for text in NEIGHBOR_TEXT + NEIGHBOR_JSON:
        check_neighbors(parse_bgp_neighbors(text))
    for text in BIRD_ALL:
        check_bird_sessions(parse_protocols_all(text))


INTERFACE_LISTS = _fixtures("interfaces", ".txt")


def check_interfaces(found: list[Interface]) -> None:
    assert found and all(isinstance(i, Interface) and i.name for i in found)
    for i in found:
        assert i.mtu is None or i.mtu >= 0
        assert i.speed_mbps is None or i.speed_mbps >= 0
        assert i.errors >= 0


@FUZZ
@given(st.one_of(st.text(), mutated(INTERFACE_LISTS)))
def test_interface_list_mutated(text: str) -> None:
    run(parse_interfaces, check_interfaces, text)


def test_interface_corpus_is_not_empty() -> None:
    assert INTERFACE_LISTS
    for text in INTERFACE_LISTS:
        check_interfaces(parse_interfaces(text))


# --- drill down (issue 26): events in both groups, a pod's and a node's detail -------------

KUBEDETAIL = {
    p.name: json.loads(p.read_text()) for p in sorted((DATA / "kubedetail").glob("*.json"))
}


@FUZZ
@given(st.sampled_from(sorted(KUBEDETAIL)), st.data())
def test_kubedetail_mutated_objects(name: str, data: st.DataObject) -> None:
    from fabrictui.parsers.kubedetail.events import events_from_api, order_events
    from fabrictui.parsers.kubedetail.objects import node_detail, pod_detail

    doc = damage(data.draw, json.loads(json.dumps(KUBEDETAIL[name])), most=4)
    parser = events_from_api if name.startswith("events") else (
        pod_detail if name.startswith("pod") else node_detail
    )  # fmt: skip
    try:
        found = parser(doc)
    except ParseError as err:
        assert str(err)
        return
    if isinstance(found, list):
        for event in order_events(found):
            assert isinstance(event.message, str) and type(event.count) is int
            assert event.count >= 0
    else:
        assert isinstance(found.name, str)


PROMETHEUS_ANSWERS = _fixtures("prometheus", ".json")


@st.composite
def mutated_prometheus(draw: st.DrawFn) -> str:
    doc = json.loads(draw(st.sampled_from(PROMETHEUS_ANSWERS)))
    return json.dumps(damage(draw, doc))


@FUZZ
@given(st.one_of(mutated_prometheus(), st.text()))
def test_prometheus_answers_mutated(text: str) -> None:
    from fabrictui.parsers.exporters import bird_protocols, node_interfaces
    from fabrictui.parsers.promql import frr_sessions, parse_query, parse_targets

    parsers = (
        lambda t: frr_sessions(parse_query(t)),
        lambda t: node_interfaces(parse_query(t)),
        lambda t: bird_protocols(parse_query(t)),
        parse_targets,
    )
    for parse in parsers:
        try:
            result = parse(text)
        except ParseError as err:
            assert str(err)
            continue
        assert isinstance(result, dict | list)
