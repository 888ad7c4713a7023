"""`fabrictui describe session|switch|vm NAME` as a user types it (issue 26), on the demo lab
with a fault injected the way a user does (`--demo-fault`).
The same kinds are tested through the DESCRIBERS table in tests/unit/test_drill_bgp.py."""

from __future__ import annotations

import json

import pytest

from tests._cli import run_fabrictui

CUT = ["--demo", "ready", "--demo-fault", "cut-uplink:leaf1:spine-sw1"]


def test_a_cut_uplink_as_typed_text_and_json() -> None:
    text = run_fabrictui(["describe", "session", "leaf1/spine-sw1", *CUT], timeout=60)
    assert text.returncode == 0, text.stderr
    assert "session leaf1/172.16.0.0" in text.stdout
    assert "Reason:" in text.stdout and "Interface down" in text.stdout
    assert "fabrictui describe session spine-sw1/172.16.0.1" in text.stdout
    as_json = run_fabrictui(["describe", "session", "leaf1/172.16.0.0", "--json", *CUT], 60)
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    sections = {s["title"]: s for s in doc["sections"]}
    assert sections["Session"]["severity"] == "bad"
    assert sections["Last reset"]["rows"]["Reason"] == "Interface down"


def test_switch_and_vm_as_typed() -> None:
    switch = run_fabrictui(["describe", "switch", "leaf1", *CUT], timeout=60)
    assert switch.returncode == 0, switch.stderr
    assert "swp51:" in switch.stdout and "down," in switch.stdout
    vm = run_fabrictui(["describe", "vm", "spine-sw1", "--demo", "ready"], timeout=60)
    assert vm.returncode == 0 and "State:" in vm.stdout


@pytest.mark.parametrize(
    ("name", "words"),
    [("leaf1/10.9.9.9", "No such neighbor"), ("leaf1", "a session is DEVICE/PEER")],
)
def test_not_found_and_bad_names_exit_2_in_one_line(name: str, words: str) -> None:
    result = run_fabrictui(["describe", "session", name, "--demo", "ready"], timeout=60)
    assert result.returncode == 2
    assert words in result.stderr and "Traceback" not in result.stderr
