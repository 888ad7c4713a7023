"""Two actions from the TUI (issue 19): `M`, the path MTU between the trace's default pair,
healthy and with an MTU fault (where it dies, what to set); and the palette's "trace: the
way to a Service", whose steps stand above the pod path on the trace screen."""

from __future__ import annotations

from fabrictui.actions.trace.svcsteps import StepState
from fabrictui.ui.screens.report import TextReportScreen
from fabrictui.ui.screens.trace import TracePickScreen
from tests.app.test_app_demo import demo_app, loaded, wait_for
from tests.app.test_trace_tui import nginx_ready, trace_done


async def mtu_report(app, pilot) -> str:
    await pilot.press("M")
    await wait_for(pilot, lambda: isinstance(app.screen, TracePickScreen))
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, TextReportScreen)
            and "measuring" not in str(app.screen.report_title)
        ),
        60.0,
    )
    title = str(app.screen.report_title)
    await pilot.press("escape")
    return title


async def test_m_measures_the_path_mtu_and_names_where_it_dies() -> None:
    app = demo_app("ready")
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await nginx_ready(app, pilot)
        assert (await mtu_report(app, pilot)).endswith("full-size pod packets cross")
        await app.backend.set_fault("mtu:leaf1:swp3", True)  # the port facing nnzz5's node
        assert (await mtu_report(app, pilot)).endswith("full-size pod packets DIE")
        log = app.query_one("#action-log").history
        assert any("mtu: full-size pod packets DIE: Set leaf1 swp3 back" in line for line in log)


async def test_palette_traces_the_way_to_the_workload_service() -> None:
    app = demo_app("ready")
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await nginx_ready(app, pilot)
        app.action_trace(to_service=True)  # what the palette entry runs
        await wait_for(pilot, lambda: isinstance(app.screen, TracePickScreen))
        assert app.screen.target == "svc/space1/nginx-service"
        await pilot.press("enter")
        screen = await trace_done(app, pilot)
        result = screen.result
        assert result is not None and result.service is not None
        assert all(s.state is StepState.OK for s in result.service.steps)
        title = str(screen.query_one("#trace-title").render())
        body = str(screen.query_one("#trace-body").render())
        assert "svc/space1/nginx-service" in title and "delivered through spine-sw" in title
        assert "● kube-proxy rule" in body and "then the way to endpoint" in body
