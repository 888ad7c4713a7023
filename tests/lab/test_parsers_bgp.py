"""parse_bgp_summary against the seed, real FRR 8.4 captures and hand-made
fixtures of the other releases' shapes (tests/data/bgp/)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from fabrictui.model import BgpPeer, BgpSummary
from fabrictui.parsers import ParseError
from fabrictui.parsers.bgp import parse_bgp_summary, parse_bgp_uptime_seconds
from tests._paths import TEST_DATA
from tests._require import require

DATA = TEST_DATA / "bgp"


def load(name: str) -> str:
    return (DATA / name).read_text()


def by_neighbor(summary: BgpSummary) -> dict[str, BgpPeer]:
    return {peer.neighbor: peer for peer in summary.peers}


# --- the seed ---------------------------------------------------------------------

SEED_LEAF1 = BgpSummary(
    router_id="172.16.255.101",
    local_as=65101,
    peers=(
        BgpPeer(
            neighbor="172.16.0.0",
            hostname="spine-sw1.lab.local",
            remote_as=65001,
            state="Established",
            uptime="02:07:56",
            prefixes_received=3,
            msg_rcvd=2564,
            msg_sent=2566,
        ),
        BgpPeer(
            neighbor="172.16.0.4",
            hostname="spine-sw2.lab.local",
            remote_as=65002,
            state="Established",
            uptime="02:07:56",
            prefixes_received=3,
            msg_rcvd=2565,
            msg_sent=2566,
        ),
    ),
)

SEED_LEAF2 = BgpSummary(
    router_id="172.16.255.102",
    local_as=65102,
    peers=(
        BgpPeer(
            neighbor="172.16.0.2",
            hostname="spine-sw1.lab.local",
            remote_as=65001,
            state="Established",
            uptime="02:07:43",
            prefixes_received=4,
            msg_rcvd=2560,
            msg_sent=2562,
        ),
        BgpPeer(
            neighbor="172.16.0.6",
            hostname="spine-sw2.lab.local",
            remote_as=65002,
            state="Established",
            uptime="02:07:43",
            prefixes_received=4,
            msg_rcvd=2561,
            msg_sent=2562,
        ),
    ),
)


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("seed-leaf1-nclu-as-printed.txt", SEED_LEAF1),
        ("seed-leaf1-nclu-aligned.txt", SEED_LEAF1),
        ("seed-leaf2-nclu-as-printed.txt", SEED_LEAF2),
        ("seed-leaf2-nclu-aligned.txt", SEED_LEAF2),
        ("nclu-leaf1-show-bgp-summary.json", SEED_LEAF1),
    ],
)
def test_seed_outputs(fixture: str, expected: BgpSummary) -> None:
    assert parse_bgp_summary(load(fixture)) == expected


def test_seed_as_printed_is_verbatim_from_the_seed() -> None:
    seed = Path("/work/shared/seed/calico-vxlan-overlay.txt")
    if not seed.exists():
        pytest.skip("seed document not present on this machine")
    assert load("seed-leaf1-nclu-as-printed.txt") in seed.read_text()
    assert load("seed-leaf2-nclu-as-printed.txt") in seed.read_text()


def test_seed_short_hostnames_name_the_spines() -> None:
    summary = parse_bgp_summary(load("seed-leaf1-nclu-as-printed.txt"))
    assert [p.short_hostname for p in summary.peers] == ["spine-sw1", "spine-sw2"]
    assert all(p.established for p in summary.peers)


def test_collapsed_and_aligned_whitespace_agree() -> None:
    aligned = load("frr-7.5-show-bgp-summary.txt")
    collapsed = "\n".join(" ".join(line.split()) for line in aligned.splitlines())
    assert parse_bgp_summary(collapsed) == parse_bgp_summary(aligned)


def test_crlf_line_endings() -> None:
    text = load("seed-leaf1-nclu-aligned.txt").replace("\n", "\r\n")
    assert parse_bgp_summary(text) == SEED_LEAF1


# --- real FRR 8.4 (tests/data/bgp/regenerate.sh) -----------------------------------

FRR84_A = [
    "frr-8.4-show-bgp-summary.txt",
    "frr-8.4-show-bgp-summary.json",
    "frr-8.4-show-bgp-ipv4-unicast-summary.txt",
    "frr-8.4-show-bgp-ipv4-unicast-summary.json",
    "frr-8.4-show-bgp-vrf-default-summary.json",
]


@pytest.mark.parametrize("fixture", FRR84_A)
def test_frr84_router_a(fixture: str) -> None:
    summary = parse_bgp_summary(load(fixture))
    assert summary.router_id == "172.16.255.101"
    assert summary.local_as == 65101
    # fd00:99::3 is in the IPv4 and IPv6 sections: listed once.
    assert [p.neighbor for p in summary.peers] == [
        "172.16.99.1",
        "172.16.99.3",
        "172.16.99.5",
        "fd00:99::3",
    ]
    peers = by_neighbor(summary)
    b = peers["172.16.99.1"]
    assert (b.hostname, b.remote_as, b.state, b.prefixes_received) == (
        "ftp-b.lab.local",
        65001,
        "Established",
        1,
    )
    assert b.established and b.short_hostname == "ftp-b"
    assert parse_bgp_uptime_seconds(b.uptime) is not None
    assert b.msg_rcvd is not None and b.msg_rcvd > 0
    absent = peers["172.16.99.3"]
    assert (absent.hostname, absent.remote_as, absent.state) == (None, 65002, "Active")
    assert (absent.uptime, absent.prefixes_received, absent.msg_rcvd) == ("never", None, 0)
    assert not absent.established
    shut = peers["172.16.99.5"]
    assert (shut.remote_as, shut.state, shut.uptime) == (65003, "Idle (Admin)", "never")
    v6 = peers["fd00:99::3"]
    assert (v6.remote_as, v6.state) == (65004, "Active")


def test_frr84_text_and_json_agree() -> None:
    def stable(summary: BgpSummary) -> list[tuple[object, ...]]:
        # Message counters and uptimes move between the captures.
        return [
            (p.neighbor, p.hostname, p.remote_as, p.state, p.prefixes_received)
            for p in summary.peers
        ]

    results = [parse_bgp_summary(load(name)) for name in FRR84_A]
    assert all(stable(r) == stable(results[0]) for r in results[1:])


@pytest.mark.parametrize(
    "fixture", ["frr-8.4-policy-show-bgp-summary.txt", "frr-8.4-policy-show-bgp-summary.json"]
)
def test_frr84_policy_is_established_without_prefix_count(fixture: str) -> None:
    summary = parse_bgp_summary(load(fixture))
    assert (summary.router_id, summary.local_as) == ("172.16.255.1", 65001)
    (peer,) = summary.peers
    assert (peer.neighbor, peer.hostname, peer.remote_as) == (
        "172.16.99.0",
        "ftp-a.lab.local",
        65101,
    )
    assert peer.state == "Established"
    assert peer.prefixes_received is None


@pytest.mark.parametrize(
    "fixture",
    ["frr-8.4-no-neighbors-l2vpn-evpn-summary.txt", "frr-8.4-no-neighbors-l2vpn-evpn-summary.json"],
)
def test_no_neighbors_is_an_empty_summary(fixture: str) -> None:
    assert parse_bgp_summary(load(fixture)) == BgpSummary(router_id="", local_as=None, peers=())


# --- other releases' shapes (hand-made from the documented formats) --------------------


def test_frr70_text_wrapped_neighbors_dynamic_and_states() -> None:
    summary = parse_bgp_summary(load("frr-7.0-show-bgp-summary.txt"))
    assert (summary.router_id, summary.local_as) == ("10.0.0.11", 65011)
    assert summary.peers == (
        BgpPeer("swp51", "spine01", 65020, "Established", "1d01h44m", 10, 33291, 33287),
        BgpPeer("swp52", "spine02.lab.local", 65020, "Established", "02w3d04h", 10, 33290, 33287),
        BgpPeer("swp53", None, 0, "Active", "never", None, 0, 0),
        BgpPeer("10.0.101.101", None, 64512, "Established", "00:05:43", 2, 12, 14, dynamic=True),
        BgpPeer("10.0.0.99", None, 65099, "Idle (Admin)", "01y02w3d", None, 0, 0),
        BgpPeer("10.0.0.98", None, 65098, "Idle (PfxCt)", "00:00:10", None, 100, 90),
        BgpPeer("fc00::99", None, 65099, "Connect", "never", None, 0, 0),
    )


def test_frr70_json_old_and_new_prefix_keys() -> None:
    summary = parse_bgp_summary(load("frr-7.0-show-bgp-summary.json"))
    assert (summary.router_id, summary.local_as) == ("10.0.0.11", 65011)
    assert summary.peers == (
        BgpPeer("swp51", "spine01", 65020, "Established", "1d01h44m", 10, 33291, 33287),
        BgpPeer("swp53", None, 0, "Active", "never", None, 0, 0),
        BgpPeer("10.0.0.99", None, 65099, "Idle (Admin)", "01y02w3d", None, 0, 0),
    )


def test_frr75_pfxsnt_policy_noneg_and_evpn_merge() -> None:
    summary = parse_bgp_summary(load("frr-7.5-show-bgp-summary.txt"))
    assert (summary.router_id, summary.local_as) == ("10.0.0.21", 4200000021)
    assert summary.peers == (
        BgpPeer("swp1", "leaf1.lab.local", 4200000011, "Established", "03:36:09", 7, 5210, 5215),
        BgpPeer(
            "swp2",
            "leaf2",
            4200000012,
            "Established",
            "03:36:09",
            None,
            5209,
            5215,
            policy_blocked=True,
        ),
        BgpPeer("10.0.0.30", None, 65030, "Established", "01:02:03", None, 77, 80),
        BgpPeer("10.0.0.31", None, 65031, "OpenSent", "00:00:07", None, 0, 1),
        BgpPeer("10.0.0.40", None, 65040, "OpenConfirm", "never", None, 0, 0),
    )


def test_frr91_asdot_strings() -> None:
    summary = parse_bgp_summary(load("frr-9.1-asdot-ipv4-unicast-summary.json"))
    assert (summary.router_id, summary.local_as) == ("10.0.0.21", 65546)
    peers = by_neighbor(summary)
    assert peers["10.0.0.11"].remote_as == 65547
    assert peers["10.0.0.12"].remote_as == 65012
    assert peers["10.0.0.12"].state == "Connect"


def test_every_fixture_parses() -> None:
    names = sorted(p.name for p in DATA.iterdir() if p.suffix in (".txt", ".json"))
    assert len(names) >= 15
    for name in names:
        assert isinstance(parse_bgp_summary(load(name)), BgpSummary), name


# --- inline shapes -------------------------------------------------------------------

FRR8_HEAD = """\
IPv4 Unicast Summary (VRF default):
BGP router identifier 10.1.1.1, local AS number 65001 VRF default vrf-id 0
BGP table version 4
RIB entries 7, using 1344 bytes of memory
Peers 2, using 43 KiB of memory

