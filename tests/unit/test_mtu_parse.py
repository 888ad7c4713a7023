"""The path MTU parser: a too-big answer is data (the size, the MTU, who said it)."""

from __future__ import annotations

import pytest

from fabrictui.model import PingResult
from fabrictui.parsers import ParseError
from fabrictui.parsers.mtu import note_too_big, parse_link_mtus, parse_too_big
from tests._paths import TEST_DATA

MTU = TEST_DATA / "mtu"


def test_a_routers_frag_needed_names_it_and_its_mtu() -> None:
    found = parse_too_big((MTU / "iputils-20221126-frag-needed.txt").read_text())
    assert found is not None
    assert (found.size, found.packet, found.mtu, found.reporter) == (1450, 1478, 1400, "10.99.1.1")
    assert found.by_router


def test_the_kernels_local_error_is_reported_by_local() -> None:
    found = parse_too_big((MTU / "iputils-20221126-local-error.txt").read_text())
    assert found is not None and (found.size, found.mtu, found.reporter) == (1473, 1400, "local")
    assert not found.by_router


def test_busybox_says_too_long_without_an_mtu() -> None:
    found = parse_too_big((MTU / "busybox-1.35.0-sendto.txt").read_text())
    assert found is not None and (found.size, found.packet, found.mtu) == (1473, None, None)


def test_a_probe_that_crossed_says_nothing_of_size() -> None:
    assert parse_too_big((MTU / "iputils-20221126-crossed.txt").read_text()) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sh: ping: not found\n",
        "PING 1.2.3.4 (1.2.3.4) 1450(1478) bytes of data.\n"
        "From 10.0.0.1 icmp_seq=1 Frag needed and DF set (mtu = 99999999)\n",
        "ping: local error: message too long, mtu=12\n",
        "ping: local error: message too long, mtu=١٤٠٠\n",
    ],
)
def test_what_is_not_a_too_big_answer_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        parse_too_big(text)


def test_note_too_big_sets_the_result_and_leaves_others_alone() -> None:
    lost = PingResult("ns/a", "10.99.2.2", 2, 0, None, None, None)
    text = (MTU / "iputils-20221126-frag-needed.txt").read_text()
    noted = note_too_big(lost, text)
    assert (noted.too_big_mtu, noted.too_big_from) == (1400, "10.99.1.1")
    assert note_too_big(lost, "garbage") is lost
    assert note_too_big(lost, (MTU / "iputils-20221126-crossed.txt").read_text()) is lost


def test_ip_o_link_gives_each_interfaces_mtu() -> None:
    mtus = parse_link_mtus((MTU / "ip-o-link.txt").read_text())
    assert mtus == {"lo": 65536, "swp1": 1500, "swp51": 1400}


@pytest.mark.parametrize(
    "text", ["", "eth0 UP 52:54:00:12:34:56 <BROADCAST>\n", "2: eth0: <UP> qdisc noop\n"]
)
def test_not_ip_link_output_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        parse_link_mtus(text)


def test_an_exec_ping_that_is_too_big_or_has_no_dont_fragment() -> None:
    """The pod's own ping through exec (backends/real/kube/pod_exec.ping_result): a too-big
    answer on stderr is read; busybox's usage for `-M` is "not probed", so the node's ping is
    tried next; without `df` the same usage is a failure, as before."""
    from fabrictui.backends.real.kube.pod_exec import ExecOutput, ping_result
    from fabrictui.model import KubePod

    pod = KubePod("ns", "a", 1, 1, "Running", 0, 0.0, "10.99.1.2", "n1", image="busybox:1.35")
    frag = (MTU / "iputils-20221126-frag-needed.txt").read_text().splitlines(keepends=True)
    stdout = "".join(line for line in frag if "local error" not in line)
    stderr = "ping: local error: message too long, mtu=1400\n"
    result = ping_result(pod, "10.99.2.2", ExecOutput(stdout, stderr, True, ""), 5.0, df=True)
    assert (result.transmitted, result.received) == (2, 0)
    assert (result.too_big_mtu, result.too_big_from) == (1400, "10.99.1.1")
    usage = "ping: invalid option -- 'M'\nBusyBox v1.35.0 multi-call binary.\n"
    unprobed = ping_result(pod, "10.99.2.2", ExecOutput("", usage, True, ""), 5.0, df=True)
    assert unprobed.not_probed is not None and "has no -M" in unprobed.not_probed
    failed = ping_result(pod, "10.99.2.2", ExecOutput("", usage, True, ""), 5.0, df=False)
    assert failed.not_probed is None and not failed.probed
