"""`fabrictui deploy-calico`, `scale` and `ping` on the demo lab."""

from __future__ import annotations

import builtins
import json
import subprocess
import sys
import time

import pytest

from fabrictui import audit, cli
from tests.demo_helpers import fast_demo_only


@pytest.fixture(autouse=True)
def fast_demo(monkeypatch):
    fast_demo_only(monkeypatch)


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
    assert out.out.splitlines() == [
        "lab: demo (fresh, seed 1) [demo] from --demo fresh",
        "Calico running on 5 nodes, all Ready",
    ]
    assert "k8s-node-l2-1: calico-node Running, Ready" in out.err


def test_deploy_calico_bad_pool(capsys):
    assert cli.main(["deploy-calico", "--demo", "--yes", "--pool", "10.64.0.0/33"]) == 2
    assert capsys.readouterr().err.startswith("fabrictui deploy-calico: --pool")


def test_scale(capsys):
    assert cli.main(["scale", "--demo", "ready", "--replicas", "2", "--yes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "lab: demo (ready, seed 1) [demo] from --demo ready"
    assert lines[1] == "space1/nginx-deployment: 2 replicas Running on 2 distinct nodes"
    assert len(lines) == 4
    assert cli.main(["scale", "--demo", "fresh", "--replicas", "-1", "--yes"]) == 2


def test_scale_on_fresh_lab_says_why_at_once(capsys):
    # nodes are NotReady before Calico: pods could only stay Pending, so say so at once
    code = cli.main(["scale", "--demo", "fresh", "--replicas", "2", "--yes"])
    assert code == 1
    out = capsys.readouterr().out
    assert "no node is Ready: no network plugin yet? deploy Calico first" in out


def test_scale_on_fresh_lab_waits_for_nodes_when_asked(capsys):
    argv = ["scale", "--demo", "fresh", "--replicas", "2", "--yes", "--timeout", "0.1"]
    assert cli.main([*argv, "--wait-for-nodes"]) == 1
    out = capsys.readouterr().out
    assert "0 of 2 pods Running" in out
    assert "Pending: 0/5 nodes are available: 5 node(s) had taints" in out


# -- through the real command line, against the demo lab at its own pace ----------------


def fabrictui(*args: str, timeout: float = 60.0) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )
    return done, time.monotonic() - started


def audited(action: str) -> list[dict]:
    lines = audit.audit_path().read_text().splitlines()
    return [e for e in map(json.loads, lines) if e.get("action") == action or "call" in e]


def test_cli_scale_on_fresh_lab_fails_fast_and_changes_nothing():
    done, took = fabrictui("scale", "--demo", "fresh", "--replicas", "2", "--yes")
    assert done.returncode == 1, done.stderr
    assert took < 10, took  # it used to wait its whole 120 s timeout
    assert (
        "no node is Ready: no network plugin yet? deploy Calico first "
        "(D / fabrictui deploy-calico)" in done.stdout
    )
    assert [e["call"] for e in audited("scale") if e["event"] == "call"] == []


def test_cli_scale_waits_for_nodes_until_its_timeout():
    argv = ["scale", "--demo", "fresh", "--replicas", "2", "--yes", "--wait-for-nodes"]
    done, took = fabrictui(*argv, "--timeout", "2")
    assert done.returncode == 1, done.stderr
    assert 2 <= took < 12, took
    assert "0 of 2 pods Running after 2 s" in done.stdout
    assert "node(s) had taints that the pod didn't tolerate" in done.stdout


def test_cli_scale_timeout_holds_and_says_why_pods_stay_pending():
    """Issue 14: this ran for more than 60 s; the kubelet's limit leaves the rest Pending."""
    argv = ["scale", "--demo", "ready", "--replicas", "100000", "--timeout", "3", "--yes"]
    done, took = fabrictui(*argv)
    assert done.returncode == 1, done.stderr
    assert took < 15, took
    assert done.stdout.splitlines()[0].startswith("lab: demo (ready, seed 1) [demo]")
    summary = done.stdout.splitlines()[1]
    assert summary.startswith("space1/nginx-deployment: ")
    assert "of 100000 pods Running after 3 s" in summary
    assert summary.endswith(
        "Pending: 0/5 nodes are available: 1 node(s) had taints that the pod didn't "
        "tolerate, 4 Too many pods."
    )
    assert "pods stay Pending: 0/5 nodes are available" in done.stderr
    assert len(done.stdout.splitlines()) < 60  # pods listed by count past the first ones


def test_cli_scale_plan_reads_the_lab():
    """The confirmation (and the audit record of it) says what will happen on this lab."""
    done, _ = fabrictui("scale", "--demo", "ready", "--replicas", "2", "--yes")
    assert done.returncode == 0, done.stderr
    (start,) = [e for e in audited("scale") if e["event"] == "start"]
    assert start["calls"] == [
        "space1/nginx-deployment: 4 → 2 replicas",
        "2 pods will be deleted (newest first)",
    ]


def test_ping_json(capsys):
    assert cli.main(["ping", "--demo", "ready", "--json", "--count", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["lab"]["kind"] == "demo" and data["lab"]["source"] == "--demo ready"
    assert data["all_ok"] is True and len(data["pods"]) == 4 and len(data["results"]) == 12
    same = [r for r in data["results"] if r["same_rack"]]
    assert len(same) == 4 and all(r["ok"] and r["diagnosis"] is None for r in data["results"])
    assert {r["ttl"] for r in data["results"]} == {62}


def test_ping_table(capsys):
    assert cli.main(["ping", "--demo", "ready", "-q", "--count", "1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "12/12 pairs ok, via node (= same rack)"
    assert "z9pl9 r2" in out
    grid = out.splitlines()[1:6]  # header and four rows: the columns line up
    assert len({len(line) for line in grid}) == 1, grid
    assert " node" not in "".join(grid)  # one method for all: said once, below


def test_ping_without_pods(capsys):
    assert cli.main(["ping", "--demo", "fresh"]) == 2
    assert "need at least two Running pods" in capsys.readouterr().err
