"""parse_ping_output on real iputils/busybox captures (tests/data/ping/regenerate.sh),
the seed's interrupted ping and hand-made older shapes."""

from __future__ import annotations

import subprocess

import pytest

from fabrictui.parsers import ParseError
from fabrictui.parsers.ping import PingReply, PingStats, parse_ping_output
from tests._paths import TEST_DATA
from tests._require import require

DATA = TEST_DATA / "ping"


def load(name: str) -> str:
    return (DATA / name).read_text()


def test_iputils_replies() -> None:
    stats = parse_ping_output(load("iputils-20221126-ok.txt"))
    assert stats == PingStats(
        target="127.0.0.1",
        transmitted=3,
        received=3,
        rtt_min_ms=0.035,
        rtt_avg_ms=0.038,
        rtt_max_ms=0.044,
        ttl=64,
        replies=(
            PingReply(1, 64, 0.035, "127.0.0.1"),
            PingReply(2, 64, 0.035, "127.0.0.1"),
            PingReply(3, 64, 0.044, "127.0.0.1"),
        ),
    )
    assert stats.loss_pct == 0.0


def test_busybox_replies_count_from_zero() -> None:
    stats = parse_ping_output(load("busybox-1.35.0-ok.txt"))
    assert (stats.transmitted, stats.received, stats.ttl) == (3, 3, 64)
    assert (stats.rtt_min_ms, stats.rtt_avg_ms, stats.rtt_max_ms) == (0.038, 0.066, 0.085)
    assert [r.seq for r in stats.replies] == [0, 1, 2]
    assert stats.complete and stats.error is None


@pytest.mark.parametrize(
    ("fixture", "transmitted"),
    [
        ("iputils-20221126-loss.txt", 3),
        ("busybox-1.35.0-loss.txt", 3),
        ("busybox-1.35.0-unreachable.txt", 5),
    ],
)
def test_total_loss_has_no_rtt(fixture: str, transmitted: int) -> None:
    stats = parse_ping_output(load(fixture))
    assert (stats.transmitted, stats.received) == (transmitted, 0)
    assert (stats.rtt_min_ms, stats.rtt_avg_ms, stats.rtt_max_ms, stats.ttl) == (None,) * 4
    assert stats.loss_pct == 100.0
    assert stats.error is None and stats.complete


def test_iputils_unreachable_counts_errors() -> None:
    stats = parse_ping_output(load("iputils-20221126-unreachable.txt"))
    assert (stats.target, stats.transmitted, stats.received, stats.errors) == (
        "10.0.102.99",
        5,
        0,
        5,
    )
    assert stats.unreachable[0] == "From 10.0.102.1 icmp_seq=1 Destination Host Unreachable"
    assert len(stats.unreachable) == 5
    result = stats.as_result("space1/pod-a")
    assert (result.target_ip, result.received, result.error, result.ok) == (
        "10.0.102.99",
        0,
        None,
        False,
    )


def test_unknown_host_is_a_result_with_an_error() -> None:
    stats = parse_ping_output(load("iputils-20221126-unknown-host.txt"))
    assert stats.error == "no-such-host.invalid: Temporary failure in name resolution"
    assert (stats.transmitted, stats.received, stats.complete) == (0, 0, False)
    assert stats.as_result("space1/p", "no-such-host.invalid").error == stats.error


def test_busybox_bad_address() -> None:
    stats = parse_ping_output("ping: bad address 'nginx'\n")
    assert stats.error == "bad address 'nginx'"


def test_seed_ping_cut_short_is_estimated_from_replies() -> None:
    stats = parse_ping_output(load("seed-pod-ping-cut-short.txt"))
    assert (stats.target, stats.transmitted, stats.received, stats.ttl) == (
        "10.65.76.193",
        4,
        4,
        62,
    )
    assert (stats.rtt_min_ms, stats.rtt_avg_ms, stats.rtt_max_ms) == (1.56, 1.647, 1.86)
    assert not stats.complete
    result = stats.as_result("space1/nginx-deployment-55457b9d87-z9pl9")
    assert result.ok and result.ttl == 62 and result.target_ip == "10.65.76.193"


