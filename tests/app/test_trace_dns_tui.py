"""`T` with a DNS name in its second field (issue 19): healthy, the trace screen shows the
name's lookup above the Service's steps and the path; with `dns-down` it stops at the `dns`
step, its title says so and names CoreDNS, and the action log says where it stopped."""

from __future__ import annotations

from fabrictui.actions.trace.svcsteps import StepState
from fabrictui.ui.screens.trace import TracePickScreen
from tests.app.test_app_demo import demo_app, loaded, wait_for
from tests.app.test_trace_tui import nginx_ready, trace_done


async def trace_name(app, pilot, name: str):
    await pilot.press("T")
    await wait_for(pilot, lambda: isinstance(app.screen, TracePickScreen))
    await pilot.press("ctrl+u", *name, "enter")
    screen = await trace_done(app, pilot)
    title = str(screen.query_one("#trace-title").render())
    body = str(screen.query_one("#trace-body").render())
    result = screen.result
    await pilot.press("escape")
    return result, title, body


async def test_t_traces_a_dns_name_then_names_dns_down() -> None:
    app = demo_app("ready")
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await nginx_ready(app, pilot)
        result, title, body = await trace_name(app, pilot, "nginx-service.space1")
        assert result is not None and result.dns is not None and result.service is not None
        assert result.dns.step.state is StepState.OK
        assert "→ dns/nginx-service.space1 → svc/space1/nginx-service" in title
        assert "delivered through spine-sw" in title
        assert body.index("● dns ") < body.index("● service ") < body.index("request")

        await app.backend.set_fault("dns-down", True)
        result, title, body = await trace_name(app, pilot, "dns/nginx-service")
        assert result is not None and result.stopped_at == "DNS"
        assert "dns/nginx-service: FAIL at DNS: CoreDNS pods not running" in title
        assert "✗ dns " in body and "timed out" in body and "request" not in body
        log = app.query_one("#action-log").history
        assert any("trace: fail at DNS" in line for line in log)
