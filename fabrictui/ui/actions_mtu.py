"""`M` in the TUI: the path MTU between two pods (what `fabrictui mtu` measures), picked as
the trace's pair is (the last failed pair, else the seed's cross-rack pair), run through
the ActionRunner like every action (read-only, audited, `x` cancels) and shown on a report
screen, its verdict and advice in the action log."""

from __future__ import annotations

from rich.text import Text

from fabrictui.actions.mtu.result import MtuResult
from fabrictui.actions.mtu.run import run_mtu
from fabrictui.actions.mtu.text import result_lines
from fabrictui.actions.progress import Report
from fabrictui.model import Verdict
from fabrictui.session.audited import ActionSpec
from fabrictui.ui.actions_ui import ActionHost, default_trace_pair
from fabrictui.ui.screens.report import TextReportScreen
from fabrictui.ui.screens.trace import TracePickScreen

TITLES = {
    Verdict.PASS: "full-size pod packets cross",
    Verdict.FAIL: "full-size pod packets DIE",
    Verdict.NOT_OBSERVED: "NOT OBSERVED",
}


def mtu_text(result: MtuResult, good: str, bad: str, warn: str) -> Text:
    style = {Verdict.PASS: good, Verdict.FAIL: bad}.get(result.verdict, warn)
    lines = result_lines(result)
    body = Text("\n".join(lines[:-1]))
    body.append("\n" + lines[-1], style=style)
    return body


def mtu(host: ActionHost) -> None:
    """Read-only: pick two pods, then the largest DF ping that crosses and where larger die."""
    if not host.runner.free():
        return
    src, dst = default_trace_pair(host) or ("", "")

    def picked(answer: tuple[str, str] | None) -> None:
        if answer is None:
            host.log_action("mtu: cancelled")
            return
        source, target = answer
        screen = TextReportScreen(f"Path MTU {source} → {target}: measuring…", Text(""), "mtu")

        async def work(report: Report) -> MtuResult:
            return await run_mtu(host.backend, report, source, target)

        def finished(result: MtuResult) -> None:
            verdict = result.verdict
            level = {Verdict.PASS: "ok", Verdict.FAIL: "error"}.get(verdict, "warn")
            host.log_action(f"mtu: {TITLES[verdict]}: {result.advice()}", level)
            if screen.is_attached:
                p = host.palette
                title = f"Path MTU {result.source} → {result.target}: {TITLES[verdict]}"
                screen.update_body(title, mtu_text(result, p.good, p.bad, p.warn))

        spec = ActionSpec(
            "mtu",
            "Path MTU",
            target=f"{source} -> {target}",
            plan=(f"DF pings of growing size from {source} to {target}",),
        )
        if host.runner.start(spec, work, finished) is not None:
            host.push_screen(screen)

    host.push_screen(TracePickScreen(src, dst, "Path MTU"), picked)
