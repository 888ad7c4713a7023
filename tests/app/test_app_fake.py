"""Pilot tests of the main screen against a scripted backend that fails on
command: stale marks, error messages, recovery, keys, read-only refusals."""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console
from textual.widgets import Input

from fabrictui.app import make_app
from fabrictui.capture.synth import build_vxlan_icmp_frame, pcap_global_header, pcap_record
from fabrictui.config import Settings
from fabrictui.model import KubePod, WatchEvent
from fabrictui.ui.screens.confirm import ChoiceScreen, ConfirmScreen
from tests.fake_backend import FakeBackend


def fast_settings(**kw) -> Settings:
    return Settings(host_poll_seconds=0.2, fabric_poll_seconds=0.2, **kw)


async def wait_for(pilot, condition, timeout=5.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


def fabric_text(app) -> str:
    return str(app.query_one("#fabric-text").render())


async def test_switch_failure_is_shown_and_recovers_without_restart():
    backend = FakeBackend()
    app = make_app(backend, fast_settings())
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: "1/1 Established" in fabric_text(app))
        backend.fail.add("bgp")
        await wait_for(pilot, lambda: "connection refused" in fabric_text(app))
        assert "leaf1  connection refused" in fabric_text(app)
        backend.fail.discard("bgp")
        await wait_for(pilot, lambda: "1/1 Established" in fabric_text(app))


async def test_session_going_down_is_flagged():
    backend = FakeBackend()
    app = make_app(backend, fast_settings())
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: "Established" in fabric_text(app))
        backend.bgp_state = "Active"
        await wait_for(pilot, lambda: "0/1 Established" in fabric_text(app))
        assert "session to spine-sw1 (172.16.0.0) is Active" in fabric_text(app)


async def test_vagrant_failure_marks_vm_pane_and_clears():
    backend = FakeBackend()
    app = make_app(backend, fast_settings())
    async with app.run_test(size=(160, 48)) as pilot:
        pane = app.query_one("#pane-vms")
        await wait_for(pilot, lambda: pane.border_subtitle.startswith("updated"))
        backend.fail.add("hosts")
        await wait_for(pilot, lambda: "vagrant: no answer" in pane.border_subtitle)
        assert pane.has_class("-stale")
        assert any(
            "hosts: vagrant: no answer" in line for line in app.query_one("#action-log").history
        )
        backend.fail.discard("hosts")
        await wait_for(pilot, lambda: not pane.has_class("-stale"), timeout=8)


async def test_api_down_at_start_then_back_fills_the_kube_pane():
    backend = FakeBackend()
    backend.fail.add("nodes")
    app = make_app(backend, fast_settings())
    async with app.run_test(size=(160, 48)) as pilot:
        pane = app.query_one("#pane-kube")
        await wait_for(pilot, lambda: "connection refused" in pane.border_subtitle)
        backend.fail.discard("nodes")
        await wait_for(pilot, lambda: "k8s-node-l1-1" in app.state.nodes, timeout=8)


async def test_pod_events_update_rows_in_place_and_filter_by_namespace():
    backend = FakeBackend()
    app = make_app(backend, fast_settings())
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one("#pod-table")
        await wait_for(pilot, lambda: "pods" in app.state.last_answer)
        pod = KubePod(
            "space1", "nginx-a", 0, 1, "Pending", 0, 0.0, None, None, owner="nginx-deployment"
        )
        other = KubePod(
            "kube-system", "coredns-x", 1, 1, "Running", 0, 0.0, "10.64.0.2", "k8s-node-l1-1"
        )
        await backend.pod_events.put(WatchEvent("ADDED", pod))
        await backend.pod_events.put(WatchEvent("ADDED", other))
        await wait_for(pilot, lambda: table.row_count == 2)
        running = KubePod(
            "space1", "nginx-a", 1, 1, "Running", 0, 0.0, "10.67.209.2", "k8s-node-l1-1"
        )
        await backend.pod_events.put(WatchEvent("MODIFIED", running))
        await wait_for(pilot, lambda: table.get_row("space1/nginx-a")[1].plain == "Running")
        await pilot.press("3", "slash")
        await pilot.press(*"ns:space1")
        await wait_for(pilot, lambda: table.row_count == 1)
        await pilot.press("escape")
        await wait_for(pilot, lambda: table.row_count == 2)
        await backend.pod_events.put(WatchEvent("DELETED", running))
        await wait_for(pilot, lambda: table.row_count == 1)
        assert app.state.pods.keys() == {"kube-system/coredns-x"}


async def test_captured_frames_show_node_and_pod_names():
    backend = FakeBackend()
    frame = build_vxlan_icmp_frame(
        outer_src_mac="08:00:27:53:73:c7", outer_dst_mac="08:00:27:91:d4:66",
        outer_src="10.0.101.101", outer_dst="10.0.101.102", udp_src=41553, vni=4096,
        inner_src_mac="66:92:0a:fb:a9:be", inner_dst_mac="66:81:2e:61:22:8a",
        inner_src="10.67.209.2", inner_dst="10.65.76.193", icmp_type=8, icmp_id=592, icmp_seq=1,
    )  # fmt: skip
    backend.capture_chunks = [pcap_global_header(), pcap_record(1.0, frame)]
    app = make_app(backend, fast_settings())
    async with app.run_test(size=(200, 50)) as pilot:
        log = app.query_one("#frame-log")
        await wait_for(pilot, lambda: log.line_count > 0)
        line = "\n".join(log.lines)
        assert "k8s-node-l1-1(10.0.101.101) > 10.0.101.102 vni 4096" in line
        assert "ICMP echo request id 592 seq 1" in line
        assert app.state.overlay.counters.total == 1


