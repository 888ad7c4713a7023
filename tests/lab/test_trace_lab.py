"""The path trace on the rehearsal lab, through the real backends (SSH to FRR switches and
nodes, tcpdump at every point, the lab's Kubernetes API): a healthy path, a black-holed pod
route, a broken VXLAN neighbour entry on the sending node, both uplinks of a leaf down, a
spine's BGP gone (delivered through the other spine). Each fault is made for real and undone
(also on failure); after every trace no tcpdump is left on any host.

Everything fabrictui talks to is on 127.0.0.1; lab addresses exist only in the lab's
namespaces.
"""

from __future__ import annotations

import asyncio
import ipaddress
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrictui.actions.progress import ignore
from fabrictui.actions.trace.run import run_trace
from fabrictui.actions.verify.run import verify
from fabrictui.backends.real.backend import RealLabBackend
from tests._rehearsal_tui import open_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

TIMINGS: list[tuple[str, float, dict[str, float], float | None]] = []


@pytest.fixture(scope="module")
def lab_dir(shared_lab) -> Iterator[Path]:
    yield shared_lab.take()  # prepared: Calico and nginx on 4 workers
    if TIMINGS:
        print("\ntrace timings on the rehearsal lab (s):")
        for name, total, phases, spread in TIMINGS:
            parts = ", ".join(f"{k} {v:.2f}" for k, v in phases.items())
            print(f"  {name}: total {total:.2f} ({parts}); captures start spread {spread}")


async def pair(backend: RealLabBackend):
    pods = sorted(await backend.list_pods("space1"), key=lambda p: p.node or "")
    src = next(p for p in pods if p.node == "k8s-node-l2-1" and p.running)
    dst = next(p for p in pods if p.node == "k8s-node-l1-2" and p.running)
    return src, dst


async def trace(backend: RealLabBackend, name: str, src, dst) -> dict:
    started = time.monotonic()
    result = await run_trace(backend, ignore, src.key, dst.key, count=2, timeout=5.0)
    TIMINGS.append((name, time.monotonic() - started, dict(result.phases),
                    result.capture_spread_s))  # fmt: skip
    await nothing_left(src.ip)
    return result.to_json()


async def nothing_left(src_ip: str) -> None:
    """No tcpdump of this trace on any host (see `our_tcpdumps`)."""
    await gone_within(src_ip, 2.0)


async def run(backend: RealLabBackend, host: str, *argv: str) -> None:
    result = await backend.pool.run(host, list(argv), 5.0, sudo=True)
    assert result.ok, (host, argv, result.stderr)


async def test_healthy_and_black_holed_pod(lab_dir: Path) -> None:
    backend = open_lab(lab_dir)
    try:
        await backend.start()
        src, dst = await pair(backend)
        out = await trace(backend, "healthy", src, dst)
        assert out["delivered"], (out["cause"], out["notes"])
        assert out["lost_at"] is None and out["branch"] in ("spine-sw1", "spine-sw2")
        seen = {(h["host"], h["interface"]) for h in out["hops"] if h["seen"]}
        assert ("k8s-node-l2-1", "vxlan.calico") in seen and ("leaf1", "swp3") in seen
        assert (out["branch"], "swp2") in seen  # the spine's port from leaf2
        wire = next(h for h in out["hops"] if h["seen"] and h["interface"] == "eth0")
        assert wire["vni"] == 4096 and wire["inner_src"] == src.ip
        # --size reaches the pod's ping on a real lab: the frames on the wire grow with it
        sized = await run_trace(backend, ignore, src.key, dst.key, count=1, size=1200, timeout=5.0)
        assert sized.delivered
        wire = next(h for h in sized.to_json()["hops"] if h["seen"] and h["interface"] == "eth0")
        assert wire["length"] == 1200 + 8 + 20 + 14 + 8 + 8 + 20 + 14  # ICMP..outer Ethernet
        await nothing_left(src.ip)
        # black-hole the destination pod on its node
        shown = await backend.pool.run(dst.node, ["ip", "route", "show", f"{dst.ip}/32"], 5.0)
        original = shown.stdout.split()  # the pod's route: ADDR dev caliXXXX scope link
        assert "dev" in original, shown
        await run(backend, dst.node, "ip", "route", "replace", "blackhole", f"{dst.ip}/32")
        try:
            out = await trace(backend, "black-holed pod", src, dst)
            checks = {c.name: c for c in await verify(backend, ignore, ping_count=2,
                                                      ping_timeout=5.0)}  # fmt: skip
        finally:
            await run(backend, dst.node, "ip", "route", "replace", *original)
        # verify: check 5 names the black hole (from its trace), check 6 where frames stopped
        ping, wire = checks["cross-rack ping"], checks["VXLAN on the wire"]
        assert not ping.passed and ping.cause and "black-holes" in ping.cause, ping
        assert dst.ip in ping.cause
        assert wire.cause and f"frames stopped at {dst.node} cali" in wire.cause, wire
        assert not out["delivered"]
        assert out["lost_at"]["host"] == dst.node
        assert out["lost_at"]["interface"].startswith("cali")
        assert "black-holes" in out["cause"] and dst.ip in out["cause"], out["cause"]
    finally:
        await backend.close()


