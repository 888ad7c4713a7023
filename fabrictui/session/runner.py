"""The life of an action started from the screen, without the screen.

`ActionRunner` owns it from key press to report: one action at a time (busy
check), read-only refusal (audited), confirmation of the plan, the audited
run, progress and errors into the log, cancellation. The screen gives it an
`ActionPort` (how to log, ask and show status) and knows nothing else of an
action's life; the same guard and audit path serve the headless commands
(`fabrictui.session.audited`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol

from fabrictui import deadlines
from fabrictui.actions.progress import Progress
from fabrictui.backends.base import BackendError
from fabrictui.parsers import ParseError
from fabrictui.session.audited import ActionSpec, Refused, read_only_refusal, run_audited
from fabrictui.session.tasks import cancel_and_wait

Work = Callable[[Callable[[Progress], None]], Awaitable[Any]]


class ActionPort(Protocol):
    """What the runner needs from a screen."""

    def log_action(self, message: str, level: str = "info") -> None: ...

    def refused(self, message: str) -> None: ...

    async def confirm(self, question: str, plan: Sequence[str]) -> bool: ...

    def show_status(
        self, running: str | None, message: str = "", fraction: float | None = None
    ) -> None: ...


class ActionRun:
    """One started action: what tests and the status line ask about."""

    def __init__(self, spec: ActionSpec, task: asyncio.Task) -> None:
        self.spec = spec
        self.task = task

    @property
    def is_running(self) -> bool:
        return not self.task.done()

    @property
    def is_cancelled(self) -> bool:
        return self.task.cancelled()


class ActionRunner:
    def __init__(self, lab: str, read_only_source: str | None, port: ActionPort) -> None:
        """`read_only_source` says where read-only mode comes from ("--read-only",
        "config FILE"), None when changes are allowed."""
        self.lab = lab
        self.read_only_source = read_only_source
        self.port = port
        self.current: ActionRun | None = None
        self._background: set[asyncio.Task] = set()
        # told (action name, result) after each action that ended with a result: the recorder
        self.result_listeners: list[Callable[[str, Any], None]] = []

    @property
    def read_only(self) -> bool:
        return self.read_only_source is not None

    @property
    def busy(self) -> bool:
        return self.current is not None and self.current.is_running

    def free(self) -> bool:
        """True when no action runs; else says which one does."""
        if self.current is not None and self.current.is_running:
            self.port.log_action(
                f"{self.current.spec.title} is still running (x cancels it)", "warn"
            )
            return False
        return True

    def refuse(self, spec: ActionSpec) -> bool:
        """True (and says why) when `spec` may not start now."""
        if spec.changes_lab and self.read_only:
            assert self.read_only_source is not None
            self.port.refused(read_only_refusal(spec, self.lab, self.read_only_source))
            return True
        return False

    def start(
        self,
        spec: ActionSpec,
        work: Work,
        on_result: Callable[[Any], None] | None = None,
        exclusive: bool = True,
        read_plan: Callable[[], Awaitable[Sequence[str]]] | None = None,
    ) -> ActionRun | None:
        """Start `spec` (asking first when it changes the lab); None when refused.
        `exclusive` actions run one at a time; others (fault toggles) beside them.
        `read_plan` reads the plan from the lab just before asking (what exists now)."""
        if exclusive and not self.free():
            return None
        if self.refuse(spec):
            return None
        task = asyncio.get_running_loop().create_task(self._life(spec, work, on_result, read_plan))
        run = ActionRun(spec, task)
        if exclusive:
            self.current = run
            task.add_done_callback(lambda _: self.port.show_status(None))
        else:
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return run

    def cancel(self) -> bool:
        if not self.busy:
            self.port.log_action("no action is running", "info")
            return False
        assert self.current is not None
        self.current.task.cancel()
        self.port.log_action(f"{self.current.spec.title}: cancelled", "warn")
        return True

    async def close(self) -> None:
        """Cancel what runs and wait for it to clean up (remote pings, captures)."""
        tasks = list(self._background)
        if self.current is not None:
            tasks.append(self.current.task)
        await cancel_and_wait(tasks)

    async def _life(
        self,
        spec: ActionSpec,
        work: Work,
        on_result: Callable[[Any], None] | None,
        read_plan: Callable[[], Awaitable[Sequence[str]]] | None,
    ) -> None:
        log_name = spec.name.removesuffix("-calico")
        if read_plan is not None:
            try:
                spec = replace(spec, plan=tuple(await read_plan()))
            except (BackendError, ParseError, OSError) as err:
                self.port.log_action(
                    f"{log_name}: cannot read the plan from the lab: {err}", "error"
                )
                return
        if spec.changes_lab and not await self.port.confirm(spec.question, spec.plan):
            self.port.log_action(f"{spec.question.rstrip('?')}: cancelled, nothing changed", "info")
            return
        self.port.show_status(spec.title, "starting")

        def report(progress: Progress) -> None:
            self.port.log_action(f"{log_name}: {progress.message}", progress.level)
            self.port.show_status(spec.title, progress.message, progress.fraction)

        try:
            result = await run_audited(spec, self.lab, lambda: work(report))
        except (BackendError, ParseError, OSError, Refused) as err:
            self.port.log_action(f"{log_name}: {deadlines.describe(err, spec.title)}", "error")
            return
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a bug: say so, keep the app running
            self.port.log_action(f"{spec.title} failed: {type(err).__name__}: {err}", "error")
            return
        for listener in self.result_listeners:
            listener(spec.name, result)
        if on_result is not None:
            on_result(result)
