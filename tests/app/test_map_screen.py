"""The fabric map screen (`m`) on the demo lab: snapshots at 80x24 and 160x48 in each theme,
the selection and Enter, and the map following faults within one refresh."""

from __future__ import annotations

import asyncio

import pytest

from fabrictui.app import make_app
from fabrictui.backends.demo import DemoBackend
from fabrictui.config import Settings
from fabrictui.ui.screens.map import MapScreen
from tests.app.test_snapshots import FROZEN, loaded, utc  # noqa: F401 - utc: a fixture

THEMES = ("fabric-dark", "fabric-light", "fabric-16")


def faulty_app(theme: str):
    def clock() -> float:
        return FROZEN

    backend = DemoBackend("ready", seed=1, clock=clock)
    backend.inject_fault("cut-uplink:leaf2:spine-sw2")
    backend.inject_fault("stop-kubelet:k8s-node-l1-2")
    settings = Settings(fabric_poll_seconds=30, host_poll_seconds=30, theme=theme, record=False)
    return make_app(backend, settings, clock=clock)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
@pytest.mark.parametrize("theme", THEMES)
def test_map_snapshot(snap_compare, theme, size):
    app = faulty_app(theme)
    # m opens the map; down, down, right: spine-sw1, leaf1, leaf2 selected (drawn reversed)
    press = ["m", "down", "down", "right"]
    assert snap_compare(app, terminal_size=size, run_before=loaded(app), press=press)


def body(app) -> str:
    return str(app.screen.query_one("#map-body").render())


async def wait_for(pilot, condition, timeout: float) -> float:
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not condition():
        assert loop.time() - start < timeout, "the map did not follow in time"
        await pilot.pause(0.05)
    return loop.time() - start


async def test_the_map_follows_faults_within_one_refresh() -> None:
    backend = DemoBackend("ready", seed=1, speed=40.0)
    poll = 0.5
    settings = Settings(fabric_poll_seconds=poll, host_poll_seconds=poll, record=False)
    app = make_app(backend, settings)
    # one refresh: the next poll of the source (with its answer) and the map's next redraw
    refresh = poll + 1.0 + 1.0
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.state.readings and app.state.kube_state()[1], 30)
        await pilot.press("m")
        assert isinstance(app.screen, MapScreen)
        await wait_for(pilot, lambda: "● k8s-node-l2-2" in body(app), 5)

        await backend.set_fault("stop-spine:spine-sw1", True)
        await wait_for(pilot, lambda: "? spine-sw1 no answer" in body(app), refresh)
        await backend.set_fault("stop-spine:spine-sw1", False)

        await backend.set_fault("cut-uplink:leaf1:spine-sw2", True)
        await wait_for(pilot, lambda: "↑1●2✕ s2 " in body(app), refresh)

        await backend.set_fault("stop-kubelet:k8s-node-l2-1", True)
        await wait_for(pilot, lambda: "✕ k8s-node-l2-1 NotReady" in body(app), refresh)

        await backend.set_fault("lossy-racks:leaf1:leaf2", True)
        await pilot.press("escape", "P")  # the ping mesh: echoes between every pair of pods
        await wait_for(pilot, lambda: not app.runner.busy, 30)
        while app.screen is not app.main:  # the ping matrix
            await pilot.press("escape")
        await pilot.press("m")
        # the transit table's loss between the two racks stands out (◐: up, losing frames)
        await wait_for(pilot, lambda: "◐ rack1 → rack2" in body(app), refresh)
        await pilot.press("escape")
