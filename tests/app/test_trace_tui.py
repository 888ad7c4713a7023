"""The trace from the TUI: `T` (default pair), the palette entry, a failed pair of the ping
matrix; the trace screen's list of points; snapshots at 80x24 and 160x48."""

from __future__ import annotations

import asyncio
import time

import pytest

from fabrictui.app import make_app
from fabrictui.backends.demo import DemoBackend
from fabrictui.config import Settings
from fabrictui.ui.screens.trace import TracePickScreen, TraceScreen
from tests.app.test_app_demo import demo_app, loaded, wait_for

FROZEN = 1_764_150_000.0
DST = "space1/nginx-deployment-55457b9d87-nnzz5"


async def nginx_ready(app, pilot) -> None:
    """The seed's 4 nginx pods Running in the app's state (they start as the app does)."""
    await wait_for(
        pilot,
        lambda: (
            sum(1 for p in app.state.pods.values() if p.namespace == "space1" and p.running) == 4
        ),
    )


async def trace_done(app, pilot) -> TraceScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, TraceScreen))
    screen = app.screen
    assert isinstance(screen, TraceScreen)
    await wait_for(pilot, lambda: screen.result is not None, 60.0)
    await pilot.pause(0.1)
    return screen


async def test_t_traces_the_default_cross_rack_pair() -> None:
    app = demo_app("ready")
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await nginx_ready(app, pilot)
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, TracePickScreen))
        picker = app.screen
        assert picker.source.endswith("z9pl9") and picker.target == DST  # rack 2 -> rack 1
        await pilot.press("enter")
        screen = await trace_done(app, pilot)
        title = str(screen.query_one("#trace-title").render())
        body = str(screen.query_one("#trace-body").render())
        assert "delivered through spine-sw" in title
        assert "k8s-node-l2-1" in body and "vxlan.calico" in body and "vni 4096" in body
        assert "id 592 seq 1" in body  # the seed's first ping id
        await pilot.press("escape")
        assert any("trace: delivered" in line for line in app.query_one("#action-log").history)


async def test_failed_ping_pair_is_traced_from_the_matrix() -> None:
    app = demo_app("ready", ping_count=1)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await nginx_ready(app, pilot)
        await app.backend.set_fault(f"blackhole-pod:{DST}", True)
        await pilot.press("P")
        await wait_for(pilot, lambda: app.screen.id == "ping-matrix")
        matrix = app.screen
        await wait_for(pilot, lambda: not app.runner.busy, 60.0)
        await wait_for(pilot, lambda: any(not r.ok for r in matrix.results.values()))
        await pilot.pause(0.2)
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, TracePickScreen))
        picker = app.screen
        assert DST in (picker.source, picker.target)
        await pilot.press("enter")
        screen = await trace_done(app, pilot)
        title = str(screen.query_one("#trace-title").render())
        body = str(screen.query_one("#trace-body").render())
        assert "NOT delivered: lost at k8s-node-l1-2 cali" in title
        assert "black-holes 10.65.76.193" in body
        assert app.trace_pair is not None


async def test_palette_has_the_trace() -> None:
    app = demo_app("ready")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"trace")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TracePickScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, TracePickScreen))


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def frozen_app():
    def clock() -> float:
        return FROZEN

    backend = DemoBackend("ready", seed=1, clock=clock, speed=50.0)
    settings = Settings(fabric_poll_seconds=30, host_poll_seconds=30, ping_count=1)
    return make_app(backend, settings, clock=clock), backend


def traced(app, fault: str | None):
    async def run_before(pilot) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + 20
        while len(app.state.pods) < 10 or not app.state.readings:
            assert loop.time() < end, "demo lab did not load"
            await pilot.pause(0.05)
        if fault:
            await app.backend.set_fault(fault, True)
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, TracePickScreen))
        await pilot.press("enter")
        await trace_done(app, pilot)
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
@pytest.mark.parametrize("fault", ["healthy", "blackholed"])
def test_trace_screen_snapshot(snap_compare, utc, size, fault):
    app, _ = frozen_app()
    inject = f"blackhole-pod:{DST}" if fault == "blackholed" else None
    assert snap_compare(app, terminal_size=size, run_before=traced(app, inject))


async def test_t_on_a_failed_verify_traces_the_verify_pair() -> None:
    app = demo_app("ready", ping_count=1)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await nginx_ready(app, pilot)
        await app.backend.set_fault(f"blackhole-pod:{DST}", True)
        await pilot.press("V")
        await wait_for(pilot, lambda: app.screen.id == "verify-report")
        await wait_for(pilot, lambda: not app.runner.busy, 60.0)
        body = str(app.screen.query_one("#report-body").render())
        assert "trace: lost at k8s-node-l1-2 cali" in body
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, TracePickScreen))
        picker = app.screen
        assert picker.source.endswith("z9pl9") and picker.target == DST  # verify's pair
        await pilot.press("escape")


async def test_x_cancels_a_running_trace() -> None:
    # slow simulated time: the probe's 3 echoes take seconds, x comes in the middle
    backend = DemoBackend("ready", seed=1, speed=1.0)
    app = make_app(backend, Settings(fabric_poll_seconds=0.5, host_poll_seconds=1.0))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        await nginx_ready(app, pilot)
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, TracePickScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TraceScreen))
        await wait_for(pilot, lambda: bool(app.backend.traffic.tracer.captures))
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.runner.busy)
        await wait_for(
            pilot, lambda: "cancelled" in str(app.screen.query_one("#trace-title").render())
        )
        assert app.backend.traffic.tracer.captures == []  # every capture stopped
