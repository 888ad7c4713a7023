"""The fabric map's inputs taken from the one owner of live state: a `LabState` at its
clock's moment, with its latest trace and ping mesh. The TUI's map screen, `fabrictui map`
and the report call `fabric_map(state)`; the graph itself is pure (`render/map/graph.py`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from fabrictui.actions.trace.model import HopState, TraceResult
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.backends.trace_ports import conventional_ports
from fabrictui.capture.transit import LOST_AFTER
from fabrictui.model import KubePod, PingResult, WatchEvent
from fabrictui.parsers import ParseError
from fabrictui.parsers.calico import peers_from_bird
from fabrictui.render.map.graph import FabricMap, MapInputs, TracePath, build_map, path_hosts
from fabrictui.session.feeds import FeedSupervisor
from fabrictui.session.polling import read_all_interfaces, read_all_switches
from fabrictui.session.state import LabState

MAX_PING_PATHS = 3  # failed ping pairs drawn after the trace; the matrix screen has them all


def fabric_map(
    state: LabState, previous: FabricMap | None = None, capturing: bool | None = None
) -> FabricMap:
    """`capturing`: whether a capture counts the traffic (None: it does once it counted a
    frame; `fabrictui map --traffic` says so from the start, so no frame is no traffic)."""
    now = state.clock()
    if capturing is None:
        capturing = state.last_answer.get("capture") is not None
    return build_map(
        MapInputs(
            hosts=tuple(state.hosts),
            readings=state.readings,
            analysis=state.session_analysis(),
            nodes=state.nodes,
            now=now,
            switch_answered=state.switch_answered,
            host_cut={n: max(0.0, now - t) for n, t in state.ssh_cut_since.items()},
            mode=state.calico_mode,
            node_bgp=state.node_bgp,
            transit=state.overlay.transit if capturing else None,
            names=state.names_by_ip(),
            paths=latest_paths(state.results, state.pods),
            notes=tuple(f"{source}: {error}" for source, error in sorted(state.problems.items())),
            interfaces=state.interfaces,
            ports=state.switch_ports or _conventional(state),
        ),
        previous,
    )


def _conventional(state: LabState) -> dict[tuple[str, str], str]:
    """Ports by the Cumulus convention, where the state was not told the lab's own (a
    recording made before the ports were recorded)."""
    if not state.interfaces:
        return {}
    return conventional_ports(state.shape())


def note_result(state: LabState, result: object) -> None:
    """For the action runner's listeners: a trace or a ping mesh kept in the state as the
    latest of its kind (what the map draws; the recorder keeps the same for replay)."""
    if isinstance(result, TraceResult):
        state.note_result("trace", result)
        return
    results = getattr(result, "results", None)
    if isinstance(results, dict) and all(isinstance(r, PingResult) for r in results.values()):
        state.note_result("ping", dict(results))


def latest_paths(
    results: Mapping[str, tuple[float, object]], pods: Mapping[str, KubePod]
) -> tuple[TracePath, ...]:
    paths: list[TracePath] = []
    trace = results.get("trace")
    if trace is not None and isinstance(trace[1], TraceResult):
        paths.append(trace_path(trace[1]))
    elif trace is not None and isinstance(trace[1], TracePath):  # already drawn as a path
        paths.append(trace[1])
    ping = results.get("ping")
    if ping is not None and isinstance(ping[1], dict):
        paths += ping_paths(ping[1], pods)[:MAX_PING_PATHS]
    return tuple(paths)


def trace_path(result: TraceResult) -> TracePath:
    hops = [(h.point.host, h.state in (HopState.SEEN, HopState.PASSED)) for h in result.hops]
    crossed = path_hosts(hops)
    lost = result.lost_at
    where = f"{lost.host} {lost.interface} ({lost.direction})" if lost else ""
    return TracePath(
        f"{result.source} → {result.target}",
        crossed,
        lost.host if lost else None,
        where,
        result.cause,
        result.delivered,
    )


def ping_paths(results: Mapping[tuple[str, str], PingResult], pods: Mapping[str, KubePod]):
    """The ping matrix's failed pairs, each as its two nodes."""
    failed = []
    for (src, dst), ping in sorted(results.items()):
        if ping.received > 0 or ping.not_probed:
            continue
        nodes = tuple(n for n in (_node(pods, src), _node(pods, dst)) if n)
        why = ping.error or f"{ping.transmitted} sent, none answered"
        failed.append(TracePath(f"{src} → {dst}", nodes, None, "", why, False, kind="ping"))
    return failed


