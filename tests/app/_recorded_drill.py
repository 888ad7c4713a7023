"""A recording of the frozen demo lab in BGP mode (issue 26), for the replayed drill down:
healthy, then k8s-node-l1-1's BIRD stopped and leaf1's uplink to spine-sw1 cut, read as the
app's feeds read it (the fabric poll records why leaf1's session with spine-sw1 went down,
and the neighbour detail read then)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fabrictui.backends.base import BackendError
from fabrictui.backends.demo import DemoBackend
from fabrictui.model import WatchEvent
from fabrictui.parsers.calico import CalicoPeer, peers_from_bird
from fabrictui.session.bgp_resets import record_resets
from fabrictui.session.detail_reads import DetailReads
from fabrictui.session.record import Recorder
from fabrictui.session.state import LabState
from tests.demo_helpers import FakeClock

STOPPED_AFTER = 30.0  # seconds from the start to the fault
FAULT_READ = 60.0  # ... and to the reading that sees it
FAULTS = ("stop-bird:k8s-node-l1-1", "cut-uplink:leaf1:spine-sw1")


async def _read(backend, state: LabState, details: DetailReads) -> None:
    state.set_hosts(await backend.list_hosts())
    switches = [h.name for h in state.hosts if h.role.is_switch]
    readings = dict(
        zip(switches, await asyncio.gather(*map(backend.bgp_summary, switches)), strict=True)
    )
    await record_resets(backend, state, state.readings, readings)
    state.set_readings(readings)
    node_event = WatchEvent("RELIST", items=tuple(await backend.list_nodes()))
    state.apply_node_event(node_event)
    details.saw_node(node_event)
    pod_event = WatchEvent("RELIST", items=tuple(await backend.list_pods()))
    state.apply_pod_events([pod_event])
    details.saw_pods(pod_event)
    await details.drain()
    nodes = [h.name for h in state.hosts if h.role.is_k8s]
    statuses: dict[str, tuple[CalicoPeer, ...] | str] = {}
    for node in nodes:
        try:
            statuses[node] = tuple(peers_from_bird(await backend.node_bgp_status(node)))
        except BackendError as err:
            statuses[node] = str(err)
    state.set_node_bgp(await backend.calico_mode(), statuses)
    state.set_warnings(await backend.list_events(None, warnings_only=True))


async def record_bird_stopped(path: Path) -> tuple[float, float]:
    """Write the recording; (the moment before the fault, the moment after it was seen)."""
    clock = FakeClock(frozen=True)  # real seconds: the replay's timeline is the recorder's
    backend = DemoBackend(scenario="ready-bgp", seed=1, clock=clock)
    recorder = Recorder(path, backend.info(), clock=clock)
    state = LabState(backend.info(), clock)
    recorder.attach(state)
    details = DetailReads(backend, state)
    await _read(backend, state, details)
    healthy = clock()
    clock.step(STOPPED_AFTER)
    for fault in FAULTS:
        await backend.set_fault(fault, True)
    clock.step(FAULT_READ - STOPPED_AFTER)
    await _read(backend, state, details)
    seen = clock()
    recorder.close()
    return healthy, seen
