"""Enter on the fabric pane (issue 26): its rows are text, yet the keyboard moves a cursor
over the switches and sessions (up/down, j/k), the cursor stays on its switch or session
when a filter or a redraw moves the lines, and Enter opens the row's detail through the
same describers as the other panes; `esc` comes back. A calico-node whose readiness says its
BIRD is not ready links its session on its leaf, and the link opens it."""

from __future__ import annotations

from fabrictui.app import make_app
from fabrictui.backends.demo import DemoBackend
from fabrictui.config import Settings
from fabrictui.ui.screens.detail import DetailScreen
from fabrictui.ui.screens.main import MainScreen
from fabrictui.ui.widgets.fabric_pane import FabricView
from tests.app.test_app_demo import loaded, wait_for

SETTINGS = Settings(fabric_poll_seconds=0.5, host_poll_seconds=1.0)


def highlighted(view: FabricView) -> list[str]:
    """The lines drawn reversed (the cursor), as the pane shows them."""
    text = view.query_one("#fabric-text").content
    lines = text.plain.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    marked = [s for s in text.spans if "reverse" in str(s.style)]
    return [
        line for i, line in enumerate(lines) if any(s.start <= starts[i] < s.end for s in marked)
    ]


def detail_open(app, kind: str, name: str, or_refused: bool = False):
    def opened() -> bool:
        screen = app.screen
        return (
            isinstance(screen, DetailScreen)
            and (screen.kind, screen.obj_name) == (kind, name)
            and (screen.detail is not None or (or_refused and bool(screen.error)))
        )

    return opened


async def test_the_cursor_moves_by_key_and_enter_opens_a_session_or_a_switch() -> None:
    app = make_app(DemoBackend("ready", seed=1, speed=40.0), SETTINGS)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await pilot.press("2")
        view = app.main.query_one(FabricView)
        assert view.has_focus and view.selected == ("switch", "leaf1")
        await pilot.pause()
        assert [line.split()[0] for line in highlighted(view)] == ["leaf1"]
        await pilot.press("j")
        assert view.selected == ("session", "leaf1/172.16.0.0")  # as leaf1 names spine-sw1
        await pilot.press("k", "k")  # the first row stays the first
        assert view.selected == ("switch", "leaf1")
        await pilot.press("down", "enter")
        await wait_for(pilot, detail_open(app, "session", "leaf1/172.16.0.0"))
        body = str(app.screen.query_one("#detail-body").render())
        assert "State:" in body and "Established" in body and "switch leaf1" in body
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen) and view.selected[1] == "leaf1/172.16.0.0"
        # spine-sw1's session with leaf2; the filter takes leaf1's lines away above it
        for _ in range(20):
            if view.selected == ("session", "spine-sw1/172.16.0.3"):
                break
            await pilot.press("j")
        assert view.selected == ("session", "spine-sw1/172.16.0.3")
        line = view._line
        await pilot.press("slash", *"leaf2", "enter")
        await pilot.pause(0.1)
        assert view.has_focus and view._line < line  # other lines, the same session
        assert view.selected == ("session", "spine-sw1/172.16.0.3")
        await pilot.pause(1.2)  # redrawn from new readings meanwhile
        assert view.selected == ("session", "spine-sw1/172.16.0.3")
        assert [line.split()[0] for line in highlighted(view)] == ["leaf2(172.16.0.3)"]
        await pilot.press("k", "k")  # up to its switch's header
        assert view.selected == ("switch", "spine-sw1")
        await pilot.press("enter")
        await wait_for(pilot, detail_open(app, "switch", "spine-sw1"))
        assert "swp1" in str(app.screen.query_one("#detail-body").render())
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen) and view.selected == ("switch", "spine-sw1")


async def test_a_stopped_birds_pod_links_its_session_on_its_leaf() -> None:
    backend = DemoBackend("ready-bgp", seed=1, speed=40.0)
    backend.faultboard.set("stop-bird:k8s-node-l1-1", True, backend._now())
    app = make_app(backend, SETTINGS)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        app.main.drill.open_detail("pod", "calico-node-hwkkx", "kube-system")
        await wait_for(pilot, detail_open(app, "pod", "calico-node-hwkkx"))
        body = str(app.screen.query_one("#detail-body").render())
        assert "BIRD is not ready" in body
        assert "[2] session leaf1/10.0.101.101" in body, body[-600:]
        await pilot.press("2")
        # BIRD gone, the leaf dropped the node's dynamic neighbour: its own words say so, and
        # its FRR log when and why
        await wait_for(pilot, detail_open(app, "session", "leaf1/10.0.101.101"))
        assert "FRR log" in str(app.screen.query_one("#detail-title").render())
        body = str(app.screen.query_one("#detail-body").render())
        assert "not listed: No such neighbor" in body and "Neighbor deleted" in body
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, MainScreen)
        # the fabric pane flags the session missing on leaf1; Enter on that row asks the same
        await pilot.press("2")
        view = app.main.query_one(FabricView)
        for _ in range(30):
            if view.selected == ("session", "leaf1/k8s-node-l1-1"):
                break
            await pilot.press("down")
        assert view.selected == ("session", "leaf1/k8s-node-l1-1")
        await pilot.press("enter")
        await wait_for(pilot, detail_open(app, "session", "leaf1/k8s-node-l1-1"))
        assert "No such neighbor" in str(app.screen.query_one("#detail-body").render())
        await pilot.press("escape")
        # a node that still peers: leaf2's dynamic neighbour k8s-node-l2-1, Established
        for _ in range(30):
            if view.selected == ("session", "leaf2/10.0.102.101"):
                break
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, detail_open(app, "session", "leaf2/10.0.102.101"))
        assert "Established" in str(app.screen.query_one("#detail-body").render())
