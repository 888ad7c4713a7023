"""The application checks: what a workload sees beyond an echo between two pod IPs (the
path MTU, a Service, the cluster DNS, network policy). They run after the Calico mode's
own checks, in both modes, on the snapshot verify read, and each is one entry of
APP_CHECKS: a name (the stable `name` of verify's JSON) and an async function.

A check that cannot run for want of something it reads (an API that does not serve what
it asks, a probe no method could send) is not observed, never failed; the function says
so itself where it knows why, and a BackendError that escapes it is turned into that.
When verify's own reading of the API failed, none is run: each would wait out the same
deadline on the same silent server, and a hung API must not hang verify."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fabrictui.actions.policy.check import check_policy
from fabrictui.actions.progress import Progress, Report
from fabrictui.actions.verify.diagnose import LabSnapshot
from fabrictui.actions.verify.dns import NAME as CLUSTER_DNS
from fabrictui.actions.verify.dns import check_dns
from fabrictui.actions.verify.path_mtu import NAME as PATH_MTU
from fabrictui.actions.verify.path_mtu import check_path_mtu
from fabrictui.actions.verify.service import check_service
from fabrictui.backends.base import BackendError, DemoWorkload, LabBackend
from fabrictui.model import CheckResult

AppCheck = Callable[[LabBackend, LabSnapshot, DemoWorkload, Report], Awaitable[CheckResult]]

# (name, check), in the order verify runs and numbers them after the mode's checks
APP_CHECKS: tuple[tuple[str, AppCheck], ...] = (
    (PATH_MTU, check_path_mtu),
    ("nginx-service", check_service),
    (CLUSTER_DNS, check_dns),
    ("network policy", check_policy),
)


async def run_app_checks(
    backend: LabBackend,
    snap: LabSnapshot,
    workload: DemoWorkload,
    report: Report,
    add: Callable[[CheckResult], None],
    checks: tuple[tuple[str, AppCheck], ...] | None = None,
) -> None:
    """Each application check in turn, its result handed to `add` (verify's numbering and
    progress lines)."""
    for name, check in APP_CHECKS if checks is None else checks:
        if snap.errors:  # each would wait its own deadline on an API that did not answer
            add(
                CheckResult.not_observed(
                    name, f"the Kubernetes API could not be read: {snap.errors[0]}"
                )
            )
            continue
        report(Progress(f"checking {name}"))
        try:
            result = await check(backend, snap, workload, report)
        except BackendError as err:
            result = CheckResult.not_observed(name, f"could not be checked: {err}")
        add(result)
