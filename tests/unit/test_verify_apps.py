"""The application checks' hook: each runs after the mode's checks, numbered on from them,
and one whose reading fails is not observed (never failed, never a traceback)."""

from __future__ import annotations

from typing import Any

from fabrictui.actions.progress import Progress
from fabrictui.actions.verify.apps import run_app_checks
from fabrictui.actions.verify.checks import reporting
from fabrictui.actions.verify.diagnose import LabSnapshot
from fabrictui.backends.base import BackendError, DemoWorkload
from fabrictui.model import CheckResult, Verdict


async def test_checks_run_in_order_and_a_failed_reading_is_not_observed() -> None:
    async def fine(*_: Any) -> CheckResult:
        return CheckResult("path MTU", True, ("1450 bytes crossed",))

    async def unread(*_: Any) -> CheckResult:
        raise BackendError("the API does not serve endpoints")

    lines: list[Progress] = []
    results = [CheckResult("nodes Ready", True)]
    add = reporting(results, lines.append, 3)
    checks = (("path MTU", fine), ("nginx-service", unread))
    snap = LabSnapshot(None, (), {}, (), (), (), ())  # type: ignore[arg-type]
    await run_app_checks(None, snap, DemoWorkload(), lines.append, add, checks)  # type: ignore[arg-type]
    assert [r.name for r in results] == ["nodes Ready", "path MTU", "nginx-service"]
    assert results[2].state is Verdict.NOT_OBSERVED
    assert results[2].cause == "could not be checked: the API does not serve endpoints"
    numbered = [p.message for p in lines if p.message[:1].isdigit()]
    assert numbered == [
        "2. path MTU: passed",
        "3. nginx-service: NOT OBSERVED: could not be checked: the API does not serve endpoints",
    ]


async def test_an_api_verify_could_not_read_is_not_asked_again() -> None:
    """A hung API: each check would wait out its own deadline on it; none is run."""
    asked: list[str] = []

    async def check(*_: Any) -> CheckResult:
        asked.append("asked")
        return CheckResult("nginx-service", True)

    results: list[CheckResult] = []
    snap = LabSnapshot(None, (), {}, (), (), (), ("list nodes: the API did not answer",))  # type: ignore[arg-type]
    add = reporting(results, lambda _: None, 1)
    await run_app_checks(
        None, snap, DemoWorkload(), lambda _: None, add, (("nginx-service", check),)
    )  # type: ignore[arg-type]
    assert asked == [] and results[0].state is Verdict.NOT_OBSERVED
    assert (
        results[0].cause
        == "the Kubernetes API could not be read: list nodes: the API did not answer"
    )
