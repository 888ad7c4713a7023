"""The seed's story driven through the TUI's keys on the demo lab, and the
faults injected from the UI: verification fails naming the cause, clearing
the fault makes it pass again."""

from __future__ import annotations

import asyncio

import pytest

from fabrictui.app import make_app
from fabrictui.backends.demo import DemoBackend
from fabrictui.config import Settings
from fabrictui.ui.screens.confirm import AskScreen, ChoiceScreen, ConfirmScreen


def demo_app(scenario: str = "fresh", **settings):
    backend = DemoBackend(scenario, seed=1, speed=40.0)
    return make_app(backend, Settings(fabric_poll_seconds=0.5, host_poll_seconds=1.0, **settings))


async def wait_for(pilot, condition, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        assert loop.time() < end, "condition not met in time"
        await pilot.pause(0.05)


async def loaded(app, pilot) -> None:
    await wait_for(
        pilot, lambda: app.state.readings and app.state.hosts and app.state.kube_state()[0]
    )


async def finish_action(app, pilot, timeout: float = 60.0) -> None:
    await wait_for(pilot, lambda: app.runner.current is not None, timeout)
    await wait_for(pilot, lambda: not app.runner.current.is_running, timeout)
    await pilot.pause(0.1)


def log(app) -> list[str]:
    return app.query_one("#action-log").history


async def run_verify(app, pilot) -> str:
    await pilot.press("V")
    await finish_action(app, pilot)
    assert app.screen.id == "verify-report"
    body = str(app.screen.query_one("#report-body").render())
    title = str(app.screen.query_one("#report-title").render())
    await pilot.press("escape")
    return title + "\n" + body


async def test_seed_story_through_the_keys():
    app = demo_app("fresh")
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        assert not any(n.ready for n in app.state.kube_state()[0])
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))  # the mode
        assert app.screen.focused.id == "choice-vxlan"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await finish_action(app, pilot)
        await wait_for(pilot, lambda: all(n.ready for n in app.state.kube_state()[0]))
        assert any("calico-node" in line and "Running" in line for line in log(app))

        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen))
        assert app.screen.query_one("#ask-input").value == "4"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await finish_action(app, pilot)
        nginx = [p for p in app.state.kube_state()[1] if p.namespace == "space1" and p.running]
        await wait_for(
            pilot,
            lambda: (
                len([p for p in app.state.kube_state()[1] if p.namespace == "space1" and p.running])
                == 4
            ),
        )
        nginx = [p for p in app.state.kube_state()[1] if p.namespace == "space1" and p.running]
        assert len({p.node for p in nginx}) == 4

        await pilot.press("P")
        await finish_action(app, pilot)
        assert app.screen.id == "ping-matrix"
        assert "all 12 pairs answer" in str(app.screen.query_one("#matrix-title").render())
        matrix = app.screen.query_one("#matrix")
        cells = [
            str(matrix.get_cell_at((r, c))) for r in range(4) for c in range(1, 5) if r != c - 1
        ]
        assert all("ms" in cell for cell in cells), cells
        await pilot.press("escape")

        # the overlay shows the pings' frames: node names outside, pod names inside
        frames = list(app.state.overlay.buffer)
        node_ips = {n.internal_ip for n in app.state.kube_state()[0]}
        pod_ips = {p.ip for p in nginx}
        vxlan = [f for f in frames if f.is_vxlan and f.inner_src in pod_ips]
        assert vxlan and all(f.vni == 4096 and f.outer_src in node_ips for f in vxlan)
        text = "\n".join(app.query_one("#frame-log").lines)
        assert "vni 4096" in text and "k8s-node-" in text and "ICMP echo req" in text

        report = await run_verify(app, pilot)
        assert "7/7 checks pass" in report


FAULTS = [
    ("stop-spine:spine-sw1", "spine-sw1"),
    ("cut-uplink:leaf2:spine-sw2", "leaf2"),
    ("stop-calico-node:k8s-node-l2-1", "k8s-node-l2-1"),
    ("blackhole-pod:space1/nginx-deployment-55457b9d87-nnzz5", "10.65.76.193"),
]


