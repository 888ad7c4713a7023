"""The one audited path every action takes, from the TUI and from a headless
command alike: refuse it in read-only mode (and record the refusal), write the
audit start before it runs, record how it ended.

What an action is, for the guard and the log, is an `ActionSpec`; how its
result counts (ok or not, and the summary line) is read from the result by
`outcome`, so each caller does not decide it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fabrictui import audit, deadlines

T = TypeVar("T")


@dataclass(frozen=True)
class ActionSpec:
    name: str  # the audit's action name: "deploy-calico", "scale", "ping", "verify", ...
    title: str  # what the screen shows while it runs: "Deploy Calico"
    target: str = ""  # what it acts on: "space1/nginx-deployment replicas=4"
    plan: tuple[str, ...] = field(default=())  # what it will do: asked about, and audited
    changes_lab: bool = False  # asks first, and is refused in read-only mode
    question: str = ""  # the confirmation's title ("Deploy Calico (VXLAN backend)?")


class Refused(Exception):
    """The action was not run (read-only mode, or the audit log cannot be written)."""


def read_only_refusal(spec: ActionSpec, lab: str, source: str) -> str:
    """The message for a change refused in read-only mode; the refusal itself
    goes into the audit log (an operator asks "did someone try?")."""
    why = f" ({source})" if source else ""
    message = f"{spec.title} refused: fabrictui runs read-only{why}"
    try:
        entry = audit.start(spec.name, lab, spec.target, list(spec.plan))
        entry.finish("refused", message)
    except OSError:
        pass  # refusing does not need the log; the message still says why
    return message


def outcome(result: Any) -> tuple[bool, str]:
    """(ok, summary) of an action's result: an ActionResult, a ping matrix, a
    list of checks, or an exit code."""
    if isinstance(result, int) and not isinstance(result, bool):
        return result == 0, f"exit code {result}"
    if isinstance(result, list):  # verify: a list of checks
        passed = sum(1 for check in result if check.passed)
        unseen = sum(1 for check in result if not check.passed and not check.observed)
        tail = f", {unseen} not observed" if unseen else ""
        # what could not be observed did not fail: the summary says it, the entry is ok
        return passed + unseen == len(result), f"{passed}/{len(result)} checks pass{tail}"
    ok = getattr(result, "ok", getattr(result, "all_ok", True))
    return bool(ok), str(getattr(result, "summary", ""))


async def run_audited(spec: ActionSpec, lab: str, work: Callable[[], Awaitable[T]]) -> T:
    """Write the audit start (on disk before anything runs), run `work`, write
    how it ended: ok, failed (with the error) or cancelled. Raises Refused when
    the audit log cannot be written: an action nobody could trace is not run."""
    try:
        entry = await audit.start_async(spec.name, lab, spec.target, list(spec.plan))
    except OSError as err:
        raise Refused(f"{spec.title}: not run, the audit log is not writable ({err})") from None
    try:
        result = await work()
    except BaseException as err:
        cancelled = isinstance(err, asyncio.CancelledError | KeyboardInterrupt)
        why = type(err).__name__ if cancelled else deadlines.describe(err, spec.title)
        entry.finish("cancelled" if cancelled else "failed", str(err) or why)
        raise
    ok, summary = outcome(result)
    entry.finish("ok" if ok else "failed", summary)
    return result