def test_partial_loss_and_duplicates() -> None:
    stats = parse_ping_output(load("iputils-s20161105-partial-loss-duplicates.txt"))
    assert (stats.transmitted, stats.received, stats.duplicates) == (4, 3, 1)
    assert stats.loss_pct == 25.0
    assert [r.duplicate for r in stats.replies] == [False, False, True, False]
    assert (stats.rtt_min_ms, stats.rtt_avg_ms, stats.rtt_max_ms) == (1.56, 1.725, 1.91)


def test_old_icmp_req_spelling() -> None:
    stats = parse_ping_output(load("iputils-s20121221-icmp-req.txt"))
    assert [r.seq for r in stats.replies] == [1, 2]
    assert stats.ttl == 62


def test_ipv6_header_and_kubectl_noise() -> None:
    text = (
        "PING fd00::2(fd00::2) 56 data bytes\n"
        "64 bytes from fd00::2: icmp_seq=1 ttl=64 time=0.050 ms\n\n"
        "--- fd00::2 ping statistics ---\n"
        "1 packets transmitted, 1 received, 0% packet loss, time 0ms\n"
        "rtt min/avg/max/mdev = 0.050/0.050/0.050/0.000 ms\n"
        "command terminated with exit code 0\n"
    )
    stats = parse_ping_output(text)
    assert (stats.target, stats.received, stats.replies[0].source) == ("fd00::2", 1, "fd00::2")


def test_cut_short_busybox_counts_from_zero() -> None:
    text = (
        "PING 10.0.0.1 (10.0.0.1): 56 data bytes\n"
        "64 bytes from 10.0.0.1: seq=0 ttl=64 time=0.1 ms\n"
        "64 bytes from 10.0.0.1: seq=2 ttl=64 time=0.3 ms\n"
    )
    stats = parse_ping_output(text)
    assert (stats.transmitted, stats.received) == (3, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not ping output"),
        ("hello\nworld\n", "not ping output"),
        (
            "PING a (1.2.3.4) 56(84) bytes of data.\nPING b (1.2.3.5) 56(84) bytes of data.\n",
            "second PING",
        ),
        ("3 packets transmitted, 4 received, 0% packet loss\n", "4 received of 3"),
        (
            "2 packets transmitted, 2 received, 0% packet loss\n"
            "rtt min/avg/max/mdev = 3.0/2.0/1.0/0.1 ms\n",
            "out of order",
        ),
        (
            "2 packets transmitted, 0 received, 100% packet loss\n"
            "rtt min/avg/max/mdev = 1.0/2.0/3.0/0.1 ms\n",
            "nothing was received",
        ),
        (
            "64 bytes from a: icmp_seq=1 ttl=1 time=1 ms\n"
            "64 bytes from a: icmp_seq=2 ttl=1 time=1 ms\n"
            "1 packets transmitted, 1 received, 0% packet loss\n",
            "2 replies listed",
        ),
        (
            "1 packets transmitted, 1 received, 0% packet loss\n"
            "1 packets transmitted, 1 received, 0% packet loss\n",
            "second statistics",
        ),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_ping_output(text)


def test_non_text_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="must be text"):
        parse_ping_output(None)  # type: ignore[arg-type]


def test_reply_with_resolved_name_keeps_the_address() -> None:
    text = (
        "PING web (10.65.76.193) 56(84) bytes of data.\n"
        "64 bytes from web.space1.svc (10.65.76.193): icmp_seq=1 ttl=62 time=1.57 ms\n"
    )
    assert parse_ping_output(text).replies[0].source == "10.65.76.193"


# --- live: the installed pings, on loopback only ---------------------------------------


@pytest.mark.parametrize(
    ("argv", "first_seq"),
    [
        (["ping", "-c", "2", "-i", "0.2", "127.0.0.1"], 1),
        (["busybox", "ping", "-c", "2", "127.0.0.1"], 0),
    ],
)
def test_live_ping_on_loopback(argv: list[str], first_seq: int) -> None:
    require(argv[0])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if proc.returncode != 0 and "permission" in proc.stderr.lower():
        require(False, f"{argv[0]} may not open an ICMP socket here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    stats = parse_ping_output(proc.stdout)
    assert (stats.target, stats.transmitted, stats.received) == ("127.0.0.1", 2, 2)
    assert [r.seq for r in stats.replies] == [first_seq, first_seq + 1]
    assert stats.ttl == 64 and stats.complete
    assert stats.rtt_min_ms is not None and stats.rtt_min_ms <= stats.rtt_max_ms  # type: ignore[operator]
