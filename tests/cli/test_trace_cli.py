"""`fabrictui trace` on the demo lab: exit codes, JSON keys, the text table."""

from __future__ import annotations

import json

import pytest

from fabrictui import cli
from tests.demo_helpers import fast_demo_only

SRC, DST = "z9pl9", "space1/nginx-deployment-55457b9d87-nnzz5"  # the seed's ping


@pytest.fixture(autouse=True)
def fast_demo(monkeypatch):
    fast_demo_only(monkeypatch)


def test_delivered_json(capsys) -> None:
    code = cli.main(["trace", "--demo", "ready", "--from", SRC, "--to", DST, "--json", "-c", "2"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["delivered"] is True and out["lost_at"] is None and out["cause"] is None
    assert isinstance(out["evidence"], list)
    hop = out["hops"][0]
    assert {"host", "interface", "seen", "direction", "offset_ms"} <= set(hop)
    assert [h["direction"] for h in out["hops"] if h["seen"]].count("reply") == 12


def test_not_delivered_exit_1_text(capsys) -> None:
    # 10.65.76.250: in k8s-node-l1-2's block, no pod has it
    code = cli.main(["trace", "--demo", "ready", "--from", SRC, "--to", "10.65.76.250", "-c", "1"])
    captured = capsys.readouterr()
    assert code == 1
    assert "NOT DELIVERED" in captured.out and ">> k8s-node-l1-2" in captured.out
    assert "Calico's blackhole" in captured.out


@pytest.mark.parametrize(
    "argv",
    [
        ["--from", "nope", "--to", DST],
        ["--from", SRC, "--to", "space1/nope"],
        ["--from", SRC, "--to", DST, "--count", "0"],
        ["--from", SRC, "--to", "10.68.86.129"],  # itself
    ],
)
def test_bad_input_exit_2(capsys, argv) -> None:
    assert cli.main(["trace", "--demo", "ready", *argv]) == 2
    assert "fabrictui trace:" in capsys.readouterr().err


def test_fresh_lab_has_nothing_to_trace(capsys) -> None:
    assert cli.main(["trace", "--demo", "fresh", "--from", SRC, "--to", DST]) == 2
