"""Uplinks drawn by their ports' own state (issue 20): the fabric poll reads each switch's
interfaces beside its BGP summary; the map says "swp51 down" for a port down, distinct from a
session's state, and "interfaces not read" on a switch whose list could not be read (its
colour stays the sessions'). The demo lab's ports follow its faults."""

from __future__ import annotations

import asyncio
import time

from fabrictui.backends.base import BackendError
from fabrictui.render.map.layout import layout_map
from fabrictui.session.feeds import Changed, FeedSupervisor
from fabrictui.session.mapping import fabric_map, read_once
from fabrictui.session.state import LabState
from tests.demo_helpers import fast_backend


async def test_a_cut_uplink_is_its_port_down_at_both_ends() -> None:
    lab = fast_backend("ready", speed=200.0)
    await lab.start()
    try:
        state = LabState(lab.info(), time.time)
        await read_once(lab, state)
        healthy = fabric_map(state)
        await lab.set_fault("cut-uplink:leaf2:spine-sw2", True)
        await read_once(lab, state)  # at once: the port is down before the session notices
        cut = fabric_map(state)
    finally:
        await lab.close()
    link = healthy.link("spine-sw2", "leaf2")
    assert (link.state, link.label) == ("good", "Established")
    assert link.ports == ("leaf2 swp52 up", "spine-sw2 swp2 up")
    link = cut.link("spine-sw2", "leaf2")
    assert (link.state, link.label, link.via) == ("bad", "swp52 down", "leaf2 swp52")
    assert link.ports == ("leaf2 swp52 down", "spine-sw2 swp2 down")
    assert cut.link("spine-sw1", "leaf2").label == "Established"
    assert "↑1●2✕ s2 swp52 down" in layout_map(cut, 100, 30).plain()


async def test_a_spine_down_does_not_answer_and_its_leaves_ports_go_down() -> None:
    lab = fast_backend("ready", speed=200.0)
    await lab.start()
    try:
        state = LabState(lab.info(), time.time)
        await lab.set_fault("stop-spine:spine-sw1", True)
        await read_once(lab, state)
    finally:
        await lab.close()
    graph = fabric_map(state)
    _, found = state.interfaces["spine-sw1"]
    assert found == "unreachable (VM is powered off)"
    spine = graph.spines[0]
    assert (spine.state, spine.label) == ("unseen", "no answer")
    link = graph.link("spine-sw1", "leaf1")
    assert (link.state, link.label) == ("bad", "swp51 down")
    assert link.ports == ("leaf1 swp51 down", "spine-sw1 swp1 not read")


async def test_a_switch_whose_ports_are_not_read_keeps_its_sessions_colour() -> None:
    lab = fast_backend("ready", speed=200.0)
    await lab.start()
    real = lab.switch_interfaces

    async def refuse(switch: str):
        if switch == "leaf1":
            raise BackendError("leaf1: sh: 1: cd: can't cd to /sys/class/net")
        return await real(switch)

    lab.switch_interfaces = refuse  # type: ignore[method-assign]
    try:
        state = LabState(lab.info(), time.time)
        await read_once(lab, state)
    finally:
        await lab.close()
    graph = fabric_map(state)
    leaf1 = graph.leaves[0]
    assert (leaf1.state, leaf1.label) == ("good", "BGP 2/2, interfaces not read")
    assert leaf1.detail == "sh: 1: cd: can't cd to /sys/class/net"
    link = graph.link("spine-sw1", "leaf1")
    assert (link.state, link.label) == ("good", "Established")
    assert link.ports == ("leaf1 swp51 not read", "spine-sw1 swp1 up")
    assert "● leaf1 BGP 2/2, interfaces not read" in layout_map(graph, 120, 30).plain()


