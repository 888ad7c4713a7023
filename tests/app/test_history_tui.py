"""`{` on the live screen with a Prometheus source: the fabric pane as of a minute ago, marked
so, moved a minute at a time with `{` / `}` (never past now), `esc` back to live; a lab
without Prometheus has no such key. The history reader is a stand-in here (its queries are
tests/unit/test_promql.py's; the real one: tests/lab/test_telemetry_lab.py's report)."""

from __future__ import annotations

import time

from fabrictui.app import make_app
from fabrictui.backends.demo import DemoBackend
from fabrictui.config import Settings
from fabrictui.model import BgpPeer, BgpSummary, SwitchReading
from fabrictui.ui.screens.history import HistoryScreen
from fabrictui.ui.screens.main import MainScreen
from tests.app.test_app_demo import loaded, wait_for


class DemoWithHistory(DemoBackend):
    """The demo lab, its fabric also in a Prometheus's history (as the real backend's)."""

    has_history = True  # as the real backend with a Prometheus set

    def __init__(self) -> None:
        super().__init__("ready", seed=1, speed=40.0)
        self.asked: list[float] = []

    async def bgp_history(self, at: float) -> dict[str, SwitchReading]:
        self.asked.append(at)
        down = BgpPeer("172.16.0.0", "spine-sw1", 65001, "Active", "never", None)
        up = BgpPeer("172.16.0.4", "spine-sw2", 65002, "Established", "00:10:00", 1)
        leaf1 = BgpSummary("?", 65101, (down, up))
        return {
            "leaf1": SwitchReading("leaf1", leaf1, None, at - 1, source="prometheus"),
            "leaf2": SwitchReading(
                "leaf2", None, "leaf2: frr exporter down, last good scrape 47 s ago", at - 47,
                source="prometheus",
            ),
        }  # fmt: skip


def body(app) -> str:
    return str(app.screen.body)


async def test_the_fabric_as_of_a_minute_ago_then_live_again() -> None:
    backend = DemoWithHistory()
    app = make_app(backend, Settings(fabric_poll_seconds=0.5, host_poll_seconds=1.0))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await pilot.press("left_curly_bracket")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await wait_for(pilot, lambda: "Active" in body(app))
        first = backend.asked[-1]
        assert abs(time.time() - 60 - first) < 5
        title = app.screen.report_title
        assert "as of" in title and "Prometheus history" in title and "esc" in title
        assert "frr exporter down, last good scrape 47 s ago" in body(app)
        await pilot.press("left_curly_bracket")  # a minute further back
        await wait_for(pilot, lambda: len(backend.asked) == 2)
        assert backend.asked[-1] == first - 60
        # forward a minute at a time, three times from two minutes back: never past now
        await pilot.press("right_curly_bracket", "right_curly_bracket", "right_curly_bracket")
        await wait_for(pilot, lambda: len(backend.asked) >= 3)
        await pilot.pause(0.3)
        assert backend.asked[2] == first
        assert len(backend.asked) <= 4 and all(at < time.time() for at in backend.asked)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))


async def test_a_lab_without_prometheus_has_no_history_key() -> None:
    app = make_app(DemoBackend("ready", seed=1, speed=40.0), Settings(fabric_poll_seconds=0.5))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await pilot.press("left_curly_bracket")
        await pilot.pause(0.3)
        assert isinstance(app.screen, MainScreen)


async def test_the_demo_has_a_history_while_it_reads_from_prometheus() -> None:
    backend = DemoBackend("ready", seed=1)  # speed 1: its time is the wall clock's
    app = make_app(backend, Settings(fabric_poll_seconds=0.5))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        first = dict(backend._kept or {})
        assert first and all(first.values())  # every reading the pane showed is kept
        await pilot.press("left_curly_bracket")  # over SSH: no history key
        await pilot.pause(0.2)
        assert isinstance(app.screen, MainScreen)
        await backend.set_fault("exporter-down:leaf2", True)
        await pilot.press("left_curly_bracket")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        # the demo started a second ago: a minute back, nothing had been sampled yet
        await wait_for(pilot, lambda: "no sample in Prometheus's history then" in body(app))
        then = await backend.bgp_history(time.time())  # now: what the pane last showed
        assert then["leaf1"].summary is not None and then["leaf1"].source == "prometheus"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
