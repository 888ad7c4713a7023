"""Regenerate screenshots/ from the demo lab: the main screen at 80x24 and
160x48, the ping matrix, the verify report and the path trace (of a black-holed
pod, at 80x24 and 160x48), in every shipped theme; a replay of a session in
which a spine stopped (160x48, the default theme); and the demo lab in BGP mode
(`ready-bgp`: main screen, verify, routes; 160x48, the default theme); the overlay's
transit view with leaf2's uplinks cut (80x24 and 160x48, the default theme); the fabric
map (`m`) with an uplink cut, a node NotReady and a lossy rack pair after a ping mesh
(80x24 and 160x48, every theme).

    python scripts/screenshots.py [--out screenshots]
        [--only main|ping-matrix|verify|trace|replay|bgp|transit|map]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from fabrictui.app import make_app
from fabrictui.backends.demo import DemoBackend
from fabrictui.config import Settings

THEMES = ("fabric-dark", "fabric-light", "fabric-16")


async def wait_until(pilot, condition, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            raise SystemExit("screenshots: the demo lab did not get there in time")
        await pilot.pause(0.1)


def new_app(theme: str, scenario: str = "ready"):
    backend = DemoBackend(scenario=scenario, seed=1, speed=20.0)
    settings = Settings(theme=theme, fabric_poll_seconds=1.0, host_poll_seconds=2.0)
    return make_app(backend, settings)


async def main_screen(theme: str, size: tuple[int, int], out: Path) -> None:
    app = new_app(theme)
    async with app.run_test(size=size) as pilot:
        await wait_until(
            pilot, lambda: app.state.overlay.counters.total >= 6 and app.state.readings
        )
        await pilot.pause(0.5)
        if size[0] < 120:
            await pilot.press("3")
        app.save_screenshot(f"main-{size[0]}x{size[1]}-{theme}.svg", str(out))


async def report_screen(theme: str, key: str, screen_id: str, name: str, out: Path) -> None:
    app = new_app(theme)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: len(app.state.kube_state()[1]) > 10 and app.state.readings)
        await pilot.press(key)
        await wait_until(pilot, lambda: app.screen.id == screen_id)
        await wait_until(pilot, lambda: not app.runner.current.is_running, timeout=60)
        await pilot.pause(0.5)
        app.save_screenshot(f"{name}-160x48-{theme}.svg", str(out))


async def trace_screen(theme: str, size: tuple[int, int], out: Path) -> None:
    """`T` on the seed's cross-rack pair with the target pod black-holed: the lost point,
    its cause and evidence."""
    app = new_app(theme)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: len(app.state.kube_state()[1]) > 10 and app.state.readings)
        await app.backend.set_fault("blackhole-pod:space1/nginx-deployment-55457b9d87-nnzz5", True)
        await pilot.press("T")
        await wait_until(pilot, lambda: app.screen.id == "trace-pick")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.id == "trace")
        await wait_until(pilot, lambda: getattr(app.screen, "result", None) is not None, 60)
        await pilot.pause(0.5)
        app.save_screenshot(f"trace-{size[0]}x{size[1]}-{theme}.svg", str(out))


async def replay_screen(theme: str, size: tuple[int, int], out: Path) -> None:
    """`fabrictui replay` of a demo session in which a spine stopped: the moment
    the sessions went down, with the timeline strip and the recorded time."""
    import os
    import tempfile

    from fabrictui.session.record.reader import Recording
    from fabrictui.session.record.replay import RecordedLab, ReplayDriver

    with tempfile.TemporaryDirectory(prefix="fabrictui-shot-") as state_dir:
        os.environ["FABRICTUI_STATE_DIR"] = state_dir  # the recording goes here, not home
        app = new_app(theme)
        async with app.run_test(size=size) as pilot:
            await wait_until(pilot, lambda: len(app.state.kube_state()[1]) > 10)
            await pilot.pause(2.0)
            stop = next(f for f in app.backend.faults() if f.id.startswith("stop-spine"))
            await app.backend.set_fault(stop.id, True)
            await wait_until(
                pilot,
                lambda: any(
                    p.state != "Established"
                    for r in app.state.readings.values()
                    if r.summary
                    for p in r.summary.peers
                ),
            )
            broke = app.state.clock()
            await pilot.pause(2.0)
            path = app.recorder.path
        recording = Recording(path)
        driver = ReplayDriver(recording)
        driver.now = broke + 0.5
        settings = Settings(theme=theme, read_only=True, read_only_source="a replay", record=False)
        replay = make_app(RecordedLab(recording), settings, clock=driver.clock, replay=driver)
        async with replay.run_test(size=size) as pilot:
            await pilot.pause(1.0)
            replay.save_screenshot(f"replay-{size[0]}x{size[1]}-{theme}.svg", str(out))
        recording.close()
        del os.environ["FABRICTUI_STATE_DIR"]


async def bgp_screens(theme: str, out: Path) -> None:
    """BGP mode (docs/bgp-scenario.md): the nodes grouped under their leaf in the fabric
    pane and their BIRD sessions in the Kubernetes pane, the overlay pane's native pod
    traffic, verify's eight checks, routes."""
    from fabrictui.model import is_native
    from fabrictui.ui import actions_ui
    from fabrictui.ui.widgets.overlay_pane import BGP_TITLE, OverlayPane

    app = new_app(theme, "ready-bgp")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(
            pilot,
            lambda: (
                app.state.node_bgp and app.state.readings and app.state.overlay.counters.total >= 6
            ),
        )
        # the overlay pane in BGP mode: its title, and the pings as native pod-to-pod lines
        pane = app.query_one(OverlayPane)
        await wait_until(pilot, lambda: (pane.border_title or "").endswith(BGP_TITLE))
        await wait_until(pilot, lambda: any(map(is_native, app.state.overlay.buffer)))
        await pilot.pause(1.0)
        app.save_screenshot(f"bgp-main-160x48-{theme}.svg", str(out))
        await pilot.press("V")
        await wait_until(pilot, lambda: app.screen.id == "verify-report")
        await wait_until(pilot, lambda: not app.runner.current.is_running, timeout=60)
        await pilot.pause(0.5)
        app.save_screenshot(f"bgp-verify-160x48-{theme}.svg", str(out))
        await pilot.press("escape")
        actions_ui.routes(app)
        await wait_until(pilot, lambda: app.screen.id == "routes-report")
        await wait_until(pilot, lambda: not app.runner.current.is_running, timeout=60)
        await pilot.pause(0.5)
        app.save_screenshot(f"bgp-routes-160x48-{theme}.svg", str(out))


