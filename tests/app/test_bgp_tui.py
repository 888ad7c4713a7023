"""BGP mode in the TUI (issue 11): D asks the mode and shows BGP mode's plan (switch
configuration and Kubernetes objects), the fabric pane groups the nodes under their leaf,
the routes view from the palette, and verify's eight checks."""

from __future__ import annotations

from fabrictui.app import make_app
from fabrictui.backends.demo import DemoBackend
from fabrictui.config import Settings
from fabrictui.ui.screens.confirm import ChoiceScreen, ConfirmScreen
from fabrictui.ui.screens.routes import RoutesScreen
from tests.app.test_app_demo import finish_action, loaded, log, run_verify, wait_for


def demo_app(scenario: str):
    backend = DemoBackend(scenario, seed=1, speed=40.0)
    return make_app(backend, Settings(fabric_poll_seconds=0.5, host_poll_seconds=1.0))


def fabric_text(app) -> str:
    return str(app.query_one("#fabric-text").render())


async def test_bgp_lab_on_screen_routes_and_verify():
    app = demo_app("ready-bgp")
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await wait_for(pilot, lambda: "dynamic neighbours" in fabric_text(app))
        text = fabric_text(app)
        assert "*k8s-node-l2-1(10.0.102.101)" in text and "UNEXPECTED" not in text
        # the Kubernetes pane: each node's sessions as calicoctl node status shows them
        await wait_for(pilot, lambda: app.state.calico_mode == "bgp" and app.state.node_bgp)
        await wait_for(pilot, lambda: "calicoctl" in str(app.query_one("#node-bgp").render()))
        bgp = str(app.query_one("#node-bgp").render())
        assert "k8s-node-l2-1                10.0.102.1      node specific     up" in bgp
        await pilot.press("R")
        await finish_action(app, pilot)
        assert isinstance(app.screen, RoutesScreen)
        assert str(app.screen.query_one("#report-title").render()) == (
            "Routes (BGP mode): nothing missing"
        )
        await pilot.press("escape")
        report = await run_verify(app, pilot)
        assert report.startswith("Verify: 9/9 checks pass")


async def test_d_asks_the_mode_and_shows_the_bgp_plan_then_migrates():
    app = demo_app("ready")
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("i", "p")  # no such option: nothing happens
        await pilot.pause(0.1)
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        plan = app.screen.plan
        assert plan[0].startswith("migration from VXLAN to BGP mode")
        assert "    net add bgp listen range 10.0.101.0/24 peer-group calico" in plan
        assert any(line.startswith("  IPPool default-ipv4-ippool") for line in plan)
        await pilot.press("y")
        await finish_action(app, pilot, timeout=90)
        assert any("probes lost during the switch" in line for line in log(app)), log(app)
        assert await app.backend.calico_mode() == "bgp"
        await wait_for(pilot, lambda: "dynamic neighbours" in fabric_text(app))
        # the demo `ready` lab's own info expects no node peerings: the state's mode does
        await wait_for(pilot, lambda: "UNEXPECTED" not in fabric_text(app))
