"""Starting the lab actions from the UI: refuse in read-only mode, ask for
confirmation of what will change, run the action in a worker, report its
progress to the action log and show its result screen.

The actions themselves (`fabrictui.actions`) know nothing of Textual.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.text import Text

from fabrictui import actions, audit
from fabrictui.actions.progress import ActionResult
from fabrictui.actions.scale import belongs
from fabrictui.backends.base import BackendError, DemoWorkload
from fabrictui.parsers import ParseError
from fabrictui.ui.render import check_lines
from fabrictui.ui.screens.confirm import AskScreen, ConfirmScreen
from fabrictui.ui.screens.ping_matrix import PingMatrixScreen
from fabrictui.ui.screens.report import TextReportScreen

if TYPE_CHECKING:
    from fabrictui.app import FabricApp


def _busy(app: FabricApp) -> bool:
    worker = app.action_worker
    if worker is not None and worker.is_running:
        app.log_action(f"{app.action_name} is still running (x cancels it)", "warn")
        return True
    return False


def refuse_if_read_only(app: FabricApp, what: str) -> bool:
    if app.settings.read_only:
        app.log_action(f"{what} refused: fabrictui runs read-only (--read-only)", "warn")
        app.notify(f"{what} refused: read-only mode", severity="warning")
        return True
    return False


def confirm_then(app: FabricApp, title: str, plan: list[str], start) -> None:
    def answered(yes: bool | None) -> None:
        if yes:
            start()
        else:
            app.log_action(f"{title}: cancelled, nothing changed", "info")

    app.push_screen(ConfirmScreen(title, plan), answered)


async def _guard(app: FabricApp, name: str, coro, target: str = "", calls=()):
    """Await an action under an audit record (written before it starts); turn
    lab errors into a log line instead of a crash."""
    try:
        entry = audit.start(name, app.lab.name, target, list(calls))
    except OSError as err:
        coro.close()
        app.log_action(f"{name}: not run, the audit log is not writable ({err})", "error")
        return None
    try:
        result = await coro
    except (BackendError, ParseError) as err:
        entry.finish("failed", str(err))
        app.log_action(f"{name}: {err}", "error")
        return None
    except BaseException as err:
        entry.finish(
            "cancelled" if isinstance(err, asyncio.CancelledError) else "failed", repr(err)
        )
        raise
    ok = getattr(result, "ok", getattr(result, "all_ok", None))
    if isinstance(result, list):  # verify: a list of checks
        ok = all(check.passed for check in result)
    entry.finish("ok" if ok in (True, None) else "failed", getattr(result, "summary", ""))
    return result


def _log_result(app: FabricApp, name: str, result) -> None:
    if result is None:
        return
    app.log_action(f"{name}: {result.summary}", "ok" if result.ok else "error")
    for line in result.details:
        app.log_action(f"  {line}", "info" if result.ok else "warn")


# -- deploy Calico -----


def deploy_calico(app: FabricApp) -> None:
    if _busy(app) or refuse_if_read_only(app, "Deploy Calico"):
        return
    pool = app.lab.pod_pool
    plan = actions.plan_deploy_calico(pool_cidr=pool)

    def start() -> None:
        report = app.progress_reporter("deploy")

        async def run() -> None:
            result = await _guard(
                app,
                "deploy-calico",
                actions.deploy_calico(app.backend, report, pool_cidr=pool),
                target=f"cluster, pool {pool}",
                calls=plan,
            )
            _log_result(app, "deploy", result)

        app.start_action("Deploy Calico", run())

    confirm_then(app, "Deploy Calico (VXLAN backend)?", plan, start)


# -- scale -----


def _replicas_problem(value: str) -> str | None:
    if not value.isdigit() or not 0 <= int(value) <= 100:
        return "replicas: a whole number from 0 to 100"
    return None


def scale(app: FabricApp) -> None:
    if _busy(app) or refuse_if_read_only(app, "Scale nginx"):
        return
    workload = DemoWorkload()
    _, pods = app.kube_state()
    current = sum(
        1
        for p in pods
        if belongs(p, workload.namespace, workload.deployment) and p.status != "Terminating"
    )

    def asked(value: str | None) -> None:
        if value is None:
            app.log_action("scale: cancelled, nothing changed")
            return
        replicas = int(value)
        plan = actions.plan_scale(current or None, replicas, workload)

        def start() -> None:
            report = app.progress_reporter("scale")

            async def run() -> None:
                result = await _guard(
                    app,
                    "scale",
                    actions.scale_workload(
                        app.backend, report, replicas=replicas, workload=workload
                    ),
                    target=f"{workload.namespace}/{workload.deployment} replicas={replicas}",
                    calls=plan,
                )
                _log_result(app, "scale", result)

            app.start_action(f"Scale nginx to {replicas}", run())

        confirm_then(app, f"Scale {workload.namespace}/{workload.deployment}?", plan, start)

    app.push_screen(
        AskScreen(
            f"Replicas for {workload.namespace}/{workload.deployment}:", "4", _replicas_problem
        ),
        asked,
    )


# -- ping mesh -----


def ping_mesh(app: FabricApp) -> None:
    """Read-only: allowed in read-only mode."""
    if _busy(app):
        return
    _, pods = app.kube_state()
    workload = DemoWorkload()
    mesh_pods = sorted(
        (
            p for p in pods
            if belongs(p, workload.namespace, workload.deployment) and p.running and p.ip
        ),
        key=lambda p: (p.node or "", p.name),
    )  # fmt: skip
    if len(mesh_pods) < 2:
        app.log_action("ping: needs at least 2 running nginx pods (S scales nginx)", "warn")
        return
    screen = PingMatrixScreen(mesh_pods, app.racks_of_nodes(), app.palette)
    app.push_screen(screen)
    report = app.progress_reporter("ping")

    def on_result(src, dst, result) -> None:
        if screen.is_attached:
            screen.set_result(src, dst, result)

    async def run() -> None:
        matrix = await _guard(
            app,
            "ping",
            actions.ping_mesh(
                app.backend,
                report,
                pods=mesh_pods,
                count=app.settings.ping_count,
                on_result=on_result,
            ),
            target=f"{len(mesh_pods)} pods of {workload.namespace}",
            calls=[f"exec ping in {p.key}" for p in mesh_pods],
        )
        if matrix is None:
            return
        failed = [pair for pair, result in matrix.results.items() if not result.ok]
        diagnoses = []
        for pair in failed:
            cause = matrix.diagnose(pair)
            diagnoses.append(f"{pair[0]} -> {pair[1]}: {cause or 'no cause found'}")
        total = len(matrix.results)
        summary = (
            f"all {total} pairs answer" if not failed else f"{len(failed)} of {total} pairs fail"
        )
        app.log_action(f"ping: {summary}", "ok" if not failed else "error")
        for line in diagnoses:
            app.log_action(f"  {line}", "warn")
        if screen.is_attached:
            for (src_key, dst_key), result in matrix.results.items():
                src = next(p for p in mesh_pods if p.key == src_key)
                dst = next(p for p in mesh_pods if p.key == dst_key)
                screen.set_result(src, dst, result)
            screen.finish(summary, not failed, diagnoses)

    app.start_action("Ping mesh", run())


# -- verify -----


def verify(app: FabricApp) -> None:
    if _busy(app):
        return
    screen = TextReportScreen("Verify: running the six checks…", Text(""), "verify-report")
    app.push_screen(screen)
    report = app.progress_reporter("verify")

    async def run() -> None:
        checks = await _guard(app, "verify", actions.verify(app.backend, report), target="lab")
        if checks is None:
            return
        passed = sum(1 for c in checks if c.passed)
        ok = passed == len(checks)
        title = f"Verify: {passed}/{len(checks)} checks pass" + ("" if ok else " — lab NOT healthy")
        app.log_action(title.removeprefix("Verify: "), "ok" if ok else "error")
        for check in checks:
            if not check.passed:
                app.log_action(f"  {check.name}: {check.cause or 'failed'}", "warn")
        if screen.is_attached:
            screen.update_body(title, Text("\n").join(check_lines(checks, app.palette)))

    app.start_action("Verify", run())


# -- faults -----


def toggle_fault(app: FabricApp, fault_id: str, active: bool, title: str) -> None:
    verb = "Inject" if active else "Clear"
    if refuse_if_read_only(app, f"{verb} fault"):
        return
    plan = actions.plan_fault(fault_id, active, title)

    def start() -> None:
        async def run() -> None:
            try:
                with audit.audited("fault", app.lab.name, f"{verb.lower()} {fault_id}", plan):
                    await app.backend.set_fault(fault_id, active)
            except (BackendError, OSError) as err:
                app.log_action(f"fault {title}: {err}", "error")
                return
            app.log_action(f"fault {verb.lower()}ed: {title}", "warn" if active else "ok")

        app.run_worker(run(), group="faults", exit_on_error=False)

    confirm_then(app, f"{verb} fault: {title}?", plan, start)


# -- VMs ------------------------------------------------------------------------------------------

VM_ACTIONS = {
    "up": "boot the VM (vagrant up)",
    "halt": "shut the VM down (vagrant halt): its sessions and pods go away",
    "reload": "restart the VM (vagrant reload)",
}


def vm_action(app: FabricApp, action: str) -> None:
    host = app.selected_host()
    if host is None:
        app.log_action("select a host in the VM pane (1) first", "warn")
        return
    if _busy(app) or refuse_if_read_only(app, f"VM {action}"):
        return
    plan = [f"{host}: {VM_ACTIONS[action]}", f"output streams to the action log ({action})"]

    def start() -> None:
        async def stream() -> ActionResult:
            lines = 0
            async for line in app.backend.vm_action(host, action):
                lines += 1
                app.log_action(f"{host}: {line}")
            return ActionResult(True, f"{action} of {host} finished", ())

        async def run() -> None:
            result = await _guard(app, f"vm-{action}", stream(), target=host, calls=plan)
            _log_result(app, f"vm {action}", result)

        app.start_action(f"VM {action} {host}", run())

    confirm_then(app, f"{action.capitalize()} {host}?", plan, start)
