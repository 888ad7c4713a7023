"""The drill down in a replay (issue 26): Enter on a row of a replayed moment opens what the
recording holds of it then, headed "as recorded at HH:MM:SS", says what it does not hold,
and asks no lab (a replay's backend refuses everything). The recording is the demo lab's
in BGP mode: healthy, then k8s-node-l1-1's BIRD stopped and leaf1's uplink to spine-sw1 cut.

Snapshots at 80x24 and 160x48; regenerate after an intended change:
pytest tests/app/test_replay_drill.py --snapshot-update
"""

from __future__ import annotations

import asyncio
import time

import pytest

from fabrictui.app import make_app
from fabrictui.config import Settings
from fabrictui.session.record import Recording
from fabrictui.session.record.replay import RecordedLab, ReplayDriver
from fabrictui.ui.drill_ui import NO_RECORDED_LOGS
from fabrictui.ui.screens.detail import DetailScreen
from fabrictui.ui.screens.logs import LogScreen
from fabrictui.ui.screens.main import MainScreen
from tests.app._recorded_drill import record_bird_stopped
from tests.app.test_app_demo import wait_for
from tests.app.test_drill_tui import text
from tests.app.test_snapshots import utc  # noqa: F401 - a fixture

CALICO = "kube-system/calico-node-hwkkx"  # on k8s-node-l1-1, seed 1


def replay_app(rec: Recording, at: float):
    driver = ReplayDriver(rec)
    driver.now = at
    settings = Settings(read_only=True, read_only_source="a replay", record=False)
    return make_app(RecordedLab(rec), settings, clock=driver.clock, replay=driver), driver


async def opened(app, pilot, kind: str) -> DetailScreen:
    await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, DetailScreen)
            and app.screen.kind == kind
            and (app.screen.detail is not None or app.screen.error)
        ),
    )
    return app.screen


async def test_enter_in_a_replay_opens_the_recorded_moment(tmp_path, utc) -> None:  # noqa: F811
    path = tmp_path / "bird.rec.sqlite"
    healthy, seen = await record_bird_stopped(path)
    rec = Recording(path)
    try:
        app, driver = replay_app(rec, seen)
        async with app.run_test(size=(160, 48)) as pilot:
            table = app.main.query_one("#pod-table")
            await wait_for(pilot, lambda: CALICO in [r.key.value for r in table.ordered_rows])
            table.focus()
            await pilot.pause()
            table.move_cursor(row=[r.key.value for r in table.ordered_rows].index(CALICO))
            await pilot.press("enter")  # the pod's row, as the user does it
            pod = await opened(app, pilot, "pod")
            stamp = time.strftime("%H:%M:%S", time.localtime(seen))
            assert f"as recorded at {stamp}" in text(pod, "#detail-title")
            body = text(pod, "#detail-body")
            assert "BIRD is not ready" in body and "Probe failures" in body
            # its detail as read when it turned not ready (kubedetail): conditions, containers
            assert "Detail as recorded" in body and "turned not ready" in body
            assert (
                "Ready: False (ContainersNotReady: containers with unready status: [calico-node]"
                in (" ".join(body.split()))
            )
            assert "Container calico-node" in body
            assert "Not recorded" in body and "logs:" not in body  # the log is recorded
            assert "[2] session leaf1/10.0.101.101" in body  # the readiness links the session
            await pilot.press("l")  # the log lines recorded with it, not asked of a lab
            await wait_for(pilot, lambda: isinstance(app.screen, LogScreen) and app.screen.lines)
            logs = app.screen
            assert logs.lines[0].startswith(
                f"-- as recorded at {stamp} (turned not ready), the last "
            )
            assert "lines of calico-node --" in logs.lines[0] and not logs.error
            assert 1 < len(logs.lines) <= 51
            assert any("bird" in line.lower() for line in list(logs.lines)[1:])
            await pilot.press("escape")
            await pilot.press("2")  # the leaf's end: the dynamic neighbour FRR deleted
            leaf_end = await opened(app, pilot, "session")
            # why, as the fabric poll read it from the leaf's FRR log then
            assert "Established -> (gone)  (Neighbor deleted; NOTIFICATION received from the" in (
                text(leaf_end, "#detail-body")
            )
            await pilot.press("escape", "escape")
            app.main.drill.open_detail("session", "leaf1/spine-sw1", None)  # the cut uplink
            uplink = await opened(app, pilot, "session")
            body = text(uplink, "#detail-body")
            assert "Established -> Active  (Interface down)" in body
            # the neighbour detail read as it went down (recorded: bgpdetail)
            assert "Reason:      Interface down" in body and "Hold:" in body
            assert "(read at " in body and "Not recorded" not in body
            await pilot.press("escape")
            driver.seek(healthy)  # before the fault: all clear, read again with `r`
            app.main.drill.open_logs("kube-system", CALICO.split("/")[1])
            await wait_for(pilot, lambda: isinstance(app.screen, LogScreen) and app.screen.error)
            assert app.screen.error == NO_RECORDED_LOGS  # nothing recorded by then
            await pilot.press("escape")
            app.main.drill.open_detail("session", "leaf1/172.16.0.0", None)
            before = await opened(app, pilot, "session")
            body = text(before, "#detail-body")
            assert "State:                Established" in body
            assert "none while recording" in body
            await pilot.press("escape")
            app.main.drill.open_detail("pod", "no-such-pod", "default")
            gone = await opened(app, pilot, "pod")
            assert gone.error.endswith("not in the recording at " + time.strftime(
                "%H:%M:%S", time.localtime(healthy)))  # fmt: skip
            await pilot.press("escape")
            assert isinstance(app.screen, MainScreen)
    finally:
        rec.close()


