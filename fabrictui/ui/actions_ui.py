"""Starting the lab actions from the screen: what each one asks, what it runs
and which screen shows its result.

The life of an action (busy, read-only, confirmation, audit, errors) belongs to
the `ActionRunner`; the actions themselves (`fabrictui.actions`) know nothing of
Textual. Here is only what differs between actions, written against
`ActionHost`: the few things of the app an action needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from rich.text import Text
from textual.screen import Screen

from fabrictui.actions.change.bgp_mode import deploy_mode, plan_deploy_mode
from fabrictui.actions.change.plans import plan_fault, plan_scale_on
from fabrictui.actions.change.scale import belongs, scale_workload
from fabrictui.actions.ping.mesh import ping_mesh as run_ping_mesh
from fabrictui.actions.policy.listing import PolicyListing, list_pod_policies
from fabrictui.actions.progress import ActionResult, Progress, Report
from fabrictui.actions.routes import RoutesReport, read_routes
from fabrictui.actions.trace.run import TraceResult, run_trace
from fabrictui.actions.verify.run import verify as run_verify
from fabrictui.backends.base import BackendError, DemoWorkload, LabBackend
from fabrictui.config import Settings
from fabrictui.model import Verdict, checks_verdict
from fabrictui.render.checks import check_lines, checks_summary
from fabrictui.render.common import Palette
from fabrictui.session.audited import ActionSpec
from fabrictui.session.runner import ActionRunner
from fabrictui.session.state import LabState
from fabrictui.ui.screens.confirm import AskScreen, ChoiceScreen
from fabrictui.ui.screens.ping_matrix import PingMatrixScreen
from fabrictui.ui.screens.report import TextReportScreen
from fabrictui.ui.screens.routes import RoutesScreen
from fabrictui.ui.screens.trace import TracePickScreen, TraceScreen


class ActionHost(Protocol):
    backend: LabBackend
    state: LabState
    runner: ActionRunner
    settings: Settings
    palette: Palette
    trace_pair: tuple[str, str] | None  # the last failed pair (ping mesh), traced by default

    def log_action(self, message: str, level: str = "info") -> None: ...

    def push_screen(self, screen: Screen, callback: Callable[[Any], Any] | None = None) -> Any: ...


def _log_result(host: ActionHost, name: str, result: ActionResult) -> None:
    host.log_action(f"{name}: {result.summary}", "ok" if result.ok else "error")
    for line in result.details:
        host.log_action(f"  {line}", "info" if result.ok else "warn")


# -- deploy Calico -----


MODES = {"vxlan": "VXLAN overlay", "bgp": "BGP peering with the leaves, no encapsulation"}
MODE_KEYS = {"vxlan": "v", "bgp": "b"}  # the chooser's key for each mode; VXLAN first


def deploy_calico(host: ActionHost, mode: str | None = None) -> None:
    """D: asks which mode (VXLAN overlay, or BGP peering), then shows that mode's plan. On a
    cluster in the other mode it is the migration, measured by a continuous ping."""
    pool = host.state.lab.pod_pool
    manifest = host.settings.calico_manifest  # the lab's own: applied as it is, mode and all
    title = "Deploy Calico"
    if not host.runner.free() or host.runner.refuse(
        ActionSpec("deploy-calico", title, f"cluster, pool {pool}", (), True)
    ):
        return

    def asked(value: str | None) -> None:
        if value is None:
            host.log_action("deploy: cancelled, nothing changed")
            return
        chosen = value.strip().lower()
        host.runner.start(
            ActionSpec(
                "deploy-calico",
                title if chosen == "vxlan" or manifest else f"{title} in BGP mode",
                target=f"cluster, manifest {manifest}"
                if manifest
                else f"cluster, pool {pool}, {chosen} mode",
                changes_lab=True,
                question=f"Apply {manifest}?" if manifest else f"Deploy Calico ({MODES[chosen]})?",
            ),
            lambda report: deploy_mode(host.backend, report, chosen, pool, manifest=manifest),
            lambda result: _log_result(host, "deploy", result),
            read_plan=lambda: plan_deploy_mode(host.backend, chosen, pool, manifest),
        )

    if mode is not None or manifest is not None:  # the lab's own manifest says its mode
        asked(mode or "vxlan")
        return
    options = [(MODE_KEYS[name], name, label) for name, label in MODES.items()]
    host.push_screen(ChoiceScreen("Calico mode", options), asked)


# -- routes -----


def routes(host: ActionHost, switch: str | None = None) -> None:
    """Read-only: every switch's routes to node subnets and pod blocks."""
    if not host.runner.free():
        return
    screen = RoutesScreen()
    host.push_screen(screen)

    def finished(report: RoutesReport) -> None:
        missing = len(report.missing)
        host.log_action(
            f"routes: {missing} expected routes missing" if missing else "routes: none missing",
            "error" if missing or report.errors else "ok",
        )
        if screen.is_attached:
            screen.show(report, host.palette)

    host.runner.start(
        ActionSpec("routes", "Routes", target=switch or "every switch"),
        lambda report: read_routes(host.backend, switch),
        finished,
    )


