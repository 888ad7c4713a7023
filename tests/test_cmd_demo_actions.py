"""`fabrictui deploy-calico`, `scale` and `ping` on the demo lab."""

from __future__ import annotations

import builtins
import json
import sys

import pytest

from fabrictui import cli
from fabrictui.backends import select
from tests.demo_helpers import fast_backend


@pytest.fixture(autouse=True)
def fast_demo(monkeypatch):
    monkeypatch.setattr(
        select, "open_backend", lambda args: fast_backend(args.demo or "fresh", seed=args.seed)
    )


def test_mutating_commands_refuse_without_yes_when_not_a_tty(capsys):
    assert cli.main(["deploy-calico", "--demo"]) == 2
    assert "without --yes" in capsys.readouterr().err
    assert cli.main(["scale", "--demo", "ready", "--replicas", "2"]) == 2
    assert "without --yes" in capsys.readouterr().err


def test_read_only_refuses(capsys):
    assert cli.main(["deploy-calico", "--demo", "--yes", "--read-only"]) == 2
    assert "read-only" in capsys.readouterr().err


@pytest.mark.parametrize(("answer", "code"), [("y", 0), ("n", 2), ("", 2)])
def test_terminal_asks(monkeypatch, capsys, answer, code):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    asked: list[str] = []

    def fake_input(prompt: str) -> str:
        asked.append(prompt)
        return answer

    monkeypatch.setattr(builtins, "input", fake_input)
    assert cli.main(["deploy-calico", "--demo"]) == code
    out = capsys.readouterr().out
    assert asked == ["Proceed? [y/N] "]
    assert out.startswith("will apply ")


def test_deploy_calico_yes(capsys):
    assert cli.main(["deploy-calico", "--demo", "--yes"]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == "Calico running on 5 nodes, all Ready"
    assert "k8s-node-l2-1: calico-node Running, Ready" in out.err


def test_deploy_calico_bad_pool(capsys):
    assert cli.main(["deploy-calico", "--demo", "--yes", "--pool", "10.64.0.0/33"]) == 2
    assert capsys.readouterr().err.startswith("fabrictui deploy-calico: --pool")


def test_scale(capsys):
    assert cli.main(["scale", "--demo", "ready", "--replicas", "2", "--yes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "space1/nginx-deployment: 2 replicas Running on 2 distinct nodes"
    assert len(lines) == 3
    assert cli.main(["scale", "--demo", "fresh", "--replicas", "-1", "--yes"]) == 2


def test_scale_on_fresh_lab_times_out(capsys):
    # nodes are NotReady before Calico: pods stay Pending, as in a real cluster
    code = cli.main(["scale", "--demo", "fresh", "--replicas", "2", "--yes", "--timeout", "0.1"])
    assert code == 1
    assert "0 of 2 pods Running" in capsys.readouterr().out


def test_ping_json(capsys):
    assert cli.main(["ping", "--demo", "ready", "--json", "--count", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["all_ok"] is True and len(data["pods"]) == 4 and len(data["results"]) == 12
    same = [r for r in data["results"] if r["same_rack"]]
    assert len(same) == 4 and all(r["ok"] and r["diagnosis"] is None for r in data["results"])
    assert {r["ttl"] for r in data["results"]} == {62}


def test_ping_table(capsys):
    assert cli.main(["ping", "--demo", "ready", "-q", "--count", "1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "12/12 pairs ok (= same rack)"
    assert "z9pl9 r2" in out


def test_ping_without_pods(capsys):
    assert cli.main(["ping", "--demo", "fresh"]) == 2
    assert "need at least two Running pods" in capsys.readouterr().err