async def test_capture_failure_is_reported_in_the_overlay_pane():
    backend = FakeBackend()
    backend.fail.add("capture")
    app = make_app(backend, fast_settings())
    async with app.run_test(size=(160, 48)) as pilot:
        pane = app.query_one("#pane-overlay")
        await wait_for(pilot, lambda: "ssh connection refused" in pane.border_subtitle)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_number_keys_and_zoom(size):
    app = make_app(FakeBackend(), fast_settings(), live=False)
    async with app.run_test(size=size) as pilot:
        single_at_start = app.screen.has_class("-single")
        assert single_at_start == (size == (80, 24))
        for number, pane_id in enumerate(
            ("pane-vms", "pane-fabric", "pane-kube", "pane-overlay"), 1
        ):
            await pilot.press(str(number))
            pane = app.query_one(f"#{pane_id}")
            assert app.focused is not None and pane in app.focused.ancestors_with_self
            assert pane.display
        await pilot.press("z")
        assert app.screen.has_class("-single") and app.main.zoomed
        await pilot.press("z")
        assert app.screen.has_class("-single") == single_at_start


async def test_read_only_refuses_mutations_without_asking():
    app = make_app(FakeBackend(), fast_settings(read_only=True), live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for key in ("D", "S"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen)
        history = app.query_one("#action-log").history
        assert any("Deploy Calico refused: fabrictui runs read-only" in line for line in history)
        assert any("Scale nginx refused" in line for line in history)


async def test_d_then_y_chooses_the_focused_mode_and_types_nothing():
    """`D` asks the mode as a choice, VXLAN focused: the `y` that every confirmation teaches
    takes it (it once typed "vxlany" into a text box and was refused)."""
    app = make_app(FakeBackend(), fast_settings(), live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("D")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        assert app.screen.focused.id == "choice-vxlan"
        assert not app.screen.query(Input)  # nothing to type into
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "VXLAN overlay" in app.screen.title_text
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("D")
        await pilot.pause()
        await pilot.press("b")  # the other mode's own key
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "BGP peering" in app.screen.title_text
        await pilot.press("escape")


async def test_confirmation_focuses_the_safe_button_and_n_cancels():
    app = make_app(FakeBackend(), fast_settings(), live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("D")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)  # which mode: VXLAN has the focus
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.focused.id == "no"
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert any(
            "cancelled, nothing changed" in line for line in app.query_one("#action-log").history
        )


async def test_keymap_from_config_remaps_a_binding():
    app = make_app(FakeBackend(), fast_settings(keymap={"app.help": "f1"}), live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert app.screen.id == "help"
        console = Console(width=120, file=io.StringIO())
        console.print(app.screen.body)
        text = console.file.getvalue()
        assert "app.help" in text and "action.deploy" in text


async def test_garbage_from_a_switch_is_a_readable_message_in_the_fabric_pane():
    backend = FakeBackend()
    backend.fail.add("bgp-garbage")
    app = make_app(backend, fast_settings())
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: "the device answered" in fabric_text(app))
        shown = fabric_text(app)
        assert "leaf1  line 2: the device answered '% oops'" in shown
        assert "Traceback" not in shown
        backend.fail.discard("bgp-garbage")
        await wait_for(pilot, lambda: "1/1 Established" in fabric_text(app))


async def test_a_lab_that_hangs_on_close_does_not_keep_the_app_alive(monkeypatch):
    """Stopping is bounded step by step: a backend whose close never returns is
    given up on, and the app still ends."""
    import fabrictui.app

    monkeypatch.setattr(fabrictui.app, "STOP_STEP_SECONDS", 0.3)
    backend = FakeBackend()
    closed = asyncio.Event()

    async def hang() -> None:
        closed.set()
        await asyncio.Event().wait()

    backend.close = hang  # type: ignore[method-assign]
    app = make_app(backend, fast_settings(record=False))
    loop = asyncio.get_running_loop()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "hosts" in app.state.last_answer)
        started = loop.time()
    assert closed.is_set()
    assert loop.time() - started < 3.0


async def test_ping_before_the_pods_are_read_says_so_not_that_pods_are_missing():
    """P pressed before the pod watch first answered: the pods are not known yet, which is
    not "fewer than two nginx pods" (what could not be seen is not reported as missing)."""
    backend = FakeBackend()
    backend.fail.add("pods")
    app = make_app(backend, fast_settings())
    async with app.run_test(size=(160, 48)) as pilot:
        log = app.query_one("#action-log")
        await wait_for(pilot, lambda: "pods" in app.state.problems)
        await pilot.press("P")
        await wait_for(pilot, lambda: any("ping:" in line for line in log.history))
        said = [line for line in log.history if "ping:" in line]
        assert "the pods are not read yet (API server: connection refused)" in said[-1]
        assert not any("needs at least 2" in line for line in said)
        backend.fail.discard("pods")  # read, and none of them nginx: now it is too few
        await wait_for(pilot, lambda: "pods" in app.state.last_answer, timeout=15)
        await pilot.press("P")
        await wait_for(pilot, lambda: any("needs at least 2" in line for line in log.history))
