"""Cancelling from the TUI (x) leaves nothing running on any host of the
rehearsal lab: a deploy cancelled while it waits for the nodes, a ping mesh
cancelled while every pod pings, and after quitting no tcpdump of the
overlay's captures either. Checked with `ip netns pids` in every namespace of
the lab (switches, nodes and pods)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrictui.audit import read_audit
from fabrictui.ui.screens.confirm import ChoiceScreen, ConfirmScreen
from fabrictui.ui.screens.ping_matrix import PingMatrixScreen
from tests._rehearsal_tui import (
    assert_no_traceback,
    comm,
    deploy_and_scale,
    feeds_alive,
    lab_app,
    lab_namespaces,
    loaded,
    log_lines,
    processes_in,
    rehearsal_lab,
    wait_for,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]

LEFTOVERS = ("ping", "tcpdump")


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with rehearsal_lab(tmp_path_factory.mktemp("cancel") / "lab") as directory:
        yield directory


def namespace_pids(namespace: str) -> list[int]:
    out = subprocess.run(
        ["ip", "netns", "pids", namespace], capture_output=True, text=True, check=False
    ).stdout
    return [int(token) for token in out.split() if token.isdigit()]


def running_in_lab(lab_dir: Path, names: tuple[str, ...]) -> dict[str, list[tuple[int, str]]]:
    found = {}
    for namespace in lab_namespaces(lab_dir):
        procs = processes_in(namespace, names)
        if procs:
            found[namespace] = procs
    return found


async def until_none_left(pilot, lab_dir: Path, names: tuple[str, ...], timeout: float) -> float:
    """Seconds until no process called one of `names` runs in any lab namespace."""
    left: dict = {}

    def none() -> bool:
        nonlocal left
        left = running_in_lab(lab_dir, names)
        return not left

    loop = asyncio.get_running_loop()
    started = loop.time()
    while not none():
        assert loop.time() - started < timeout, f"still running: {left}"
        await pilot.pause(0.1)
    return loop.time() - started


async def test_cancelled_deploy_and_ping_mesh_leave_no_process(lab_dir: Path) -> None:
    app = lab_app(lab_dir, ping_count=60)  # a mesh that would run for minutes
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        # the overlay's captures run while the app does: tcpdump on every node
        await wait_for(
            pilot,
            lambda: sum(1 for procs in running_in_lab(lab_dir, ("tcpdump",)).values()) == 5,
            20,
            "one tcpdump per node",
        )

        # a deploy, cancelled while it waits for calico-node and the nodes
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), 10, "mode asked")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10, "confirm")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any(line.startswith("deploy:") for line in log_lines(app)),
            20,
            "deploy under way",
        )
        assert app.runner.current is not None and app.runner.current.is_running
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.runner.current.is_running, 10, "deploy stopped")
        assert app.runner.current.is_cancelled
        assert any("cancelled" in line for line in log_lines(app))
        assert ("deploy-calico", "cancelled") in [(r.action, r.result) for r in read_audit()]
        assert not running_in_lab(lab_dir, ("ping",))

        # deploy to the end and scale, then a long mesh, cancelled while pods ping
        await deploy_and_scale(app, pilot, replicas=4)
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, PingMatrixScreen), 10, "matrix")
        await wait_for(
            pilot,
            lambda: len(running_in_lab(lab_dir, ("ping",))) >= 2,
            20,
            "pings running in the pods",
        )
        pinging = running_in_lab(lab_dir, ("ping",))
        assert all("-pod-" in ns for ns in pinging), pinging  # in the pods, nowhere else
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.runner.current.is_running, 10, "mesh stopped")
        assert app.runner.current.is_cancelled
        gone_in = await until_none_left(pilot, lab_dir, ("ping",), 10)
        print(f"\ncancelled ping mesh: no ping left in any lab namespace {gone_in:.2f} s later")
        assert ("ping", "cancelled") in [(r.action, r.result) for r in read_audit()]
        # nothing runs in the pods' namespaces but their sandboxes (the pause process a
        # runtime keeps per pod, listed in the lab's sandboxes.json) and their containers:
        # only what an exec or a node-side probe started could be there
        sandboxes = json.loads((lab_dir / "kubeapi" / "sandboxes.json").read_text())
        held = {int(s["pid"]) for s in sandboxes["sandboxes"]}
        # and the nginx pods' container (the listener on their port, docs/services.md)
        held |= {int(p) for s in sandboxes["sandboxes"] for p in s.get("container_pids", [])}
        in_pods = {ns: pids for ns in lab_namespaces(lab_dir) if "-pod-" in ns
                   and (pids := [p for p in namespace_pids(ns) if p not in held])}  # fmt: skip
        assert not in_pods, {ns: [comm(p) for p in pids] for ns, pids in in_pods.items()}
        await pilot.press("escape")

        assert_no_traceback(app)
        assert feeds_alive(app) == [
            "bgp",
            "capture",
            "events",
            "fabric",
            "hosts",
            "nodes",
            "pods",
            "services",
        ]
        await pilot.press("q")
    # quitting stops the overlay's captures: nothing of ours is left anywhere
    loop = asyncio.get_running_loop()
    started = loop.time()
    gone = running_in_lab(lab_dir, LEFTOVERS)
    while gone and loop.time() - started < 10:
        await asyncio.sleep(0.1)
        gone = running_in_lab(lab_dir, LEFTOVERS)
    assert not gone, f"left running after quit: {gone}"
    print(f"after quit: no ping or tcpdump in any lab namespace ({loop.time() - started:.2f} s)")
