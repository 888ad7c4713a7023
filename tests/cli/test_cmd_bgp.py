"""`fabrictui bgp` as typed: the demo lab's sessions in the JSON shape both real sources share,
and bad input as one line, exit 2 (the real sources: tests/lab/test_telemetry_lab.py)."""

from __future__ import annotations

import json

import pytest

from fabrictui import cli
from tests.demo_helpers import fast_demo_only


@pytest.fixture(autouse=True)
def fast_demo(monkeypatch):
    fast_demo_only(monkeypatch)


def test_demo_sessions_as_json(capsys) -> None:
    assert cli.main(["bgp", "--json", "--demo", "ready"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["source"] == "demo" and doc["at"] is None
    assert [row["switch"] for row in doc["switches"]] == ["leaf1", "leaf2", "spine-sw1",
                                                          "spine-sw2"]  # fmt: skip
    leaf1 = doc["switches"][0]
    assert set(leaf1) == {"switch", "source", "sampled_at", "error", "sessions"}
    assert {s["peer_host"] for s in leaf1["sessions"]} == {"spine-sw1", "spine-sw2"}
    session = leaf1["sessions"][0]
    assert set(session) == {"peer", "peer_host", "remote_as", "state", "established",
                            "uptime_seconds", "prefixes_received"}  # fmt: skip
    assert session["established"] and session["uptime_seconds"] > 0


def test_a_session_down_exits_1(capsys) -> None:
    code = cli.main(["bgp", "--demo", "ready", "--demo-fault", "cut-uplink:leaf1:spine-sw1"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "leaf1" in out and "spine-sw1" in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--demo", "ready", "--at", "yesterday"], '--at yesterday: not "N{s,m,h,d} ago"'),
        (["--demo", "ready", "--at", "10m ago"], "--at reads Prometheus's history"),
        (["--demo", "ready", "--at", "2026-12-07T14:00:00"], "needs its zone"),
    ],
)
def test_bad_input_is_one_line(capsys, argv: list[str], words: str) -> None:
    assert cli.main(["bgp", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_prometheus_option_that_is_not_a_url(tmp_path, capsys) -> None:
    (tmp_path / "inventory.toml").write_text(
        'name = "x"\n[[hosts]]\nname = "leaf1"\nhost = "127.0.0.1"\nrole = "leaf"\n'
    )
    assert cli.main(["bgp", "--lab", str(tmp_path), "--prometheus", "localhost:9090"]) == 2
    err = capsys.readouterr().err
    assert "--prometheus localhost:9090: not an http:// or https:// URL" in err
