"""Snapshots of the drill-down screens (issue 26) at 80x24 and 160x48, on the frozen demo
lab of test_snapshots.py: in BGP mode with BIRD stopped in k8s-node-l1-1's calico-node, the
pod's detail (the probe's words at the top of what is wrong) and the node's.

Regenerate after an intended change: pytest tests/app/test_drill_snapshots.py --snapshot-update
"""

from __future__ import annotations

import asyncio

import pytest

from fabrictui.ui.screens.detail import DetailScreen
from tests.app.test_snapshots import demo_app, loaded, utc  # noqa: F401 - utc: a fixture

OBJECTS = {"pod": ("calico-node-hwkkx", "kube-system"), "node": ("k8s-node-l1-1", None)}


def opened(app, kind: str):
    name, namespace = OBJECTS[kind]
    load = loaded(app)

    async def run_before(pilot) -> None:
        await load(pilot)
        backend = app.backend
        backend.faultboard.set("stop-bird:k8s-node-l1-1", True, backend._now())
        app.main.drill.open_detail(kind, name, namespace)
        end = asyncio.get_running_loop().time() + 10
        while not (isinstance(app.screen, DetailScreen) and app.screen.detail is not None):
            assert asyncio.get_running_loop().time() < end, "no detail"
            await pilot.pause(0.05)
        await pilot.pause(0.2)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
@pytest.mark.parametrize("kind", ["pod", "node"])
def test_detail_screen(snap_compare, kind, size):
    app = demo_app("ready-bgp")
    assert snap_compare(app, terminal_size=size, run_before=opened(app, kind))