async def transit_screen(theme: str, size: tuple[int, int], out: Path) -> None:
    """The overlay pane's transit view (`f`) after a ping mesh, with leaf2's uplinks cut:
    one-way times per node pair, and the frames lost between the racks."""
    app = new_app(theme)
    backend = app.backend
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: app.state.kube_state()[1] and app.feeds.capture_worker)
        await pilot.press("P")
        await wait_until(pilot, lambda: len(app.state.overlay.transit.pairs) >= 12, timeout=60)
        await wait_until(pilot, lambda: not app.runner.current.is_running, timeout=60)
        for spine in ("spine-sw1", "spine-sw2"):
            await backend.set_fault(f"cut-uplink:leaf2:{spine}", True)
        await pilot.press("escape", "P")
        await wait_until(pilot, lambda: app.state.overlay.transit.lost > 0, timeout=60)
        await wait_until(pilot, lambda: not app.runner.current.is_running, timeout=60)
        while app.screen is not app.main:
            await pilot.press("escape")
        await pilot.press("f")
        await pilot.pause(1.5)  # the table is redrawn once a second
        app.save_screenshot(f"transit-{size[0]}x{size[1]}-{theme}.svg", str(out))


async def map_screen(theme: str, size: tuple[int, int], out: Path) -> None:
    """The fabric map (`m`) after a ping mesh, with leaf2's uplink to spine-sw2 cut, kubelet
    stopped on k8s-node-l1-2 and the racks' path losing frames; leaf2 selected."""
    app = new_app(theme)
    backend = app.backend
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: app.state.kube_state()[1] and app.feeds.capture_worker)
        for fault in (
            "cut-uplink:leaf2:spine-sw2",
            "stop-kubelet:k8s-node-l1-2",
            "lossy-racks:leaf1:leaf2",
        ):
            await backend.set_fault(fault, True)
        await pilot.press("P")
        await wait_until(pilot, lambda: app.state.overlay.transit.lost > 0, timeout=60)
        await wait_until(pilot, lambda: not app.runner.current.is_running, timeout=60)
        while app.screen is not app.main:
            await pilot.press("escape")
        await pilot.press("m")
        await wait_until(pilot, lambda: getattr(app.screen, "map_layout", None) is not None)
        await pilot.press("down", "down", "right")
        await pilot.pause(2.5)  # two redraws: frames/s are measured between them
        app.save_screenshot(f"map-{size[0]}x{size[1]}-{theme}.svg", str(out))


async def run(out: Path, only: str | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for theme in THEMES:
        if only in (None, "main"):
            await main_screen(theme, (80, 24), out)
            await main_screen(theme, (160, 48), out)
        if only in (None, "ping-matrix"):
            await report_screen(theme, "P", "ping-matrix", "ping-matrix", out)
        if only in (None, "verify"):
            await report_screen(theme, "V", "verify-report", "verify", out)
        if only in (None, "trace"):
            await trace_screen(theme, (80, 24), out)
            await trace_screen(theme, (160, 48), out)
        if only in (None, "replay") and theme == THEMES[0]:
            await replay_screen(theme, (160, 48), out)
        if only in (None, "bgp") and theme == THEMES[0]:
            await bgp_screens(theme, out)
        if only in (None, "transit") and theme == THEMES[0]:
            await transit_screen(theme, (80, 24), out)
            await transit_screen(theme, (160, 48), out)
        if only in (None, "map"):
            await map_screen(theme, (80, 24), out)
            await map_screen(theme, (160, 48), out)
        print(f"screenshots: {theme} done")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parent.parent / "screenshots")
    )
    parser.add_argument(
        "--only",
        choices=("main", "ping-matrix", "verify", "trace", "replay", "bgp", "transit", "map"),
    )
    args = parser.parse_args()
    asyncio.run(run(Path(args.out), args.only))