def test_an_older_recording_without_neighbour_detail_says_so(tmp_path) -> None:
    """A recording made before `bgpdetail` existed (the same events, that one left out)
    still opens a session's detail: its summary and changes, and what it does not hold."""
    import sqlite3

    from fabrictui.session.record.drill import Moment, recorded_detail
    from fabrictui.session.state import LabState

    path = tmp_path / "old.rec.sqlite"
    _healthy, seen = asyncio.run(record_bird_stopped(path))
    with sqlite3.connect(path) as conn:
        # both ends of the cut uplink went down: each read
        assert conn.execute("DELETE FROM events WHERE kind = 'bgpdetail'").rowcount == 2
    rec = Recording(path)
    try:
        driver = ReplayDriver(rec)
        state = LabState(rec.lab, driver.clock)
        driver.bind(state, lambda event: None)
        driver.seek(seen)
        detail = recorded_detail("session", "leaf1/172.16.0.0", None, Moment(state, rec, seen))
        titles = [s.title for s in detail.sections]
        assert titles == ["Session", "Changes (recorded)", "Not recorded"]
        assert dict(detail.sections[0].rows)["State"] == "Active"
    finally:
        rec.close()


@pytest.fixture(scope="module")
def bird_recording(tmp_path_factory) -> tuple[str, float]:
    path = tmp_path_factory.mktemp("replay") / "bird.rec.sqlite"
    _healthy, seen = asyncio.run(record_bird_stopped(path))
    return str(path), seen


OBJECTS = {"pod": ("calico-node-hwkkx", "kube-system"), "session": ("leaf1/172.16.0.0", None)}


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
@pytest.mark.parametrize("kind", ["pod", "session"])
def test_replayed_detail_screen(snap_compare, bird_recording, utc, kind, size):  # noqa: F811
    path, seen = bird_recording
    rec = Recording(path)
    app, _driver = replay_app(rec, seen)

    async def run_before(pilot) -> None:
        await wait_for(pilot, lambda: bool(app.state.pods))
        name, namespace = OBJECTS[kind]
        app.main.drill.open_detail(kind, name, namespace)
        await opened(app, pilot, kind)
        await pilot.pause(0.2)

    try:
        assert snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        rec.close()