# -- network policy -----


def policies(host: ActionHost) -> None:
    """Read-only: the policies that select each pod (a pod's policies, issue 19)."""
    if not host.runner.free():
        return
    screen = TextReportScreen("Network policy: reading…", Text(""), "policy-report")
    host.push_screen(screen)

    def finished(listing: PolicyListing) -> None:
        title = f"Network policy: {listing.policies} policies, {listing.selected} pods selected"
        host.log_action(title.removeprefix("Network policy: "), "warn" if listing.unseen else "ok")
        if screen.is_attached:
            screen.update_body(title, Text("\n".join(listing.lines)))

    host.runner.start(
        ActionSpec("policy", "Network policy", target="every pod"),
        lambda report: list_pod_policies(host.backend, report),
        finished,
    )


# -- scale -----


def _replicas_problem(value: str) -> str | None:
    if not value.isdigit() or not 0 <= int(value) <= 100:
        return "replicas: a whole number from 0 to 100"
    return None


def scale(host: ActionHost) -> None:
    workload = DemoWorkload()
    title = "Scale nginx"
    target = f"{workload.namespace}/{workload.deployment}"
    if not host.runner.free() or host.runner.refuse(ActionSpec("scale", title, target, (), True)):
        return

    def asked(value: str | None) -> None:
        if value is None:
            host.log_action("scale: cancelled, nothing changed")
            return
        replicas = int(value)
        host.runner.start(
            ActionSpec(
                "scale",
                f"Scale nginx to {replicas}",
                target=f"{target} replicas={replicas}",
                changes_lab=True,
                question=f"Scale {target}?",
            ),
            lambda report: scale_workload(
                host.backend, report, replicas=replicas, workload=workload
            ),
            lambda result: _log_result(host, "scale", result),
            read_plan=lambda: plan_scale_on(host.backend, replicas, workload),
        )

    host.push_screen(AskScreen(f"Replicas for {target}:", "4", _replicas_problem), asked)


# -- ping mesh -----


