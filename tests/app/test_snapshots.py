"""Snapshots of the main screens at 80x24 and 160x48, from the demo lab on a
frozen clock (deterministic: same seed, same time, same screen).

Regenerate after an intended change: pytest tests/app/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import asyncio
import time

import pytest

from fabrictui.app import make_app
from fabrictui.backends.demo import DemoBackend
from fabrictui.config import Settings

FROZEN = 1_764_150_000.0  # a fixed instant: ages, uptimes and log stamps never move


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def demo_app(scenario: str):
    def clock() -> float:
        return FROZEN

    backend = DemoBackend(scenario, seed=1, clock=clock)
    return make_app(backend, Settings(fabric_poll_seconds=30, host_poll_seconds=30), clock=clock)


def loaded(app):
    async def run_before(pilot) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + 10
        while not (
            app.state.readings
            and app.state.hosts
            and app.state.kube_state()[1]
            and app.state.kube_state()[0]
        ):
            assert loop.time() < end, "demo lab did not load"
            await pilot.pause(0.05)
        await pilot.pause(1.2)  # one tick: ages and freshness drawn

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
@pytest.mark.parametrize("scenario", ["fresh", "ready"])
def test_main_screen(snap_compare, scenario, size):
    app = demo_app(scenario)
    assert snap_compare(app, terminal_size=size, run_before=loaded(app))


@pytest.mark.parametrize("pane", ["1", "2", "3", "4"])
def test_each_pane_at_80x24(snap_compare, pane):
    app = demo_app("ready")
    assert snap_compare(app, terminal_size=(80, 24), run_before=loaded(app), press=[pane])


def test_help_screen(snap_compare):
    app = demo_app("fresh")
    assert snap_compare(
        app, terminal_size=(80, 24), run_before=loaded(app), press=["question_mark"]
    )
