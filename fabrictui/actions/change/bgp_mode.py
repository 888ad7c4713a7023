"""Switching Calico between VXLAN and BGP mode, and the migration measured by a continuous
ping (docs/bgp-scenario.md). What is applied, and in which order, is `bgp_design`.

- `switch_to_bgp`: the switches (peer group, listen range, multipath-relax; route-maps
  where the switch is plain FRR), then calico-node with BIRD, the nodes' AS and one
  BGPPeer per rack; it waits until every leaf has every node of its rack Established, and
  only then turns the mesh off and the pool unencapsulated.
- `switch_to_vxlan`: the pool encapsulates again first, BIRD off, then the BGPPeers and
  the leaves' listen ranges go: nothing of BGP mode is left.
- `migrate`: either switch while a pod on one rack pings a pod on the other every 0.2 s
  and the sending node's eth0 is captured: how many probes were lost, and when the echoes
  moved from VXLAN to plain IP (or back).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from fabrictui.actions.change.deploy import deploy_calico
from fabrictui.actions.change.manifest import plan_manifest
from fabrictui.actions.change.plans import plan_deploy_calico_on
from fabrictui.actions.progress import ActionResult, Progress, Report
from fabrictui.actions.verify.bgp import echo_type
from fabrictui.actions.verify.checks import choose_ping_pair, workload_running
from fabrictui.actions.verify.diagnose import take_snapshot
from fabrictui.backends.base import BackendError, DemoWorkload, LabBackend
from fabrictui.capture import CaptureError
from fabrictui.capture.pcap import PcapStreamDecoder
from fabrictui.constants import POD_POOL
from fabrictui.intent.calico_bgp import (
    MODES,
    BgpDesign,
    bgp_leftovers,
    describe_object,
    design_for,
    leaf_lines,
    spine_lines,
    to_bgp_objects,
    to_vxlan_objects,
)
from fabrictui.intent.labshape import LabShape
from fabrictui.model import KubePod, VxlanFrame

PROBE_INTERVAL = 0.2
SETTLE = 3.0  # seconds of probes after the switch, so late losses count too


@dataclass(frozen=True, slots=True)
class LabDesign:
    design: BgpDesign
    dialects: dict[str, str]  # switch -> "nclu" / "vtysh"


async def design_on(backend: LabBackend, pool: str = POD_POOL) -> LabDesign:
    hosts = await backend.list_hosts()
    design = design_for(LabShape.of(hosts), pool)
    switches = [h.name for h in hosts if h.role.is_switch]
    said = await asyncio.gather(*(backend.switch_dialect(name) for name in switches))
    dialects = dict(zip(switches, said, strict=True))
    return LabDesign(design, dialects)


def plan_bgp_mode(lab: LabDesign) -> list[str]:
    """The confirmation's lines: the switch configuration in each switch's own language
    and the Kubernetes objects, in the order they are applied."""
    d = lab.design
    lines = [
        f"will switch Calico to BGP peering with the leaves, no encapsulation (pool {d.pool})",
        "AS design: every node its own AS (4200000000 + C*1000 + D for x.x.C.D), so nodes of "
        "one rack accept each other's blocks; leaves and spines keep theirs",
        "1. switch configuration:",
    ]
    for spine, asn in d.spines:
        dialect = lab.dialects.get(spine, "vtysh")
        lines.append(f"  {spine} ({dialect}):")
        lines += [f"    {line}" for line in spine_lines(asn, dialect)]
    for leaf in d.leaves:
        dialect = lab.dialects.get(leaf, "vtysh")
        lines.append(f"  {leaf} ({dialect}):")
        lines += [f"    {line}" for line in leaf_lines(d, leaf, dialect)]
    lines.append("2. Kubernetes objects, in this order (the peers exist before the mesh goes):")
    docs = to_bgp_objects(d)
    lines += [f"  {describe_object(doc)}" for doc in docs[:-2]]
    lines.append("   ... waits until every node's session with its leaf is Established, then:")
    lines += [f"  {describe_object(doc)}" for doc in docs[-2:]]
    return lines


def plan_vxlan_mode(lab: LabDesign) -> list[str]:
    d = lab.design
    lines = [f"will switch Calico back to the VXLAN overlay (pool {d.pool})", "1. Kubernetes:"]
    lines += [f"  {describe_object(doc)}" for doc in to_vxlan_objects(d)]
    lines += [f"  delete {describe_object(doc)}" for doc in bgp_leftovers(d)]
    lines.append("2. switch configuration removed:")
    for leaf in d.leaves:
        dialect = lab.dialects.get(leaf, "vtysh")
        lines.append(f"  {leaf} ({dialect}):")
        lines += [f"    {line}" for line in leaf_lines(d, leaf, dialect, remove=True)]
    return lines


async def node_sessions_up(backend: LabBackend, design: BgpDesign) -> list[str]:
    """What is still missing for every node to be Established with its leaf."""
    missing: list[str] = []
    for leaf in design.leaves:
        reading = await backend.bgp_summary(leaf)
        if reading.summary is None:
            missing.append(f"{leaf}: {reading.error or 'no answer'}")
            continue
        peers = {p.neighbor: p for p in reading.summary.peers}
        for peering in design.rack_peerings(leaf):
            peer = peers.get(peering.node_address)
            if peer is None:
                missing.append(f"{leaf}: no session from {peering.node}")
            elif not peer.established:
                missing.append(f"{leaf}: {peering.node} {peer.state}")
            elif peer.policy_blocked:
                missing.append(f"{leaf}: {peering.node} (Policy)")
    return missing


async def switch_to_bgp(
    backend: LabBackend, report: Report, pool: str = POD_POOL, timeout: float = 120.0
) -> ActionResult:
    lab = await design_on(backend, pool)
    d = lab.design
    details: list[str] = []
    report(Progress("configuring the switches (peer group, listen range)", 0.05))
    for spine, asn in d.spines:
        details += await backend.configure_switch(spine, spine_lines(asn, lab.dialects[spine]))
    for leaf in d.leaves:
        details += await backend.configure_switch(leaf, leaf_lines(d, leaf, lab.dialects[leaf]))
    docs = to_bgp_objects(d)
    report(Progress("applying BIRD, the nodes' AS and the BGPPeers", 0.3))
    details += await backend.apply_objects(docs[:-2])
    report(Progress("waiting for every node's session with its leaf", 0.4))
    deadline = time.monotonic() + timeout
    missing = await node_sessions_up(backend, d)
    while missing and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        missing = await node_sessions_up(backend, d)
    if missing:
        summary = f"node sessions not Established after {timeout:g} s: " + "; ".join(missing)
        report(Progress(summary + " (the mesh and the pool were left as they were)", None, "error"))
        return ActionResult(False, summary, tuple(details + missing))
    report(
        Progress(f"{len(d.peerings)} node sessions Established; mesh off, no encapsulation", 0.8)
    )
    details += await backend.apply_objects(docs[-2:])
    summary = f"Calico in BGP mode: {len(d.peerings)} nodes peer with {len(d.leaves)} leaves"
    report(Progress(summary, 1.0, "ok"))
    return ActionResult(True, summary, tuple(details))


async def switch_to_vxlan(
    backend: LabBackend, report: Report, pool: str = POD_POOL
) -> ActionResult:
    lab = await design_on(backend, pool)
    d = lab.design
    report(Progress("encapsulating again (IPPool vxlanMode Always), BIRD off", 0.1))
    details = await backend.apply_objects(to_vxlan_objects(d))
    report(Progress("removing the BGPPeers and the leaves' listen ranges", 0.5))
    details += await backend.delete_objects(bgp_leftovers(d))
    for leaf in d.leaves:
        lines = leaf_lines(d, leaf, lab.dialects[leaf], remove=True)
        details += await backend.configure_switch(leaf, lines)
    summary = "Calico back in VXLAN mode; nothing of BGP mode left on the switches"
    report(Progress(summary, 1.0, "ok"))
    return ActionResult(True, summary, tuple(details))


async def deploy_mode(
    backend: LabBackend,
    report: Report,
    mode: str,
    pool: str = POD_POOL,
    timeout: float = 180.0,
    manifest: Path | None = None,
) -> ActionResult:
    """`D` and `deploy-calico --mode`: Calico as today when it is not there yet, then the
    mode asked for. A change of mode on a running cluster is a migration, measured by a
    continuous ping when there are pods on two racks to ping between. With the lab's own
    `manifest`, that manifest as it is (its mode is what it says)."""
    if manifest is not None:
        return await deploy_calico(backend, report, pool, timeout, manifest)
    if mode not in MODES:
        raise BackendError(f"unknown mode {mode!r} (vxlan or bgp)")
    current = await backend.calico_mode()
    if current is None:
        deployed = await deploy_calico(backend, report, pool, timeout)
        if mode == "vxlan" or not deployed.ok:
            return deployed
        switched = await switch_to_bgp(backend, report, pool, timeout)
        return ActionResult(switched.ok, switched.summary, deployed.details + switched.details)
    if current == mode:
        if mode == "vxlan":  # re-applying changes nothing, as before this mode existed
            return await deploy_calico(backend, report, pool, timeout)
        return await switch_to_bgp(backend, report, pool, timeout)
    result, _ = await migrate(backend, report, mode, pool, timeout=timeout)
    return result


async def plan_deploy_mode(
    backend: LabBackend, mode: str, pool: str = POD_POOL, manifest: Path | None = None
) -> list[str]:
    """The confirmation of `deploy_mode` as the lab stands."""
    if manifest is not None:
        return await plan_manifest(backend, manifest)
    current = await backend.calico_mode()
    lines: list[str] = []
    if current is None:
        lines += await plan_deploy_calico_on(backend, pool)
        if mode == "vxlan":
            return lines
    elif current == mode == "vxlan":
        return await plan_deploy_calico_on(backend, pool)
    elif current != mode:
        lines.append(
            f"migration from {current.upper()} to {mode.upper()} mode: a pod on one rack pings"
            " a pod on the other every 0.2 s throughout, and the result says how many probes"
            " were lost and when the echoes moved on the wire"
        )
    lab = await design_on(backend, pool)
    return lines + (plan_bgp_mode(lab) if mode == "bgp" else plan_vxlan_mode(lab))


# --- the migration, measured --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Migration:
    to_mode: str
    probes: int
    lost_probes: tuple[int, ...]  # probe numbers (from 1) without a reply
    last_before: float | None  # capture time of the last echo request in the old form
    first_after: float | None  # capture time of the first echo request in the new form
    switch_seconds: float

    @property
    def lost(self) -> int:
        return len(self.lost_probes)

    def lines(self) -> list[str]:
        old, new = ("VXLAN", "native IP") if self.to_mode == "bgp" else ("native IP", "VXLAN")
        if self.last_before is not None and self.first_after is not None:
            gap = self.first_after - self.last_before
            moved = (
                f"echoes moved from {old} to {new}: last {old} echo, then the first {new} one"
                f" {gap:.3f} s later (capture clock)"
            )
        else:
            moved = f"no move from {old} to {new} seen on the wire"
        lost = ", ".join(map(str, self.lost_probes)) or "none"
        return [
            f"{self.lost} of {self.probes} probes lost during the switch (lost: {lost})",
            moved,
            f"the switch itself took {self.switch_seconds:.1f} s",
        ]


def _requests(frames: list[VxlanFrame], src_ip: str) -> tuple[list[float], list[float]]:
    """Capture times of echo requests from `src_ip`: (encapsulated, native)."""
    vxlan = [f.time for f in frames if f.is_vxlan and f.inner_src == src_ip and f.icmp_type == 8]
    native = [f.time for f in frames if f.outer_src == src_ip and echo_type(f) == 8]
    return vxlan, native


async def migrate(
    backend: LabBackend,
    report: Report,
    to_mode: str,
    pool: str = POD_POOL,
    interval: float = PROBE_INTERVAL,
    timeout: float = 120.0,
) -> tuple[ActionResult, Migration | None]:
    snap = await take_snapshot(backend)
    pods = workload_running(snap, DemoWorkload())
    pair = choose_ping_pair(snap, pods)
    if pair is None:
        report(Progress("no Running nginx pods on two racks to ping across: not measured"))
        if to_mode == "bgp":
            return await switch_to_bgp(backend, report, pool, timeout), None
        return await switch_to_vxlan(backend, report, pool), None
    src, dst = pair
    assert src.node is not None and dst.ip is not None and src.ip is not None
    results: dict[int, bool] = {}
    frames: list[VxlanFrame] = []
    stop = asyncio.Event()

    async def probe(n: int, pod: KubePod, target: str) -> None:
        try:
            results[n] = (await backend.ping(pod, target, count=1, timeout=1.0)).ok
        except BackendError:
            results[n] = False

    async def pinger() -> None:
        n = 0
        async with asyncio.TaskGroup() as group:
            while not stop.is_set():
                n += 1
                group.create_task(probe(n, src, dst.ip or ""))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)

    port = backend.info().vxlan_port
    stream = await backend.open_capture(src.node, "eth0", f"icmp or udp port {port}")

    async def capture() -> None:
        decoder = PcapStreamDecoder(node=src.node or "", vxlan_ports=(port,))
        with contextlib.suppress(CaptureError, BackendError):
            async for chunk in stream.chunks():
                frames.extend(decoder.feed(chunk))

    report(
        Progress(f"pinging {dst.ip} from {src.name} every {interval:g} s, capturing on {src.node}")
    )
    reader = asyncio.create_task(capture())
    pinging = asyncio.create_task(pinger())
    try:
        await asyncio.sleep(1.0)  # a baseline before the switch
        started = time.monotonic()
        if to_mode == "bgp":
            result = await switch_to_bgp(backend, report, pool, timeout)
        else:
            result = await switch_to_vxlan(backend, report, pool)
        took = time.monotonic() - started
        await asyncio.sleep(SETTLE)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(pinging, timeout=5.0)
        await stream.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader, timeout=2.0)
    vxlan, native = _requests(frames, src.ip)
    old, new = (vxlan, native) if to_mode == "bgp" else (native, vxlan)
    lost = tuple(sorted(n for n, ok in results.items() if not ok))
    measured = Migration(
        to_mode, len(results), lost, max(old) if old else None, min(new) if new else None, took
    )
    for line in measured.lines():
        report(Progress(line, None, "ok" if result.ok else "error"))
    summary = f"{result.summary}; {measured.lines()[0]}"
    return ActionResult(result.ok, summary, result.details + tuple(measured.lines())), measured