async def test_broken_vxlan_neighbour_on_the_sender(lab_dir: Path) -> None:
    backend = open_lab(lab_dir)
    try:
        await backend.start()
        src, dst = await pair(backend)
        route = await backend.pool.run(src.node, ["ip", "route", "get", dst.ip], 5.0)
        via = route.stdout.split("via ")[1].split()[0]
        node = next(n for n in await backend.list_nodes() if n.name == dst.node)
        assert node.vtep_mac
        await run(backend, src.node, "ip", "neigh", "replace", via, "lladdr",
                  "66:66:66:00:00:01", "dev", "vxlan.calico", "nud", "permanent")  # fmt: skip
        try:
            out = await trace(backend, "broken VXLAN neighbour", src, dst)
        finally:
            await run(backend, src.node, "ip", "neigh", "replace", via, "lladdr",
                      node.vtep_mac, "dev", "vxlan.calico", "nud", "permanent")  # fmt: skip
        assert not out["delivered"]
        assert out["lost_at"]["host"] == src.node, out["lost_at"]
        assert "66:66:66:00:00:01" in out["cause"] and node.vtep_mac.lower() in out["cause"]
    finally:
        await backend.close()


async def test_both_uplinks_of_a_leaf_down(lab_dir: Path) -> None:
    backend = open_lab(lab_dir)
    try:
        await backend.start()
        src, dst = await pair(backend)
        for port in ("swp51", "swp52"):
            await run(backend, "leaf2", "ip", "link", "set", port, "down")
        try:
            await asyncio.sleep(1.0)  # bgpd drops the sessions and withdraws the routes
            out = await trace(backend, "both leaf2 uplinks down", src, dst)
        finally:
            for port in ("swp51", "swp52"):
                await run(backend, "leaf2", "ip", "link", "set", port, "up")
        assert not out["delivered"]
        assert out["lost_at"]["host"] == "leaf2", out["lost_at"]
        assert "both uplinks down" in out["cause"], out["cause"]
    finally:
        await backend.close()


async def test_spine_bgp_gone_goes_through_the_other_spine(lab_dir: Path) -> None:
    backend = open_lab(lab_dir)
    try:
        await backend.start()
        src, dst = await pair(backend)
        async with asyncio.timeout(60):  # after the uplinks test: both spines carry again
            while True:
                readings = [await backend.bgp_summary(leaf) for leaf in ("leaf1", "leaf2")]
                if all(r.summary and all(p.established and p.prefixes_received
                                         for p in r.summary.peers) for r in readings):  # fmt: skip
                    break
                await asyncio.sleep(0.5)
        healthy = await trace(backend, "before", src, dst)
        spine = healthy["branch"]
        other = "spine-sw1" if spine == "spine-sw2" else "spine-sw2"
        await backend.set_fault(f"stop-bgp:{spine}", True)
        try:
            await asyncio.sleep(2.0)
            out = await trace(backend, f"{spine} BGP shut down", src, dst)
        finally:
            await backend.set_fault(f"stop-bgp:{spine}", False)
        assert out["delivered"], out["cause"]
        assert out["branch"] == other
        assert any(spine in line for line in out["evidence"]), out["evidence"]
    finally:
        await backend.close()


def our_tcpdumps(src_ip: str) -> list[str]:
    """The lab's hosts share this machine's process table (network namespaces only), so
    `ps` here sees every host's tcpdump; a trace's filters name the source pod's address
    (as text on veths, in hex inside VXLAN)."""
    marks = (src_ip, f"0x{int(ipaddress.IPv4Address(src_ip)):08x}")
    ps = subprocess.run(
        ["ps", "-ww", "-eo", "pid=,args="], capture_output=True, text=True, check=True
    )
    return [
        line for line in ps.stdout.splitlines()
        if line.split(None, 1)[-1].startswith("tcpdump ") and any(m in line for m in marks)
    ]  # fmt: skip


async def gone_within(src_ip: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while our_tcpdumps(src_ip):
        assert time.monotonic() < deadline, f"tcpdump left running: {our_tcpdumps(src_ip)}"
        await asyncio.sleep(0.1)


async def test_cancelled_trace_leaves_nothing(lab_dir: Path) -> None:
    backend = open_lab(lab_dir)
    try:
        await backend.start()
        src, dst = await pair(backend)
        task = asyncio.ensure_future(
            run_trace(backend, ignore, src.key, dst.key, count=10, timeout=15.0)
        )
        deadline = time.monotonic() + 15
        while len(our_tcpdumps(src.ip)) < 10:  # every point is capturing
            assert time.monotonic() < deadline, f"captures: {our_tcpdumps(src.ip)}"
            assert not task.done(), task
            await asyncio.sleep(0.05)
        task.cancel()  # what `x` does to the running action
        with pytest.raises(asyncio.CancelledError):
            await task
        await gone_within(src.ip, 5.0)
    finally:
        await backend.close()


async def test_killed_trace_command_leaves_nothing(lab_dir: Path) -> None:
    """`kill -9` of `fabrictui trace`: no handler runs; the wrapper around each remote
    tcpdump sees its SSH channel close and ends it."""
    backend = open_lab(lab_dir)
    try:
        src, dst = await pair(backend)
    finally:
        await backend.close()
    argv = ["fabrictui", "trace", "--lab", str(lab_dir), "--from", src.key, "--to", dst.key,
            "-c", "20", "-q"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while len(our_tcpdumps(src.ip)) < 10:
            assert time.monotonic() < deadline and proc.poll() is None
            await asyncio.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    await gone_within(src.ip, 5.0)
