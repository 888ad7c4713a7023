"""Drill down in the TUI (issue 26), on the demo lab with calico-node failing on
k8s-node-l1-1: Enter on the pod's row opens its detail (the probe's words, its events), a
link's digit opens the node, `l` the logs (`p` the previous instance, `/` a search, `f` a
follow), `E` the events (Warning first, `/` to keep one object's), `esc` back each time."""

from __future__ import annotations

from fabrictui.actions.drill import DESCRIBERS
from fabrictui.app import make_app
from fabrictui.backends.demo import DemoBackend
from fabrictui.config import Settings
from fabrictui.ui.screens.detail import DetailScreen
from fabrictui.ui.screens.events import EventsScreen
from fabrictui.ui.screens.logs import LogScreen
from fabrictui.ui.screens.main import MainScreen
from tests.app.test_app_demo import loaded, wait_for

CALICO = "kube-system/calico-node-hwkkx"  # on k8s-node-l1-1, seed 1


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_enter_l_and_e_drill_down_and_come_back() -> None:
    backend = DemoBackend("ready", seed=1, speed=40.0)
    backend.faultboard.set("stop-calico-node:k8s-node-l1-1", True, backend._now())
    app = make_app(backend, Settings(fabric_poll_seconds=0.5, host_poll_seconds=1.0))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        table = app.main.query_one("#pod-table")
        await wait_for(pilot, lambda: CALICO in [r.key.value for r in table.ordered_rows])
        table.focus()
        await pilot.pause()
        table.move_cursor(row=[r.key.value for r in table.ordered_rows].index(CALICO))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.detail)
        body = text(app.screen, "#detail-body")
        assert "Probe failures" in body and "felix is not ready" in body
        assert "Back-off restarting failed container" in body
        assert "[1] node k8s-node-l1-1" in body
        await pilot.press("1")  # the pod's node
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, DetailScreen)
                and app.screen.kind == "node"
                and app.screen.detail is not None
            ),
        )
        assert "Tunnel address:" in text(app.screen, "#detail-body")
        await pilot.press("escape")  # back to the pod
        assert isinstance(app.screen, DetailScreen) and app.screen.kind == "pod"
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen) and app.screen.lines)
        logs = app.screen
        assert logs.container == "calico-node"
        assert "Claimed block" in text(logs, "#log-body")
        await pilot.press("p")  # the instance before: it ended with felix's failure
        await wait_for(pilot, lambda: logs.lines and "[FATAL]" in logs.lines[-1])
        assert "--previous" in text(logs, "#log-title")
        await pilot.press("slash", *"vxlan", "enter")
        assert logs.search == "vxlan" and "/vxlan" in text(logs, "#log-title")
        await pilot.press("slash", "escape")  # esc in the box drops the search, not the screen
        assert isinstance(app.screen, LogScreen) and logs.search == ""
        await pilot.press("slash", *"vxlan", "enter")
        await pilot.press("f")  # follow: the current instance, as it is written
        await wait_for(pilot, lambda: logs.lines and not logs.previous)
        assert "--follow" in text(logs, "#log-title")
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, MainScreen)
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen) and app.screen.events)
        events = app.screen
        assert events.shown()[0].warning
        await pilot.press("slash", *"hwkkx", "enter")
        assert {e.object_name for e in events.shown()} == {"calico-node-hwkkx"}
        await pilot.press("slash", "escape")  # esc in the box clears it, the view stays
        assert isinstance(app.screen, EventsScreen) and events.text_filter == ""
        assert len(events.shown()) == len(events.events)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_a_kind_without_detail_says_so_and_a_gone_pod_says_the_apis_words() -> None:
    backend = DemoBackend("ready", seed=1, speed=40.0)
    app = make_app(backend, Settings(fabric_poll_seconds=0.5, host_poll_seconds=1.0))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        # a service row: no describer for the kind (yet), the status line says so
        assert app.main.drill.open_detail("service", "kube-dns", "kube-system") == (
            "no detail for service"
        )
        assert isinstance(app.screen, MainScreen) and "service" not in DESCRIBERS
        await pilot.press("1", "enter")  # the VM pane: what the lab's VM source says
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.detail)
        assert app.screen.kind == "vm" and "Provider:" in text(app.screen, "#detail-body")
        await pilot.press("escape")
        app.main.drill.open_detail("pod", "gone-away", "space1")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.error)
        assert 'pods "gone-away" not found' in text(app.screen, "#detail-title")
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_warnings_are_recorded_replayed_in_the_event_view_and_reported(tmp_path) -> None:
    """A recording holds the cluster's Warning events as they changed: a replay's moment
    has those of then, its event view (E) shows them, the report lists them."""
    from fabrictui.parsers.kubedetail.events import KubeEvent
    from fabrictui.report.moment import moment_at
    from fabrictui.report.render import markdown
    from fabrictui.session.record import Recorder, Recording
    from fabrictui.session.record.replay import RecordedLab, ReplayDriver
    from fabrictui.session.state import LabState
    from tests.app.test_replay import T0, Clock
    from tests.cli.test_record import LAB

    words = "Readiness probe failed: calico/node is not ready: BIRD is not ready: " + (
        "BGP not established with 10.0.101.1"
    )
    unhealthy = KubeEvent(
        "kube-system", "calico-node-7xq2p.1", "Warning", "Unhealthy", words, "Pod",
        "calico-node-7xq2p", "kube-system", "kubelet, k8s-node-l1-1",
        "2025-11-26T09:00:00Z", "2025-11-26T09:01:00Z", 7,
    )  # fmt: skip
    clock = Clock()
    path = tmp_path / "warnings.rec.sqlite"
    recorder = Recorder(path, LAB, clock=clock)
    state = LabState(LAB, clock)
    recorder.attach(state)
    clock.now = T0 + 10
    state.set_warnings([unhealthy])
    clock.now = T0 + 100  # past a snapshot
    state.set_hosts([])
    clock.now = T0 + 110
    state.set_warnings([])  # the fault was cleared
    recorder.close()
    rec = Recording(path)
    try:
        driver = ReplayDriver(rec)
        replayed = LabState(rec.lab, driver.clock)
        driver.bind(replayed, lambda event: None)
        for at, expected in ((T0 + 50, (unhealthy,)), (T0 + 105, (unhealthy,)), (T0 + 115, ())):
            driver.seek(at)
            assert replayed.warnings == expected, at
        assert "| kube-system/pod/calico-node-7xq2p | Unhealthy | 7 |" in markdown(
            moment_at(rec, T0 + 50)
        )
        assert "Warning events" not in markdown(moment_at(rec, T0 + 115))
        driver = ReplayDriver(rec)
        settings = Settings(read_only=True, read_only_source="a replay", record=False)
        app = make_app(RecordedLab(rec), settings, clock=driver.clock, replay=driver)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause(0.3)
            driver.seek(T0 + 50)
            await pilot.press("E")
            await wait_for(
                pilot, lambda: isinstance(app.screen, EventsScreen) and app.screen.events
            )
            assert app.screen.events == [unhealthy]
            assert "Warnings as read at" in text(app.screen, "#events-title")
    finally:
        rec.close()
