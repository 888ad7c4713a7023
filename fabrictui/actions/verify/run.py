"""verify: the checks of a healthy lab in the lab's Calico mode (read from the cluster
unless given): VXLAN mode's six (vxlan.py) or BGP mode's eight (bgp.py), then the
application checks of both modes (apps.py)."""

from __future__ import annotations

import asyncio

from fabrictui.actions.progress import Progress, Report
from fabrictui.actions.verify.apps import APP_CHECKS, run_app_checks
from fabrictui.actions.verify.bgp import detect_mode, verify_bgp
from fabrictui.actions.verify.checks import (
    check_calico,
    check_nodes,
    check_replicas,
    reporting,
)
from fabrictui.actions.verify.diagnose import LabSnapshot, take_snapshot
from fabrictui.actions.verify.observed import nothing_answered
from fabrictui.actions.verify.vxlan import CHECKS, check_ping_and_wire, check_sessions
from fabrictui.backends.base import BackendError, DemoWorkload, LabBackend
from fabrictui.model import CheckResult


async def verify(
    backend: LabBackend,
    report: Report,
    workload: DemoWorkload | None = None,
    replicas: int = 4,
    ping_count: int = 3,
    ping_timeout: float = 10.0,
    mode: str | None = None,
) -> list[CheckResult]:
    """The checks of `mode` ("vxlan" or "bgp"; read from the cluster when None), then the
    application checks."""
    wl = workload or DemoWorkload()
    bgp = (mode or await detect_mode(backend)) == "bgp"
    report(Progress("reading the lab" + (" (BGP mode)" if bgp else ""), 0.0))
    snap = await take_snapshot(backend)
    if bgp:
        results = await verify_bgp(backend, report, wl, replicas, ping_count, ping_timeout, snap)
    else:
        results = await verify_vxlan(backend, report, wl, replicas, ping_count, ping_timeout, snap)
    await run_app_checks(
        backend, snap, wl, report, reporting(results, report, len(results) + len(APP_CHECKS))
    )
    return results


async def verify_vxlan(
    backend: LabBackend,
    report: Report,
    wl: DemoWorkload,
    replicas: int,
    ping_count: int,
    ping_timeout: float,
    snap: LabSnapshot,
) -> list[CheckResult]:
    """VXLAN mode's six checks."""
    silent = nothing_answered(snap)
    if silent is not None:
        raise BackendError(silent)
    results: list[CheckResult] = []
    add = reporting(results, report, len(CHECKS))

    add(check_sessions(snap))
    add(check_nodes(snap))
    add(check_calico(snap))
    add(check_replicas(snap, wl, replicas))
    async with asyncio.timeout(ping_timeout + 30.0):
        ping_check, wire = await check_ping_and_wire(
            backend, snap, wl, report, ping_count, ping_timeout
        )
    add(ping_check)
    add(wire)
    if results[0].unseen and ping_check.passed:
        # the ping crossed the fabric: a switch seen up by its peers forwards too
        results[0] = check_sessions(snap, crossing=True)
    return results
