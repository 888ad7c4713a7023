"""The drill down's reads for the TUI (issue 26): what the detail, log and event screens ask
for, read from the backend in tasks of their own (reads only, so none waits for the action
runner), each ended when its screen goes; the screens only draw what they are given.

A source that refuses or does not answer gives its own words to the screen; the rest of the
screen stays as it was."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from textual.screen import Screen

from fabrictui.actions.drill import DESCRIBERS
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.parsers import ParseError
from fabrictui.parsers.kubedetail.events import order_events
from fabrictui.render.common import Palette
from fabrictui.session.record.drill import Moment, log_heading, recorded_detail, recorded_log
from fabrictui.session.record.replay import ReplayDriver
from fabrictui.session.state import LabState
from fabrictui.ui.screens.detail import DetailScreen
from fabrictui.ui.screens.events import EventsScreen
from fabrictui.ui.screens.logs import LogScreen


class DrillHost(Protocol):
    backend: LabBackend
    palette: Palette
    state: LabState

    def push_screen(self, screen: Screen, callback: Callable[[Any], Any] | None = None) -> Any: ...


class _Replaying(Protocol):
    driver: ReplayDriver


# a replay has no lab to read logs from; its recording holds a pod's last lines only when the
# pod turned not ready or restarted while it recorded (`kubedetail`)
NO_RECORDED_LOGS = (
    "no log of this pod recorded by then (a recording keeps the last lines when a pod turns "
    "not ready or restarts): `fabrictui logs` reads them from a live lab"
)


def no_detail(kind: str) -> str | None:
    """The status line's words when no describer knows `kind`, else None."""
    return None if kind in DESCRIBERS else f"no detail for {kind}"


class DrillController:
    def __init__(self, host: DrillHost) -> None:
        self.host = host
        self._tasks: dict[int, asyncio.Task[None]] = {}  # id(screen) -> its read

    @property
    def palette(self) -> Palette:
        return self.host.palette

    def moment(self) -> Moment | None:
        """The replay's moment shown, None in a live session: a replay's screens are drawn
        from the recording, never from the lab it cannot reach."""
        replay: _Replaying | None = getattr(self.host, "replay", None)
        if replay is None:
            return None
        driver = replay.driver
        return Moment(self.host.state, driver.recording, driver.now)

    def _run(self, screen: Screen, work: Awaitable[None]) -> None:
        self._stop(screen)
        task = asyncio.get_running_loop().create_task(work)
        key = id(screen)
        self._tasks[key] = task
        task.add_done_callback(lambda t: self._forget(key, t))

    def _forget(self, key: int, task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]

    def _stop(self, screen: Screen) -> None:
        task = self._tasks.pop(id(screen), None)
        if task is not None:
            task.cancel()

    # -- detail -----

    def open_detail(self, kind: str, name: str, namespace: str | None) -> str | None:
        """Push the detail screen of the object; the status line's words if none exists."""
        refused = no_detail(kind)
        if refused is None:
            self.host.push_screen(DetailScreen(kind, name, namespace, self))
        return refused

    def load_detail(self, screen: DetailScreen) -> None:
        moment = self.moment()
        if moment is not None:  # read on the loop: the state must not move under it
            try:
                screen.show(recorded_detail(screen.kind, screen.obj_name, screen.namespace, moment))
            except BackendError as err:
                screen.show_error(str(err))
            return
        describer = DESCRIBERS[screen.kind]

        async def read() -> None:
            try:
                detail = await describer(self.host.backend, screen.obj_name, screen.namespace)
            except (BackendError, ParseError) as err:
                screen.show_error(str(err))
                return
            screen.show(detail)

        self._run(screen, read())

    # -- logs -----

    def open_logs(self, namespace: str, pod: str, containers: tuple[str, ...] = ()) -> None:
        self.host.push_screen(LogScreen(namespace, pod, containers, self))

    def load_logs(self, screen: LogScreen) -> None:
        moment = self.moment()
        if moment is not None:
            self._recorded_logs(screen, moment)
            return
        backend = self.host.backend

        async def read() -> None:
            try:
                if screen.containers == ("",):  # not known yet: the pod's object names them
                    obj = await backend.read_object("pod", screen.pod, screen.namespace)
                    spec = obj.get("spec") or {}
                    names = tuple(str(c.get("name", "")) for c in spec.get("containers") or [])
                    screen.containers = names or ("",)
                container = screen.container or None
                if screen.following:
                    screen.set_lines([])
                    async for line in backend.follow_pod_log(
                        screen.namespace, screen.pod, container, tail=200
                    ):
                        screen.add_line(line)
                    screen.following = False
                    screen.add_line("-- the stream ended (the container or the pod went) --")
                    return
                lines = await backend.pod_log(
                    screen.namespace, screen.pod, container, screen.previous
                )
                screen.set_lines(lines)
            except (BackendError, ParseError) as err:
                screen.show_error(str(err))

        self._run(screen, read())

    def _recorded_logs(self, screen: LogScreen, moment: Moment) -> None:
        """A replay's `l`: the lines recorded with the pod's detail, as of the moment."""
        rd = recorded_log(moment, screen.namespace, screen.pod)
        if rd is None or rd.log is None:
            screen.show_error(NO_RECORDED_LOGS)
            return
        log = rd.log
        if screen.container and screen.container != log.container:
            screen.show_error(f"only {log.container}'s log was recorded, not {screen.container}'s")
            return
        if log.error:
            screen.show_error(f"{log_heading(rd)}\nnot read then: {log.error}")
            return
        screen.set_lines([log_heading(rd), *log.lines])

    def stop_logs(self, screen: LogScreen) -> None:
        self._stop(screen)

    # -- events -----

    def open_events(self, about: str = "") -> None:
        self.host.push_screen(EventsScreen(self, about))

    def load_events(self, screen: EventsScreen) -> None:
        async def read() -> None:
            try:
                screen.show(order_events(await self.host.backend.list_events(None)))
            except (BackendError, ParseError) as err:
                state = self.host.state
                seen = state.last_answer.get("events")
                if seen is None:
                    screen.show_error(str(err))
                    return
                # a replay (or an API that stopped answering): the Warnings as recorded
                when = time.strftime("%H:%M:%S", time.localtime(seen))
                screen.show(order_events(list(state.warnings)), f"Warnings as read at {when}")

        self._run(screen, read())

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