def ping_mesh(host: ActionHost) -> None:
    """Read-only: allowed in read-only mode."""
    if not host.runner.free():
        return
    workload = DemoWorkload()
    mesh_pods = sorted(
        (
            p for p in host.state.pods.values()
            if belongs(p, workload.namespace, workload.deployment) and p.running and p.ip
        ),
        key=lambda p: (p.node or "", p.name),
    )  # fmt: skip
    if len(mesh_pods) < 2:
        if "pods" not in host.state.last_answer:  # not seen yet is not "too few pods"
            why = host.state.problems.get("pods")
            host.log_action(
                f"ping: the pods are not read yet ({why})"
                if why
                else "ping: the pods are not read yet: P again in a moment",
                "warn",
            )
            return
        host.log_action("ping: needs at least 2 running nginx pods (S scales nginx)", "warn")
        return
    screen = PingMatrixScreen(
        mesh_pods,
        host.state.racks_of_nodes(),
        host.palette,
        on_trace=lambda src, dst: trace(host, (src, dst)),
    )
    host.push_screen(screen)
    by_key = {p.key: p for p in mesh_pods}

    def on_result(src, dst, result) -> None:
        if screen.is_attached:
            screen.set_result(src, dst, result)

    def finished(matrix) -> None:
        failed = matrix.failures()
        unprobed = matrix.unprobed()
        if failed:
            host.trace_pair = failed[0]
        diagnoses = [
            f"{src} -> {dst}: {matrix.diagnose((src, dst)) or 'no cause found'}"
            for src, dst in failed
        ]
        summary = matrix.counts()
        level = {Verdict.PASS: "ok", Verdict.FAIL: "error"}.get(matrix.verdict, "warn")
        host.log_action(f"ping: {summary}", level)
        for line in diagnoses:
            host.log_action(f"  {line}", "warn")
        for src, dst in unprobed:  # why, once per pair: a missing program, not the network
            why = matrix.results[(src, dst)].not_probed or matrix.diagnose((src, dst))
            host.log_action(f"  {src} -> {dst}: not probed: {why}")
        if screen.is_attached:
            for (src_key, dst_key), result in matrix.results.items():
                screen.set_result(by_key[src_key], by_key[dst_key], result)
            screen.finish(summary, matrix.verdict, diagnoses)

    spec = ActionSpec(
        "ping",
        "Ping mesh",
        target=f"{len(mesh_pods)} pods of {workload.namespace}",
        plan=tuple(f"exec ping in {p.key}" for p in mesh_pods),
    )
    host.runner.start(
        spec,
        lambda report: run_ping_mesh(
            host.backend,
            report,
            pods=mesh_pods,
            count=host.settings.ping_count,
            on_result=on_result,
        ),
        finished,
    )


# -- verify -----


def verify(host: ActionHost) -> None:
    if not host.runner.free():
        return
    screen = TextReportScreen("Verify: running the six checks…", Text(""), "verify-report")
    host.push_screen(screen)

    def finished(checks) -> None:
        state = checks_verdict(checks)
        tail = {
            Verdict.PASS: "",
            Verdict.FAIL: " — lab NOT healthy",
            Verdict.NOT_OBSERVED: " — nothing failed, something NOT OBSERVED",
        }[state]
        title = f"Verify: {checks_summary(checks)}{tail}"
        level = {Verdict.PASS: "ok", Verdict.FAIL: "error"}.get(state, "warn")
        host.log_action(title.removeprefix("Verify: "), level)
        for check in checks:
            if not check.passed:
                word = "" if check.observed else "not observed: "
                host.log_action(f"  {check.name}: {word}{check.cause or 'failed'}", "warn")
            for unseen in check.unseen:
                host.log_action(f"  {check.name}: not seen: {unseen}", "warn")
        if screen.is_attached:
            screen.update_body(title, Text("\n").join(check_lines(checks, host.palette)))

    host.runner.start(
        ActionSpec("verify", "Verify", target="lab"),
        lambda report: run_verify(host.backend, report),
        finished,
    )


# -- path trace -----


def default_trace_pair(host: ActionHost) -> tuple[str, str] | None:
    """The last failed pair, else the seed's cross-rack pair (a pod of the highest rack to
    one of the lowest, as verify's check 5 picks it), else any two Running pods."""
    if host.trace_pair is not None:
        return host.trace_pair
    racks = host.state.racks_of_nodes()
    workload = DemoWorkload()
    pods = sorted(
        (p for p in host.state.pods.values() if p.running and p.ip and p.node
         and belongs(p, workload.namespace, workload.deployment)),
        key=lambda p: (p.node or "", p.name),
    )  # fmt: skip
    racked = [(racks.get(p.node or ""), p) for p in pods]
    known = sorted({r for r, _ in racked if r is not None})
    if len(known) >= 2:
        src = min((p for r, p in racked if r == known[-1]), key=lambda p: p.node or "")
        dst = max((p for r, p in racked if r == known[0]), key=lambda p: p.node or "")
        return src.key, dst.key
    if len(pods) >= 2:
        return pods[0].key, pods[-1].key
    return None


