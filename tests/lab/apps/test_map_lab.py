"""The fabric map on the rehearsal lab (issue 20): `fabrictui map --json --lab DIR` as a user
types it draws the real lab all up, and the map screen follows a leaf uplink taken down for
real (`ip link set swp51 down` in leaf1's namespace) within one refresh, then back up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fabrictui.ui.screens.map import MapScreen
from tests._lab_faults import namespace
from tests._paths import ROOT
from tests._rehearsal_tui import lab_app, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.slow]
POLL = 0.5  # the app's fabric poll here
ONE_REFRESH = POLL + 2.0 + 1.0  # as the fault matrix counts one refresh, and the map's redraw


def map_json(lab_dir: Path) -> tuple[int, dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "fabrictui.cli", "map", "--json", "--lab", str(lab_dir)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def test_the_command_draws_the_real_lab(lab_dir: Path) -> None:
    code, doc = map_json(lab_dir)
    assert code == 0, doc
    kinds = [n["kind"] for n in doc["nodes"]]
    assert kinds.count("spine") == 2 and kinds.count("leaf") == 2 and kinds.count("node") == 5
    assert {n["state"] for n in doc["nodes"]} == {"good"}, doc["nodes"]
    uplinks = [x for x in doc["links"] if x["kind"] == "uplink"]
    assert len(uplinks) == 4 and {x["label"] for x in uplinks} == {"Established"}


def body(app) -> str:
    return str(app.screen.query_one("#map-body").render())


async def test_the_map_follows_an_uplink_down_and_up(lab_dir: Path) -> None:
    app = lab_app(lab_dir, fabric_poll_seconds=POLL, host_poll_seconds=POLL, record=False)
    ns = namespace(lab_dir, "leaf1")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.state.readings and app.state.nodes, 60, "lab read")
        await pilot.press("m")
        assert isinstance(app.screen, MapScreen)
        await wait_for(pilot, lambda: "↑1●2●" in body(app) and "✕" not in body(app), 60, "up")
        try:
            subprocess.run(["ip", "-n", ns, "link", "set", "dev", "swp51", "down"], check=True)
            started = time.monotonic()
            await wait_for(pilot, lambda: "↑1✕2● s1 " in body(app), ONE_REFRESH + 10, "down")
            seen = time.monotonic() - started
        finally:
            subprocess.run(["ip", "-n", ns, "link", "set", "dev", "swp51", "up"], check=True)
        await wait_for(pilot, lambda: "✕" not in body(app), 90, "the session back")
    print(f"map: leaf1 uplink down shown in {seen:.1f} s")
    assert seen < ONE_REFRESH, seen
