"""`fabrictui verify` names the cluster DNS as a user meets it on the demo lab: the check
passes with the answers and times, and `--demo-fault dns-down` (CoreDNS scaled to 0) fails
it, exit 1, with the cause in the user's terms (docs/dns.md)."""

from __future__ import annotations

import json

import pytest

from fabrictui import cli
from tests.demo_helpers import fast_demo_only

CHECK = "cluster DNS"


@pytest.fixture(autouse=True)
def fast_demo(monkeypatch):
    fast_demo_only(monkeypatch)


def test_verify_resolves_from_a_pod(capsys) -> None:
    assert cli.main(["verify", "--demo", "ready", "--json"]) == 0
    (check,) = [c for c in json.loads(capsys.readouterr().out)["checks"] if c["name"] == CHECK]
    assert check["state"] == "pass" and check["cause"] is None
    lookups = [e for e in check["evidence"] if " -> " in e]
    assert len(lookups) == 2 and all("ms (getent via pod)" in e for e in lookups)


def test_verify_names_coredns_scaled_to_zero(capsys) -> None:
    code = cli.main(["verify", "--demo", "ready", "--demo-fault", "dns-down"])
    out = capsys.readouterr().out
    assert code == 1
    line = next(i for i, text in enumerate(out.splitlines()) if CHECK in text)
    lines = out.splitlines()
    assert lines[line].split()[-1] == "FAIL"
    assert lines[line + 1].strip().startswith("cause: CoreDNS pods not running")
    assert "timed out" in out