def trace_service(host: ActionHost) -> None:
    """The trace, to the workload's Service (the pick dialog lets another be typed)."""
    wl = DemoWorkload()
    src = (default_trace_pair(host) or ("", ""))[0]
    trace(host, (src, f"svc/{wl.namespace}/{wl.service}"))


def trace(host: ActionHost, pair: tuple[str, str] | None = None) -> None:
    """Read-only: pick two pods (the given or default pair first), then trace."""
    if not host.runner.free():
        return
    src, dst = pair or default_trace_pair(host) or ("", "")

    def picked(answer: tuple[str, str] | None) -> None:
        if answer is None:
            host.log_action("trace: cancelled")
            return
        source, target = answer
        screen = TraceScreen(f"Trace {source} → {target}: running…", host.palette)

        async def work(report: Report) -> TraceResult:
            def both(progress: Progress) -> None:
                report(progress)
                if screen.is_attached:
                    screen.progress(progress.message)

            try:
                return await run_trace(
                    host.backend, both, source, target, count=host.settings.ping_count
                )
            except BackendError as err:
                if screen.is_attached:
                    screen.fail(f"Trace {source} → {target}: {err}")
                raise
            except asyncio.CancelledError:  # `x`: the captures are stopped on the way out
                if screen.is_attached:
                    screen.fail(f"Trace {source} → {target}: cancelled")
                raise

        def finished(result: TraceResult) -> None:
            lost = result.lost_at
            verdict = "delivered" if result.delivered else "NOT delivered"
            if result.stopped_at is not None:  # at DNS, or at the Service
                verdict = f"{result.verdict} at {result.stopped_at}"
            where = f", lost at {lost.host} {lost.interface}" if lost else ""
            host.log_action(f"trace: {verdict}{where}", "ok" if result.delivered else "error")
            if result.cause:
                host.log_action(f"  {result.cause}", "warn")
            if screen.is_attached:
                screen.show(result)

        spec = ActionSpec(
            "trace",
            "Trace",
            target=f"{source} -> {target}",
            plan=(f"capture at every hop between {source} and {target}",
                  f"exec ping in {source}"),
        )  # fmt: skip
        if host.runner.start(spec, work, finished) is not None:
            host.push_screen(screen)

    host.push_screen(TracePickScreen(src, dst), picked)


# -- faults -----


def toggle_fault(host: ActionHost, fault_id: str, active: bool, title: str) -> None:
    verb = "Inject" if active else "Clear"
    spec = ActionSpec(
        "fault",
        f"{verb} fault",
        target=f"{verb.lower()} {fault_id}",
        plan=tuple(plan_fault(fault_id, active, title)),
        changes_lab=True,
        question=f"{verb} fault: {title}?",
    )

    async def run(report) -> None:
        await host.backend.set_fault(fault_id, active)

    def done(_: None) -> None:
        host.log_action(f"fault {verb.lower()}ed: {title}", "warn" if active else "ok")

    # a fault toggle runs beside a running action (that is how faults are tested)
    host.runner.start(spec, run, done, exclusive=False)


# -- VMs -----

VM_ACTIONS = {
    "up": "boot the VM (vagrant up)",
    "halt": "shut the VM down (vagrant halt): its sessions and pods go away",
    "reload": "restart the VM (vagrant reload)",
}


def vm_action(host: ActionHost, action: str, vm: str | None) -> None:
    if vm is None:
        host.log_action("select a host in the VM pane (1) first", "warn")
        return
    spec = ActionSpec(
        f"vm-{action}",
        f"VM {action} {vm}",
        target=vm,
        plan=(f"{vm}: {VM_ACTIONS[action]}", f"output streams to the action log ({action})"),
        changes_lab=True,
        question=f"{action.capitalize()} {vm}?",
    )

    async def stream(report) -> ActionResult:
        async for line in host.backend.vm_action(vm, action):
            host.log_action(f"{vm}: {line}")
        return ActionResult(True, f"{action} of {vm} finished", ())

    host.runner.start(spec, stream, lambda result: _log_result(host, f"vm {action}", result))
