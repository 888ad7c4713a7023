"""The fabric map on the rehearsal lab (issue 20): `fabrictui map --json --lab DIR` as a user
types it draws the real lab all up, and the map screen follows the faults within one refresh
(a leaf uplink taken down for real, `ip link set swp51 down` in leaf1's namespace; a spine's
BGP shut down; a node's kubelet stopped; a lossy rack pair, iptables dropping 1 frame in 5 on
the leaves, with `fabrictui map --traffic` beside it), then back up; replayed, the recording
shows each at the moment it was seen."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fabrictui.capture.transit import LOST_AFTER
from fabrictui.session.mapping import fabric_map
from fabrictui.session.record import Recording
from fabrictui.session.record.replay import ReplayDriver
from fabrictui.session.state import LabState
from fabrictui.ui.screens.map import MapScreen
from tests._lab_faults import namespace
from tests._paths import ROOT
from tests._rehearsal_tui import lab_app, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.slow]
POLL = 0.5  # the app's fabric poll here
ONE_REFRESH = POLL + 2.0 + 1.0  # as the fault matrix counts one refresh, and the map's redraw


def map_json(lab_dir: Path, *more: str) -> tuple[int, dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "fabrictui.cli", "map", "--json", "--lab", str(lab_dir), *more]
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


def pod_namespace(lab_dir: Path, ip: str) -> str:
    """The network namespace the lab's kubelet made for the pod with this address."""
    prefix = namespace(lab_dir, "pod-")
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for name in (line.split()[0] for line in names.splitlines() if line.startswith(prefix)):
        shown = subprocess.run(["ip", "-n", name, "-4", "-o", "addr"], capture_output=True,
                               text=True).stdout  # fmt: skip
        if f" {ip}/" in shown:
            return name
    raise AssertionError(f"no pod namespace has {ip}")