@pytest.mark.parametrize(("fault_id", "named"), FAULTS)
async def test_fault_from_the_ui_fails_verify_naming_the_cause_and_clears(fault_id, named):
    app = demo_app("ready")
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        app.toggle_fault(fault_id, True, fault_id)
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(
            pilot, lambda: any(f.id == fault_id and f.active for f in app.backend.faults())
        )
        report = await run_verify(app, pilot)
        assert "lab NOT healthy" in report
        causes = [line for line in report.splitlines() if "cause:" in line]
        assert any(named in line for line in causes), report

        app.toggle_fault(fault_id, False, fault_id)
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: not any(f.active for f in app.backend.faults()))
        await pilot.pause(1.0)  # sessions re-establish on the demo's (sped-up) timers
        report = await run_verify(app, pilot)
        assert "7/7 checks pass" in report, report


async def test_read_only_refuses_fault_injection():
    app = demo_app("ready", read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        app.toggle_fault("stop-spine:spine-sw1", True, "stop spine-sw1")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen)
        assert not any(f.active for f in app.backend.faults())
        assert any("refused" in line and "read-only" in line for line in log(app))


async def test_overlay_keys_pause_write_and_theme(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = demo_app("ready")
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await wait_for(pilot, lambda: app.state.overlay.counters.total > 0)
        await pilot.press("space")
        assert app.state.overlay.paused
        drawn = app.query_one("#frame-log").line_count
        counted = app.state.overlay.counters.total
        await wait_for(pilot, lambda: app.state.overlay.counters.total > counted)
        await pilot.pause(0.3)
        assert app.query_one("#frame-log").line_count == drawn  # counting, not drawing
        await pilot.press("space")
        assert not app.state.overlay.paused

        await pilot.press("w")
        written = list(tmp_path.glob("fabrictui-*.pcap"))
        assert len(written) == 1
        from fabrictui.capture.pcap import decode_pcap_bytes

        frames = decode_pcap_bytes(written[0].read_bytes())
        assert frames and all(f.vni == 4096 for f in frames if f.is_vxlan)

        themes = []
        for _ in range(3):
            await pilot.press("t")
            themes.append(app.theme)
        assert set(themes) == {"fabric-dark", "fabric-light", "fabric-16"}


async def test_cancel_key_stops_a_running_deploy():
    backend = DemoBackend("fresh", seed=1, speed=1.0)  # real time: deploy takes a while
    app = make_app(backend, Settings(fabric_poll_seconds=1.0, host_poll_seconds=1.0))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))  # the mode
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(
            pilot, lambda: app.runner.current is not None and app.runner.current.is_running
        )
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.runner.current.is_running)
        assert app.runner.current.is_cancelled
        assert any("cancelled" in line for line in log(app))
        from fabrictui.audit import read_audit

        assert [(r.action, r.result) for r in read_audit()] == [("deploy-calico", "cancelled")]


async def test_ssh_key_explains_when_the_lab_has_no_shell_and_palette_opens():
    app = demo_app("ready")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app, pilot)
        await pilot.press("1", "s")
        await pilot.pause(0.1)
        assert any("no interactive ssh" in line for line in log(app))
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        from textual.command import CommandPalette

        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"fault stop")
        await pilot.pause(0.5)
        await pilot.press("escape")


async def test_vm_halt_and_up_from_the_vm_pane_stream_output_and_change_state():
    app = demo_app("ready")
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(app, pilot)
        await pilot.press("1")  # spine-sw1 is the first row
        assert app.selected_host() == "spine-sw1"
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.focused.id == "no"
        await pilot.press("y")
        await finish_action(app, pilot)
        assert any("spine-sw1: ==> spine-sw1: Attempting graceful shutdown" in x for x in log(app))
        await wait_for(
            pilot,
            lambda: any(
                h.name == "spine-sw1" and h.state.value == "poweroff" for h in app.state.hosts
            ),
        )
        await pilot.press("u", "y")
        await finish_action(app, pilot)
        await wait_for(
            pilot,
            lambda: any(
                h.name == "spine-sw1" and h.state.value == "running" for h in app.state.hosts
            ),
        )
        await pilot.press("3", "h")  # not in the VM pane: nothing happens
        assert not isinstance(app.screen, ConfirmScreen)
