"""The overlay pane's transit view on the demo lab: every node's capture sees a
frame leave or arrive, the capture worker matches the two sightings, and the
pane (`f`) shows the one-way time per node pair and the frames lost between
racks when leaf2 loses both uplinks."""

from __future__ import annotations

import asyncio

from fabrictui.app import make_app
from fabrictui.backends.demo import DemoBackend
from fabrictui.config import Settings
from fabrictui.render.transit import transit_summary
from fabrictui.ui.widgets.overlay_pane import OverlayPane

RACK1, RACK2 = "10.0.101.101", "10.0.102.101"  # k8s-node-l1-1, k8s-node-l2-1


async def wait_for(pilot, condition, timeout: float = 45.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        assert loop.time() < end, "condition not met in time"
        await pilot.pause(0.1)


def pair(app, src: str, dst: str):
    return next((p for p in app.state.overlay.transit.pairs if (p.src, p.dst) == (src, dst)), None)


def table(app) -> str:
    return str(app.main.query_one("#transit-table").render())


async def test_transit_view_shows_one_way_times_then_the_frames_a_cut_rack_loses() -> None:
    backend = DemoBackend("ready", seed=1, speed=40.0)
    app = make_app(backend, Settings(fabric_poll_seconds=0.5, host_poll_seconds=1.0, record=False))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.state.kube_state()[1] and app.feeds.capture_worker)
        await pilot.press("P")  # the ping mesh: echoes between every pair of pods
        await wait_for(pilot, lambda: pair(app, RACK1, RACK2) and pair(app, RACK2, RACK1))
        there = pair(app, RACK1, RACK2)
        assert there.lost == 0 and there.arrived >= 1
        # the demo's cross-rack one-way time is 0.45 x an RTT of 1.45-2.05 ms
        assert there.best_ms is not None and 0.5 < there.best_ms < 1.0
        await wait_for(pilot, lambda: not app.runner.current.is_running)
        while app.screen is not app.main:  # the ping matrix
            await pilot.press("escape")

        await pilot.press("f")
        pane = app.main.query_one(OverlayPane)
        assert pane.showing_transit and app.main.active_pane == 4
        await wait_for(pilot, lambda: "k8s-node-l1-1 → k8s-node-l2-1" in table(app), 5)
        assert "nginx-…-" in table(app)  # the flows under the pair, by pod name

        for spine in ("spine-sw1", "spine-sw2"):
            await backend.set_fault(f"cut-uplink:leaf2:{spine}", True)
        await pilot.press("P")
        await wait_for(pilot, lambda: pair(app, RACK1, RACK2).lost > 0)
        assert "LOST" in transit_summary(app.state.overlay.transit, app.state.names_by_ip())

        def table_lost() -> int:
            line = next(
                li
                for li in table(app).splitlines()
                if li.startswith("k8s-node-l1-1 → k8s-node-l2-1")
            )
            return int(line.split()[-1])

        # the table is redrawn once a second while losses are still being counted
        await wait_for(pilot, lambda: table_lost() == pair(app, RACK1, RACK2).lost > 0, 10)
        same_rack = pair(app, RACK1, "10.0.101.102")
        assert same_rack is not None and same_rack.lost == 0  # within a rack nothing is lost

        await pilot.press("f")
        assert not pane.showing_transit


async def test_bgp_mode_matches_native_frames_through_the_pods_nodes() -> None:
    """Plain IP between pods carries no node address: the worker finds each frame's
    nodes through the pod index the app sends it, counts it once and matches it."""
    backend = DemoBackend("ready-bgp", seed=1, speed=40.0)
    app = make_app(backend, Settings(fabric_poll_seconds=0.5, host_poll_seconds=1.0, record=False))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(
            pilot,
            lambda: (
                app.state.kube_state()[1] and app.feeds.capture_worker and app.state.calico_mode
            ),
        )
        assert app.state.calico_mode == "bgp"
        await pilot.press("P")
        await wait_for(pilot, lambda: len(app.state.overlay.transit.pairs) >= 6)
        await wait_for(pilot, lambda: not app.runner.current.is_running)
        counters, transit = app.state.overlay.counters, app.state.overlay.transit
        assert counters.native == counters.total > 0  # each echo once, where it was sent
        assert transit.lost == 0 and transit.arrived >= 12
        there = pair(app, RACK1, RACK2)
        assert there is not None and 0.5 < (there.best_ms or 0) < 1.0