async def test_the_map_follows_the_faults_and_replays_them(lab_dir: Path) -> None:
    """One app run, recording, the faults in sequence, each cleared in a `finally` and the
    map healthy again before the next: an uplink's port down (its own state, not only the
    session's), a spine's BGP shut down, a node's kubelet stopped, a lossy rack pair (with
    `fabrictui map --traffic` run beside it, as a user types it); then the recording
    replayed at the moment each was seen."""
    app = lab_app(lab_dir, fabric_poll_seconds=POLL, host_poll_seconds=POLL, record=True)
    backend = app.backend
    ns = namespace(lab_dir, "leaf1")
    seen: dict[str, tuple[float, float]] = {}  # fault -> (seconds to show, wall clock then)
    back: dict[str, float] = {}  # fault -> seconds from its clearing to the map all up

    async def shows(pilot, fault: str, condition, within: float = ONE_REFRESH) -> None:
        started = time.monotonic()
        await wait_for(pilot, condition, within + 10, fault)
        seen[fault] = (time.monotonic() - started, time.time())

    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.state.readings and app.state.nodes, 60, "lab read")
        await pilot.press("m")
        assert isinstance(app.screen, MapScreen)
        healthy = lambda: "↑1●2●" in body(app) and "✕" not in body(app)  # noqa: E731
        await wait_for(pilot, healthy, 60, "up")
        try:
            subprocess.run(["ip", "-n", ns, "link", "set", "dev", "swp51", "down"], check=True)
            await shows(pilot, "uplink", lambda: "↑1✕2● s1 swp51 down" in body(app))
        finally:
            subprocess.run(["ip", "-n", ns, "link", "set", "dev", "swp51", "up"], check=True)
        back["uplink"] = await wait_for(pilot, healthy, 90, "the session back")

        try:
            await backend.set_fault("stop-bgp:spine-sw1", True)
            await shows(pilot, "spine", lambda: "✕ spine-sw1 BGP 0/2" in body(app))
        finally:
            await backend.set_fault("stop-bgp:spine-sw1", False)
        back["spine"] = await wait_for(pilot, healthy, 90, "spine-sw1's sessions back")

        try:
            await backend.set_fault("stop-kubelet:k8s-node-l2-1", True)
            await shows(pilot, "kubelet", lambda: "✕ k8s-node-l2-1 NotReady" in body(app))
        finally:
            await backend.set_fault("stop-kubelet:k8s-node-l2-1", False)
        back["kubelet"] = await wait_for(pilot, healthy, 30, "k8s-node-l2-1 Ready again")

        pods = [p for p in app.state.pods.values() if p.namespace == "space1" and p.running]
        racks = app.state.racks_of_nodes()
        src = next(p for p in pods if racks.get(p.node) == 1)
        dst = next(p for p in pods if racks.get(p.node) == 2)
        pinger = None
        try:
            await backend.set_fault("lossy-racks:leaf1:leaf2", True)
            pinger = subprocess.Popen(
                ["ip", "netns", "exec", pod_namespace(lab_dir, src.ip), "ping", "-q",
                 "-i", "0.05", "-c", "400", dst.ip],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            headless = asyncio.create_task(asyncio.to_thread(map_json, lab_dir, "--traffic", "1"))
            lossy = lambda: "◐ rack1 → rack2" in body(app) or "◐ rack2 → rack1" in body(app)  # noqa: E731
            await shows(pilot, "lossy", lossy, ONE_REFRESH + LOST_AFTER * 1.5)
            code, doc = await headless
        finally:
            if pinger is not None:
                pinger.kill()
                pinger.wait()
            await backend.set_fault("lossy-racks:leaf1:leaf2", False)
        recording = app.recorder.path if app.recorder else None
    for fault, (took, _) in seen.items():
        again = f", all up again {back[fault]:.1f} s after clearing" if fault in back else ""
        print(f"map: {fault} shown in {took:.1f} s{again}")
    assert code == 1, doc  # a rack pair losing frames
    across = [t for t in doc["traffic"] if {t["from_rack"], t["to_rack"]} == {1, 2}]
    assert across and any(t["state"] == "warn" and t["lost"] > 0 for t in across), doc["traffic"]
    assert all(t["frames_per_s"] > 0 for t in across) and doc["traffic_seconds"] >= 4.0
    for fault in ("uplink", "spine", "kubelet"):
        assert seen[fault][0] < ONE_REFRESH, seen
    assert not [line for line in iptables_forward(lab_dir) if "fabrictui-lossy-racks" in line]
    replayed(recording, seen)


def iptables_forward(lab_dir: Path) -> list[str]:
    lines: list[str] = []
    for leaf in ("leaf1", "leaf2"):
        argv = ["ip", "netns", "exec", namespace(lab_dir, leaf), "iptables", "-S", "FORWARD"]
        lines += subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split("\n")
    return lines


def replayed(path: Path | None, seen: dict[str, tuple[float, float]]) -> None:
    """The recording, at the moment each fault was seen live: the map shows it."""
    assert path is not None
    rec = Recording(path)
    try:
        driver = ReplayDriver(rec)
        state = LabState(rec.lab, driver.clock)
        driver.bind(state, lambda event: None)
        driver.seek(seen["uplink"][1])
        link = fabric_map(state).link("spine-sw1", "leaf1")
        assert (link.state, link.label) == ("bad", "swp51 down"), link
        driver.seek(seen["spine"][1])
        assert fabric_map(state).spines[0].label == "BGP 0/2"
        driver.seek(seen["kubelet"][1])
        node = next(n for n in fabric_map(state).nodes if n.name == "k8s-node-l2-1")
        assert (node.state, node.label) == ("bad", "NotReady")
        # the transit table is recorded once a second at most: the next one has the loss
        driver.seek(seen["lossy"][1] + 1.5)
        graph = fabric_map(state)
        assert any(t.state == "warn" for t in graph.traffic if {t.src_rack, t.dst_rack} == {1, 2})
        driver.seek(rec.end)
        assert {n.state for n in fabric_map(state).all_nodes} == {"good"}
    finally:
        rec.close()
