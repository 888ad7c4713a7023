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
    # one refresh: the next poll of the source, its answer (the demo's reads take up to a
    # second on a loaded machine) and the map's next redraw (every second)
    refresh = poll + 1.0 + 1.0 + 0.5
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


async def test_replay_and_report_show_the_map_of_the_recorded_moment(tmp_path) -> None:
    """A demo lab recorded healthy, then with leaf2 cut off and a trace lost there: the
    replay's map and the report's show each moment as it was, the trace included."""
    from fabrictui.actions.progress import ignore
    from fabrictui.actions.trace.run import run_trace
    from fabrictui.report.moment import moment_at
    from fabrictui.report.render import html_page, markdown
    from fabrictui.session.mapping import read_once
    from fabrictui.session.record import Recorder, Recording
    from fabrictui.session.record.replay import RecordedLab, ReplayDriver
    from fabrictui.session.state import LabState
    from tests.app.test_replay import T0, Clock
    from tests.demo_helpers import fast_backend

    lab = fast_backend("ready", speed=200.0)
    await lab.start()
    clock = Clock()
    path = tmp_path / "map.rec.sqlite"
    recorder = Recorder(path, lab.info(), clock=clock)
    state = LabState(lab.info(), clock)
    recorder.attach(state)
    try:
        await read_once(lab, state)
        pods = await lab.list_pods("space1")
        src = next(p for p in pods if p.node == "k8s-node-l2-1")
        dst = next(p for p in pods if p.node == "k8s-node-l1-2")
        clock.now = T0 + 60
        for spine in ("spine-sw1", "spine-sw2"):
            await lab.set_fault(f"cut-uplink:leaf2:{spine}", True)
        await lab.advance(2.0)
        recorder.result("trace", await run_trace(lab, ignore, src.key, dst.key))
        await read_once(lab, state)
    finally:
        recorder.close()
        await lab.close()

    rec = Recording(path)
    try:
        healthy, cut = moment_at(rec, T0 + 30), moment_at(rec)
        assert any("↑1●2●" in line for line in healthy.fabric_map)
        assert not any("NOT delivered" in line for line in healthy.fabric_map)  # not traced yet
        md = markdown(cut)
        drawn = md.split("## Fabric map", 1)[1].split("##", 1)[0]
        assert "✕ leaf2" in drawn and "↑1✕2✕" in drawn and "leaf2✕" in drawn
        assert "cause: leaf2: both uplinks down" in drawn
        assert '<div class="screen"><svg>map</svg>' in html_page(
            cut, "<svg>s</svg>", "<svg>map</svg>"
        )

        driver = ReplayDriver(rec)
        driver.now = T0 + 30
        settings = Settings(read_only=True, read_only_source="a replay", record=False)
        app = make_app(RecordedLab(rec), settings, clock=driver.clock, replay=driver)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            await pilot.press("m")
            await pilot.pause(0.2)
            assert "● leaf2" in body(app) and "NOT delivered" not in body(app)
            driver.seek(rec.end)
            await pilot.pause(1.2)  # the map's next redraw
            assert "✕ leaf2" in body(app) and "leaf2✕" in body(app)
    finally:
        rec.close()


async def test_the_map_takes_the_vm_panes_place_and_gives_it_back() -> None:
    from fabrictui.ui.widgets.map_view import MapView
    from fabrictui.ui.widgets.tables import KeyedTable

    app = faulty_app("fabric-dark")
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app)(pilot)
        await pilot.press("1", "v")
        pane = app.main.pane(1)
        view, table = pane.query_one(MapView), pane.query_one(KeyedTable)
        await pilot.pause(0.2)
        assert view.display and not table.display and view.has_focus
        drawn = str(view.render())
        assert "✕ leaf2 BGP 1/2" in drawn and "↑1●2✕ s2 swp52 down" in drawn
        assert app.main.pane(1).border_title == "1 Fabric map (v: VMs)"
        await pilot.press("v")
        assert table.display and not view.display and table.has_focus
        assert app.main.pane(1).border_title == "1 VMs"


async def test_enter_opens_the_drill_down_when_its_kind_is_registered(monkeypatch) -> None:
    """With a switch reader in actions.drill.DESCRIBERS (issue 26 fills it), Enter on a
    switch shows what it read; without one, what the fabric pane knows of it."""
    from fabrictui.actions import drill
    from fabrictui.render.detail import Detail, DetailSection

    asked: list[tuple[str, str | None]] = []

    async def switch(backend, name: str, namespace: str | None) -> Detail:
        asked.append((name, namespace))
        return Detail("switch", name, sections=(DetailSection("BGP", (("router id", "x"),)),))

    monkeypatch.delitem(drill.DESCRIBERS, "switch", raising=False)
    app = faulty_app("fabric-dark")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)(pilot)
        await pilot.press("m", "down", "down", "enter")  # leaf1: no reader
        await pilot.pause(0.2)
        assert app.screen.id == "known"
        assert "leaf1  rid 172.16.255.101" in str(app.screen.query_one("#report-body").render())
        await pilot.press("escape")
        monkeypatch.setitem(drill.DESCRIBERS, "switch", switch)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert asked == [("leaf1", None)] and app.screen.id == "map-detail"
        assert "router id: x" in str(app.screen.query_one("#report-body").render())