"""


def test_desc_with_spaces_and_link_local_neighbor() -> None:
    text = (
        FRR8_HEAD + "Neighbor        V         AS   MsgRcvd   MsgSent   TblVer  InQ OutQ  Up/Down "
        "State/PfxRcd   PfxSnt Desc\n"
        "192.168.0.2     4      65002         8        10        0    0    0 00:03:09"
        "            5 (Policy) to the spine\n"
        "fe80::2%swp1    4      65002         9        11        0    0    0 00:03:09"
        "     (Policy) (Policy) N/A\n"
        "\nTotal number of neighbors 2\n"
    )
    peers = parse_bgp_summary(text).peers
    assert [(p.neighbor, p.state, p.prefixes_received) for p in peers] == [
        ("192.168.0.2", "Established", 5),
        ("fe80::2%swp1", "Established", None),
    ]


def test_wide_output_with_local_as_and_displayed_count() -> None:
    text = (
        FRR8_HEAD
        + "Neighbor   V  AS  LocalAS MsgRcvd MsgSent TblVer InQ OutQ Up/Down State/PfxRcd "
        "PfxSnt Desc\n"
        "10.0.0.2   4  65002  65001  8  10  0  0  0  00:03:09  5  6  N/A\n"
        "\nDisplayed neighbors 1\nTotal number of neighbors 3\n"
    )
    (peer,) = parse_bgp_summary(text).peers
    assert (peer.neighbor, peer.remote_as, peer.prefixes_received) == ("10.0.0.2", 65002, 5)


def test_quagga_header_without_vrf_id() -> None:
    text = (
        "BGP router identifier 10.9.9.9, local AS number 65009\n"
        "RIB entries 3, using 336 bytes of memory\n"
        "Peers 1, using 4560 bytes of memory\n\n"
        "Neighbor        V         AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n"
        "10.9.9.8        4 65008      10      12        0    0    0 00:01:10        1\n\n"
        "Total number of neighbors 1\n"
    )
    summary = parse_bgp_summary(text)
    assert (summary.router_id, summary.local_as) == ("10.9.9.9", 65009)
    assert summary.peers[0].prefixes_received == 1


def test_json_unwrapped_empty_and_message() -> None:
    assert parse_bgp_summary("  {}  ") == BgpSummary("", None, ())
    warning = '{"warning": "% No BGP neighbors found in VRF default"}'
    assert parse_bgp_summary(warning) == BgpSummary("", None, ())


def test_primary_is_ipv4_even_when_listed_later() -> None:
    text = (
        '{"ipv6Unicast": {"routerId": "10.0.0.6", "as": 6, "peers": {"fc00::1": '
        '{"remoteAs": 1, "state": "Active"}}}, "ipv4Unicast": {"routerId": "10.0.0.4", '
        '"as": 4, "peers": {"10.0.0.1": {"remoteAs": 1, "state": "Established", "pfxRcd": 2}}}}'
    )
    summary = parse_bgp_summary(text)
    assert (summary.router_id, summary.local_as) == ("10.0.0.4", 4)
    assert [p.neighbor for p in summary.peers] == ["10.0.0.1", "fc00::1"]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("never", None),
        ("02:07:56", 2 * 3600 + 7 * 60 + 56),
        ("1d01h44m", 86400 + 3600 + 44 * 60),
        ("02w3d04h", 2 * 7 * 86400 + 3 * 86400 + 4 * 3600),
        ("01y02w3d", 365 * 86400 + 2 * 7 * 86400 + 3 * 86400),
        ("", None),
        ("soon", None),
        ("12:99:00", None),
    ],
)
def test_uptime_seconds(value: str, seconds: int | None) -> None:
    assert parse_bgp_uptime_seconds(value) == seconds


# --- errors ------------------------------------------------------------------------


def seed_text() -> str:
    return load("seed-leaf1-nclu-aligned.txt")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n\t", "empty"),
        ("hello world\n", "not a BGP summary"),
        ("[1, 2]", "list"),
        ("{not json", "does not parse"),
        ('{"ipv4Unicast": [1]}', "not an object"),
        ('{"colour": "blue"}', "unexpected key"),
        ('{"routerId": "1.2.3.4", "peers": {"10.0.0.1": {"state": 5}}}', "not text"),
        ('{"routerId": "1.2.3.4", "peers": {"10.0.0.1": {"remoteAs": 1}}}', "no state"),
        ('{"routerId": "1.2.3.4", "peers": {"10.0.0.1": {"state": "Dancing"}}}', "unknown BGP"),
        ('{"routerId": "1.2.3.4", "peers": {"x y": {"state": "Active"}}}', "neither"),
        ('{"routerId": "1.2.3.4", "peers": {"a": {"state": "Active", "msgRcvd": true}}}', "bool"),
        ('{"routerId": "999.2.3.4", "peers": {}}', "router id"),
        ('{"routerId": "1.2.3.4", "as": 1e3}', "float"),
        ('{"routerId": "1.2.3.4", "as": 99999999999}', "out of range"),
        ('{"warning": "BGP instance not found"}', "device answered"),
        ("% BGP instance not found\n", "device answered"),
        ("% Unknown command: show bgp sumary\n", "device answered"),
    ],
)
def test_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        parse_bgp_summary(text)


def test_truncated_table_is_an_error() -> None:
    text = seed_text()
    cut = text[: text.index("Total number")]
    with pytest.raises(ParseError, match="Total number of neighbors"):
        parse_bgp_summary(cut)


def test_missing_row_is_an_error() -> None:
    lines = [ln for ln in seed_text().splitlines() if not ln.startswith("spine-sw2")]
    with pytest.raises(ParseError, match="says 2 neighbors but lists 1"):
        parse_bgp_summary("\n".join(lines))


def test_truncated_before_the_table_is_an_error() -> None:
    text = seed_text()
    with pytest.raises(ParseError, match="no neighbor table"):
        parse_bgp_summary(text[: text.index("Neighbor")])


def test_title_without_body_is_an_error() -> None:
    with pytest.raises(ParseError, match="title without a summary"):
        parse_bgp_summary(seed_text().split("% No BGP")[0])


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("65002    2565", "65002    25x5", "not a count"),
        (" 4      65002", " 3      65002", "version"),
        ("65002    2565", "6.5.002  2565", "not an AS"),
        ("02:07:56            3\nspine-sw2", "02:07:56       Dancing\nspine-sw2", "unknown BGP"),
        ("02:07:56            3\nspine-sw2", "sometime            3\nspine-sw2", "Up/Down"),
        ("0 02:07:56            3\nspine-sw2", "0 02:07:56 3 7\nspine-sw2", "more cells"),
        ("    0    0 02:07:56            3\nspine-sw2", "3\nspine-sw2", "ends before"),
        ("State/PfxRcd", "State/PfxRcd Colour", "unknown neighbor table column"),
        ("172.16.255.101", "172.16.255.1011", "router id"),
        ("spine-sw1.lab.local(172.16.0.0)", "spine sw1", "neighbor"),
        ("spine-sw1.lab.local(172.16.0.0)", "sp!ne(172.16.0.0)", "hostname"),
        ("Peer groups", "% Peer groups", "device answered"),
    ],
)
def test_row_errors(old: str, new: str, message: str) -> None:
    text = seed_text()
    assert old in text
    with pytest.raises(ParseError, match=re.escape(message)):
        parse_bgp_summary(text.replace(old, new, 1))


def test_huge_number_is_a_parse_error_not_a_crash() -> None:
    text = seed_text().replace("2564", "9" * 5000, 1)
    with pytest.raises(ParseError, match="not a count"):
        parse_bgp_summary(text)
    with pytest.raises(ParseError):
        parse_bgp_summary('{"routerId": "1.2.3.4", "as": ' + "9" * 5000 + "}")


def test_non_text_input_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="must be text"):
        parse_bgp_summary(b"{}")  # type: ignore[arg-type]


def test_deeply_nested_json_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="does not parse"):
        parse_bgp_summary('{"ipv4Unicast": ' * 100_000)
    with pytest.raises(ParseError):
        parse_bgp_summary('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")


def test_nvue_is_refused_with_a_hint() -> None:
    table = (
        "AS - Remote Autonomous System, Afi-Safi - Address family\n\n"
        "Neighbor  AS     State        Uptime    ResetTime  MsgRcvd  MsgSent  Afi-Safi"
        "      PfxSent  PfxRcvd\n"
        "--------  -----  -----------  --------  ---------  -------  -------  ------------"
        "  -------  -------\n"
        "swp51     65199  established  00:04:06  300000     89       90       ipv4-unicast"
        "  4        2\n"
    )
    with pytest.raises(ParseError, match=r"NVUE.*show bgp vrf default summary json"):
        parse_bgp_summary(table)
    nvue_json = '{"swp51": {"remote-as": 65199, "state": "established"}}'
    with pytest.raises(ParseError, match="NVUE"):
        parse_bgp_summary(nvue_json)


# --- live: the regeneration script against the installed FRR -------------------------


@pytest.mark.lab
@pytest.mark.slow
def test_regenerate_script_produces_parsable_captures(tmp_path: Path) -> None:
    """Runs tests/data/bgp/regenerate.sh (namespaces ftp-a/ftp-b, real zebra+bgpd)
    into a temporary folder; the script removes everything it created."""
    require(os.geteuid() == 0, "needs root for network namespaces")
    require("/usr/lib/frr/bgpd")
    require("vtysh")
    require("ip")
    proc = subprocess.run(
        [str(DATA / "regenerate.sh"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 9, names
    a_text = next(n for n in names if n.endswith("-show-bgp-summary.txt") and "policy" not in n)
    summary = parse_bgp_summary((tmp_path / a_text).read_text())
    peers = by_neighbor(summary)
    assert (summary.router_id, summary.local_as) == ("172.16.255.101", 65101)
    assert peers["172.16.99.1"].established and peers["172.16.99.1"].prefixes_received == 1
    assert peers["172.16.99.3"].state == "Active"
    assert peers["172.16.99.5"].state == "Idle (Admin)"
    for name in names:
        assert isinstance(parse_bgp_summary((tmp_path / name).read_text()), BgpSummary)
    # Nothing left behind: no namespaces, no daemons under our pathspaces.
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert "ftp-a" not in netns.stdout.split() and "ftp-b" not in netns.stdout.split()
    assert not Path("/var/run/frr/ftp-a").exists() and not Path("/var/run/frr/ftp-b").exists()


def test_json_family_with_no_neighbors_warning_is_skipped() -> None:
    text = (
        '{"ipv4Unicast": {"routerId": "10.0.0.4", "as": 4, "peers": {}},'
        ' "ipv6Unicast": {"warning": "% No BGP neighbors found in VRF default"}}'
    )
    assert parse_bgp_summary(text) == BgpSummary("10.0.0.4", 4, ())