def _node(pods: Mapping[str, KubePod], key: str) -> str | None:
    pod = pods.get(key)
    return pod.node if pod else None


async def read_once(backend: LabBackend, state: LabState, timeout: float = 10.0) -> None:
    """Fill `state` with one reading of everything the map draws but the frames (what the
    feeds would read at their first poll), as `fabrictui routes` reads once. A source that
    fails is recorded in `state.problems`, as the feeds record it; the hosts must answer."""
    state.set_hosts(await backend.list_hosts())
    switches = [h.name for h in state.hosts if h.role.is_switch]

    async def kube() -> None:
        try:
            nodes = await backend.list_nodes()
            pods = await backend.list_pods()
        except (BackendError, ParseError) as err:
            state.failed("nodes", str(err))
            return
        state.apply_node_event(WatchEvent("RELIST", items=tuple(nodes)))
        state.apply_pod_events([WatchEvent("RELIST", items=tuple(pods))])

    async def bgp() -> None:
        try:
            mode = await backend.calico_mode()
        except (BackendError, ParseError) as err:
            state.failed("bgp", str(err))
            return
        statuses: dict = {}
        if mode == "bgp":
            for host in state.hosts:
                if host.role.is_k8s:
                    try:
                        statuses[host.name] = tuple(
                            peers_from_bird(await backend.node_bgp_status(host.name))
                        )
                    except (BackendError, ParseError) as err:
                        statuses[host.name] = str(err)
        state.set_node_bgp(mode, statuses)

    readings, interfaces, *_ = await asyncio.gather(
        read_all_switches(backend, switches, timeout),
        read_all_interfaces(backend, switches, timeout),
        kube(),
        bgp(),
    )
    try:
        ports = backend.trace_ports()
    except BackendError:
        ports = {}
    state.set_interfaces(interfaces, {k: v for k, v in ports.items() if k[0] in switches})
    state.set_readings(readings)


TRAFFIC_START_SECONDS = 20.0  # the captures' SSH channels and tcpdumps starting, at most
VERDICT_SECONDS = 1.5 * LOST_AFTER  # a sighting waits 1 to 1.5 x LOST_AFTER to be judged


async def measure_traffic(
    backend: LabBackend, state: LabState, seconds: float, clock=time.monotonic
) -> tuple[FabricMap, float]:
    """Run the TUI's capture (every node's, through the capture worker: the transit table)
    for `seconds` after the first frame is counted (or after TRAFFIC_START_SECONDS without
    one), and VERDICT_SECONDS more, so that every frame sent has been judged arrived or
    lost; then the map with each rack pair's frames/s over that time (the first frames in
    it). Returns the map and the seconds measured. What fails to capture is in
    `state.problems`, as in the TUI."""
    feeds = FeedSupervisor(backend, state, lambda event: None)
    feeds.start(("capture",))
    try:
        started = clock()
        while state.last_answer.get("capture") is None:
            if clock() - started > TRAFFIC_START_SECONDS:
                break
            await asyncio.sleep(0.1)
        # the window opens at the first frame counted, with those frames in it (a baseline
        # taken then would leave a sparse flow's first frames out of its rate)
        before = FabricMap((), (), (), (), at=state.clock(), measured=True)
        began = clock()
        # then as long again as a frame waits for its other half: every frame sent in the
        # window has its verdict, arrived or lost (the transit table's, LOST_AFTER)
        await asyncio.sleep(seconds + VERDICT_SECONDS)
        after = fabric_map(state, before, capturing=True)
        return after, clock() - began
    finally:
        await feeds.stop()