async def test_the_fabric_poll_reads_the_ports_and_tells_only_their_changes() -> None:
    lab = fast_backend("ready", speed=200.0)
    await lab.start()
    state = LabState(lab.info(), time.time)
    told: list[object] = []
    state.listeners.append(lambda kind, data: told.append(data) if kind == "interfaces" else None)
    changed: list[str] = []

    def listener(event: object) -> None:
        if isinstance(event, Changed):
            changed.append(event.part)

    feeds = FeedSupervisor(lab, state, listener, fabric_poll_seconds=0.05)
    feeds._spawn("fabric")
    try:
        async with asyncio.timeout(10):
            while changed.count("fabric") < 3:
                await asyncio.sleep(0.02)
        assert len(told) == 1  # the first reading, with the cabling; the same again is not told
        readings, ports = told[0]  # type: ignore[misc]
        assert ports[("leaf1", "spine-sw2")] == "swp52"
        assert set(readings) == {"spine-sw1", "spine-sw2", "leaf1", "leaf2"}
        await lab.set_fault("cut-uplink:leaf1:spine-sw2", True)
        async with asyncio.timeout(10):
            while len(told) < 2:
                await asyncio.sleep(0.02)
        state.set_hosts(await lab.list_hosts())  # the hosts feed's, not run here
        link = fabric_map(state).link("spine-sw2", "leaf1")
        assert (link.state, link.label) == ("bad", "swp52 down")
    finally:
        await feeds.stop()
        await lab.close()


async def test_traffic_measured_for_a_while_shows_the_lossy_rack_pair() -> None:
    """`fabrictui map --traffic`'s measurement on the demo lab at 200x (a probe echo every
    25 ms): the capture the TUI runs, per rack pair, the lossy pair standing out."""
    from fabrictui.session.mapping import measure_traffic

    lab = fast_backend("ready", speed=200.0)
    await lab.start()
    try:
        state = LabState(lab.info(), time.time)
        await read_once(lab, state)
        assert fabric_map(state, capturing=False).to_json()["traffic"] is None
        await lab.set_fault("lossy-racks:leaf1:leaf2", True)
        graph, seconds = await measure_traffic(lab, state, 1.0)
    finally:
        await lab.close()
    assert 4.0 <= seconds < 5.0  # and 3 s more for the verdicts on the window's last frames
    pairs = {t.key: t for t in graph.traffic}
    across = [t for key, t in pairs.items() if key in ((1, 2), (2, 1))]
    assert across and sum(t.lost for t in across) > 0, pairs
    assert any(t.state == "warn" for t in across)
    assert all(t.rate is not None and t.rate > 0 for t in graph.traffic)
    text = layout_map(graph, 100, 30).plain()
    assert "◐ rack1 → rack2" in text or "◐ rack2 → rack1" in text


async def test_a_port_down_is_recorded_and_replayed_at_its_moment(tmp_path) -> None:
    """Recorded healthy, then with leaf1's port to spine-sw2 cut: the replay's map is each
    moment's (the interfaces event, and the snapshot a seek starts from)."""
    from fabrictui.session.record import Recorder, Recording
    from fabrictui.session.record.replay import ReplayDriver

    t0 = 1_800_000_000.0
    now = [t0]
    lab = fast_backend("ready", speed=200.0)
    await lab.start()
    path = tmp_path / "ports.rec.sqlite"
    recorder = Recorder(path, lab.info(), clock=lambda: now[0])
    state = LabState(lab.info(), lambda: now[0])
    recorder.attach(state)
    try:
        await read_once(lab, state)
        now[0] = t0 + 60
        await lab.set_fault("cut-uplink:leaf1:spine-sw2", True)
        await read_once(lab, state)
    finally:
        recorder.close()
        await lab.close()
    rec = Recording(path)
    try:
        assert [e.kind for e in rec.events].count("interfaces") == 2
        driver = ReplayDriver(rec)
        replayed = LabState(rec.lab, driver.clock)
        driver.bind(replayed, lambda event: None)
        driver.seek(t0 + 30)
        assert fabric_map(replayed).link("spine-sw2", "leaf1").label == "Established"
        driver.seek(rec.end)
        link = fabric_map(replayed).link("spine-sw2", "leaf1")
        assert (link.state, link.label) == ("bad", "swp52 down")
        assert link.ports == ("leaf1 swp52 down", "spine-sw2 swp1 down")
    finally:
        rec.close()
