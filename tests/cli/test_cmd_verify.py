"""`fabrictui verify` on the demo lab: table, JSON, exit codes, no tracebacks."""

from __future__ import annotations

import json

import pytest

from fabrictui import cli
from fabrictui.actions.verify.apps import APP_CHECKS
from fabrictui.backends import select
from fabrictui.backends.base import BackendError
from tests.demo_helpers import fast_demo_only


@pytest.fixture(autouse=True)
def fast_demo(monkeypatch):
    """--demo labs run sped up so a command takes milliseconds."""
    fast_demo_only(monkeypatch)


def test_ready_passes_all_json(capsys):
    assert cli.main(["verify", "--demo", "ready", "--json"]) == 0
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert doc["lab"] == {"kind": "demo", "name": "demo (ready, seed 1)", "source": "--demo ready"}
    assert doc["mode"] == "vxlan"
    checks = doc["checks"]
    assert len(checks) == 6 + len(APP_CHECKS)  # the mode's six, then the application checks
    keys = {"name", "state", "passed", "evidence", "cause", "unseen"}
    assert all(set(c) == keys for c in checks)
    assert all(c["passed"] and c["cause"] is None and c["evidence"] for c in checks)
    assert all(c["state"] == "pass" and c["unseen"] == [] for c in checks)
    assert out.err == ""  # --json keeps stderr quiet


def test_fresh_fails_checks_2_to_6_table(capsys):
    assert cli.main(["verify", "--demo", "fresh"]) == 1
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0] == "lab: demo (fresh, seed 1) [demo] from --demo fresh"
    numbers = {f"{i}." for i in range(1, 7 + len(APP_CHECKS))}
    verdicts = [line.split()[-1] for line in lines if line.split(" ", 1)[0] in numbers]
    # path MTU, the cluster DNS and policy have no running workload to judge (not observed);
    # the seed's nginx-service does not exist yet (failed)
    assert verdicts == ["PASS"] + ["FAIL"] * 5 + ["OBSERVED", "FAIL", "OBSERVED", "OBSERVED"]
    assert "cause: service space1/nginx-service does not exist" in out.out
    assert "cause: NotReady: k8s-master-l1-1" in out.out
    total = 6 + len(APP_CHECKS)
    assert lines[-1] == f"1/{total} checks passed, 3 not observed"
    assert "reading the lab" in out.err  # progress goes to stderr


def test_ready_table_says_all_passed(capsys):
    assert cli.main(["verify", "--demo", "ready", "-q"]) == 0
    out = capsys.readouterr()
    total = 6 + len(APP_CHECKS)
    assert out.out.splitlines()[-1] == f"{total}/{total} checks passed" and out.err == ""


def test_unreachable_lab_is_one_line_exit_2(monkeypatch, capsys):
    def broken(args):
        raise BackendError("leaf1: ssh: connection refused")

    monkeypatch.setattr(select, "open_backend", broken)
    assert cli.main(["verify"]) == 2
    err = capsys.readouterr().err
    assert err == "fabrictui verify: leaf1: ssh: connection refused\n"


def test_missing_lab_dir_exit_2(capsys, tmp_path):
    assert cli.main(["verify", "--lab", str(tmp_path / "nope")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_bad_option_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["verify", "--demo", "broken"])
    assert exc.value.code == 2
