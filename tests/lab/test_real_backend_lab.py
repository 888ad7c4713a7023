"""The real backends against the rehearsal lab (real FRR, sshd, tcpdump, kernel
VXLAN in network namespaces; the lab's own Kubernetes API subset).

One lab is brought up in a temporary directory for the module and always torn
down. Everything fabrictui talks to is on 127.0.0.1; lab addresses exist only
inside the lab's namespaces.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrictui.backends.base import DemoWorkload
from fabrictui.backends.real.backend import RealLabBackend
from fabrictui.backends.real.remote import remote_command
from fabrictui.backends.select import open_backend
from fabrictui.capture.pcap import PcapStreamDecoder
from fabrictui.model import Role, VmState
from tests._require import require
from tests._sshd import descendants

pytestmark = [pytest.mark.lab, pytest.mark.slow]

SWITCHES = ["spine-sw1", "spine-sw2", "leaf1", "leaf2"]
# The same remote command line the pool sends (ssh joins its arguments with spaces).
VTYSH = remote_command(["vtysh", "-c", "show bgp vrf default summary json"], sudo=True)


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(os.geteuid() == 0, "the rehearsal lab needs root")
    require("/usr/lib/frr/bgpd", "FRR is not installed")
    require("/usr/sbin/sshd", "OpenSSH server is not installed")
    require("tcpdump")
    from fabrictui.lab.lab import running_lab

    directory = tmp_path_factory.mktemp("rbk") / "lab"
    with running_lab(directory) as result:
        assert result is not None
        yield directory


def open_lab(lab_dir: Path) -> RealLabBackend:
    args = argparse.Namespace(demo=None, lab=str(lab_dir), kubeconfig=None, context=None, jump=None)
    backend = open_backend(args)
    assert isinstance(backend, RealLabBackend)
    return backend


async def test_hosts_and_expected_sessions(lab_dir: Path) -> None:
    backend = open_lab(lab_dir)
    try:
        await backend.start()
        info = backend.info()
        assert info.kind == "rehearsal"
        assert set(info.expected_sessions) == {
            (leaf, spine) for leaf in ("leaf1", "leaf2") for spine in ("spine-sw1", "spine-sw2")
        }
        hosts = await backend.list_hosts()
        assert len(hosts) == 9
        assert all(h.state is VmState.RUNNING for h in hosts), hosts
        roles = {h.name: (h.role, h.rack) for h in hosts}
        assert roles["leaf2"] == (Role.LEAF, 2)
        assert roles["k8s-master-l1-1"] == (Role.MASTER, 1)
        assert roles["k8s-node-l2-1"] == (Role.WORKER, 2)
        assert backend.ssh_command("leaf1") == ["ssh", "-F", str(lab_dir / "ssh_config"), "leaf1"]
    finally:
        await backend.close()


async def test_bgp_all_switches_vs_one_ssh_process_each(lab_dir: Path) -> None:
    backend = open_lab(lab_dir)
    try:
        await backend.start()
        first_started = time.monotonic()
        readings = await backend.bgp_summaries(SWITCHES)
        first = time.monotonic() - first_started
        for reading in readings:
            assert reading.error is None, reading.error
            assert reading.summary is not None
            assert all(p.established for p in reading.summary.peers)
        leaf_peers = {
            (r.switch, p.short_hostname)
            for r in readings
            if r.switch.startswith("leaf")
            for p in r.summary.peers  # type: ignore[union-attr]
        }
        assert leaf_peers == set(backend.info().expected_sessions)
        pooled = []
        for _ in range(5):
            started = time.monotonic()
            await backend.bgp_summaries(SWITCHES)
            pooled.append(time.monotonic() - started)
    finally:
        await backend.close()
    config = str(lab_dir / "ssh_config")
    processes = []
    for _ in range(3):
        started = time.monotonic()
        for switch in SWITCHES:
            subprocess.run(["ssh", "-F", config, switch, VTYSH], check=True, capture_output=True)
        processes.append(time.monotonic() - started)
    pooled_median, process_median = statistics.median(pooled), statistics.median(processes)
    print(
        f"\nall 4 switches: SshPool refresh {pooled_median * 1000:.0f} ms (median of 5; "
        f"first with connect {first * 1000:.0f} ms); one ssh process per switch, sequential "
        f"{process_median * 1000:.0f} ms (median of 3)"
    )
    assert pooled_median < process_median


async def test_nodes_through_the_api(lab_dir: Path) -> None:
    backend = open_lab(lab_dir)
    try:
        nodes = await backend.list_nodes()
        assert {n.name for n in nodes} == {
            "k8s-master-l1-1",
            "k8s-node-l1-1",
            "k8s-node-l1-2",
            "k8s-node-l2-1",
            "k8s-node-l2-2",
        }
        master = next(n for n in nodes if n.name == "k8s-master-l1-1")
        assert master.roles == ("master",) and master.internal_ip == "10.0.101.100"
    finally:
        await backend.close()


async def _wait_all_ready(backend: RealLabBackend, timeout: float = 60) -> None:
    stream = backend.watch_nodes()
    state: dict[str, bool] = {}
    try:
        async with asyncio.timeout(timeout):
            async for event in stream:
                if event.type == "RELIST":
                    state = {n.name: n.ready for n in event.items}
                elif event.obj is not None:
                    if event.type == "DELETED":
                        state.pop(event.obj.name, None)
                    else:
                        state[event.obj.name] = event.obj.ready
                if state and all(state.values()):
                    return
    finally:
        await stream.aclose()  # type: ignore[attr-defined]


async def _wait_pods_running(backend: RealLabBackend, count: int, timeout: float = 60) -> None:
    stream = backend.watch_pods()
    pods: dict[str, bool] = {}
    try:
        async with asyncio.timeout(timeout):
            async for event in stream:
                if event.type == "RELIST":
                    pods = {p.key: p.running for p in event.items if p.namespace == "space1"}
                elif event.obj is not None and event.obj.namespace == "space1":
                    if event.type == "DELETED":
                        pods.pop(event.obj.key, None)
                    else:
                        pods[event.obj.key] = event.obj.running
                if len(pods) == count and all(pods.values()):
                    return
    finally:
        await stream.aclose()  # type: ignore[attr-defined]


async def test_calico_ping_and_capture(lab_dir: Path) -> None:
    backend = open_lab(lab_dir)
    try:
        await backend.start()
        applied = await backend.apply_calico("10.64.0.0/12")
        assert "daemonset.apps/calico-node created" in applied
        await _wait_all_ready(backend)
        await backend.ensure_workload(DemoWorkload())
        await backend.scale_deployment("space1", "nginx-deployment", 4)
        await _wait_pods_running(backend, 4)
        pods = await backend.list_pods("space1")
        assert len({p.node for p in pods}) == 4
        source = next(p for p in pods if p.node and "-l2-" in p.node)
        target = next(p for p in pods if p.node and "-l1-" in p.node)
        assert source.node and target.ip

        capture = await backend.open_capture(source.node)
        decoder = PcapStreamDecoder()
        frames = []

        async def collect() -> None:
            async for chunk in capture.chunks():
                frames.extend(decoder.feed(chunk))
                if sum(1 for f in frames if f.icmp_type == 0) >= 1:
                    return

        collector = asyncio.create_task(collect())
        result = await backend.ping(source, target.ip, count=3, timeout=10)
        await asyncio.wait_for(collector, 10)
        pid = getattr(capture, "pid", None)
        await capture.close()

        assert result.ok, result
        assert result.ttl == 62
        vxlan = [f for f in frames if f.is_vxlan]
        assert vxlan, frames
        request = next(f for f in vxlan if f.icmp_type == 8)
        assert (request.vni, request.udp_dst, request.flags) == (4096, 4789, 0x08)
        assert (request.inner_src, request.inner_dst) == (source.ip, target.ip)
        assert request.length == 148 and request.inner_length == 98

        # Nothing of ours is left running on the node.
        left = await backend.pool.run(source.node, ["pgrep", "-x", "tcpdump"])
        assert left.stdout.split() == [] or str(pid) not in left.stdout.split()
    finally:
        await backend.close()


def _pings_to(ip: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"ping") and ip.encode() in argv:
                found.append(int(entry))
    return found


async def test_cancelled_ping_leaves_no_process(lab_dir: Path) -> None:
    backend = open_lab(lab_dir)
    try:
        pods = [p for p in await backend.list_pods("space1") if p.running]
        assert len(pods) >= 2, "needs the workload of test_calico_ping_and_capture"
        source, target = pods[0], pods[1]
        assert target.ip
        task = asyncio.create_task(backend.ping(source, target.ip, count=30, timeout=60))
        deadline = time.monotonic() + 10
        while not _pings_to(target.ip):
            assert time.monotonic() < deadline, "ping never started"
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        started = time.monotonic()
        while _pings_to(target.ip):
            assert time.monotonic() - started < 5, "ping still running after cancel"
            await asyncio.sleep(0.05)
        print(f"\ncancelled ping gone from the pod {time.monotonic() - started:.2f} s later")
    finally:
        await backend.close()


async def test_exec_in_calico_node_runs_in_its_container(lab_dir: Path) -> None:
    """How a real cluster's BIRD is read (`birdcl` in calico-node): the same exec as a
    ping, into the calico-node pod of the node, its container named."""
    from fabrictui.backends.real.kube.calico_bgp import exec_in_calico_node

    backend = open_lab(lab_dir)
    try:
        await backend.start()
        await backend._ensure_kube()
        argv = ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]
        out, err, finished = await exec_in_calico_node(backend.kube, "k8s-node-l1-1", argv, 10)
        assert finished and "inet 10.0.101.101/24" in out, (out, err)
        out, err, finished = await exec_in_calico_node(backend.kube, "no-such-node", argv, 5)
        assert (out, err, finished) == ("", "no calico-node pod on no-such-node", False)
    finally:
        await backend.close()


async def test_closing_the_backend_stops_open_captures(lab_dir: Path) -> None:
    backend = open_lab(lab_dir)
    await backend.start()
    captures = [await backend.open_capture(n) for n in ("k8s-node-l1-1", "k8s-node-l2-2")]
    deadline = time.monotonic() + 10
    while any(getattr(c, "pid", None) is None for c in captures):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    pids = [c.pid for c in captures]  # type: ignore[attr-defined]
    assert all(Path(f"/proc/{pid}").exists() for pid in pids)
    await backend.close()  # the captures were never closed by their user
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)


def _sshd_record(lab_dir: Path, host: str) -> dict:
    state = json.loads((lab_dir / "state.json").read_text())
    records = [r for r in state["processes"] if r["role"] == "sshd" and r["host"] == host]
    return records[-1]


def _kill_sshd(lab_dir: Path, host: str) -> None:
    pid = _sshd_record(lab_dir, host)["pid"]
    for p in [*descendants(pid), pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


def _restart_sshd(lab_dir: Path, host: str) -> None:
    from fabrictui.lab.lab import read_state, write_state
    from fabrictui.lab.processes import spawn
    from fabrictui.lab.sshd import sshd_argv

    old = _sshd_record(lab_dir, host)
    record = spawn(sshd_argv(Path(old["marker"])), Path(old["log"]), "sshd", host, old["marker"])
    state = read_state(lab_dir)
    assert state is not None
    state["processes"].append(record)  # so `lab down` stops it too
    write_state(lab_dir, state)


async def test_killed_sshd_is_unreachable_then_recovers(lab_dir: Path) -> None:
    backend = open_lab(lab_dir)
    try:
        await backend.start()
        assert all(r.error is None for r in await backend.bgp_summaries(SWITCHES))
        _kill_sshd(lab_dir, "leaf2")
        started = time.monotonic()
        readings = {r.switch: r for r in await backend.bgp_summaries(SWITCHES)}
        seen_in = time.monotonic() - started
        assert readings["leaf2"].error is not None and readings["leaf2"].summary is None
        assert "\n" not in readings["leaf2"].error
        for name in ("spine-sw1", "spine-sw2", "leaf1"):
            assert readings[name].error is None, readings[name].error
        hosts = {h.name: h.state for h in await backend.list_hosts()}
        assert hosts["leaf2"] is VmState.UNREACHABLE and hosts["leaf1"] is VmState.RUNNING

        _restart_sshd(lab_dir, "leaf2")
        started = time.monotonic()
        while True:
            reading = await backend.bgp_summary("leaf2")
            if reading.error is None:
                break
            assert time.monotonic() - started < 20, reading.error
            await asyncio.sleep(0.5)  # the UI's refresh interval stands in here
        recovered_in = time.monotonic() - started
        print(
            f"\nleaf2 sshd killed: seen in one refresh ({seen_in * 1000:.0f} ms, others "
            f"answering); recovered {recovered_in:.1f} s after sshd restarted"
        )
    finally:
        await backend.close()


def _session_states(readings: list) -> dict[tuple[str, str], str]:
    return {
        (r.switch, p.short_hostname or p.neighbor): p.state
        for r in readings
        if r.summary is not None
        for p in r.summary.peers
    }


async def _until_established(backend: RealLabBackend, timeout: float = 30) -> float:
    started = time.monotonic()
    while True:
        states = _session_states(await backend.bgp_summaries(SWITCHES))
        if len(states) == 8 and all(s == "Established" for s in states.values()):
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, states
        await asyncio.sleep(0.5)  # the UI's refresh interval stands in here


async def test_hung_switch_sshd_does_not_delay_the_others(lab_dir: Path) -> None:
    """leaf1's sshd stops answering (SIGSTOP: TCP still accepted, no SSH): its reads
    fail on their own while every other switch answers as fast as before."""
    backend = open_lab(lab_dir)
    pid = _sshd_record(lab_dir, "leaf1")["pid"]
    stopped: list[int] = []
    try:
        await backend.start()
        assert all(r.error is None for r in await backend.bgp_summaries(SWITCHES))
        stopped = [pid, *descendants(pid)]
        for p in stopped:
            os.kill(p, signal.SIGSTOP)
        started = time.monotonic()
        errors: list[str] = []
        first_error = 0.0
        while True:
            tasks = {s: asyncio.create_task(backend.bgp_summary(s)) for s in SWITCHES}
            others_started = time.monotonic()
            others = await asyncio.gather(*(tasks[s] for s in SWITCHES if s != "leaf1"))
            others_took = time.monotonic() - others_started
            assert all(r.error is None for r in others)
            assert others_took < 1.0, others_took  # not held up by leaf1
            leaf1 = await tasks["leaf1"]
            if leaf1.error:
                if not errors:
                    first_error = time.monotonic() - started
                errors.append(leaf1.error)
            if leaf1.error and "no SSH answer" in leaf1.error:
                break
            assert time.monotonic() - started < 30, errors
        seen = time.monotonic() - started
    finally:
        for p in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGCONT)
    try:
        started = time.monotonic()
        while (await backend.bgp_summary("leaf1")).error is not None:
            assert time.monotonic() - started < 20
            await asyncio.sleep(0.5)
        print(
            f"\nleaf1 sshd hung: first error after {first_error:.1f} s "
            f"({errors[0][:60]}...), unreachable after {seen:.1f} s; "
            f"back {time.monotonic() - started:.1f} s after it ran again"
        )
    finally:
        await backend.close()


@pytest.mark.parametrize(
    ("fault", "broken"),
    [
        ("stop-bgp:spine-sw1", {("leaf1", "spine-sw1"), ("leaf2", "spine-sw1")}),
        ("cut-uplink:leaf1:spine-sw2", {("leaf1", "spine-sw2")}),
    ],
)
async def test_fabric_faults_seen_and_cleared(
    lab_dir: Path, fault: str, broken: set[tuple[str, str]]
) -> None:
    backend = open_lab(lab_dir)
    try:
        await backend.start()
        assert fault in {f.id for f in backend.faults()}
        await _until_established(backend)
        await backend.set_fault(fault, True)
        assert {f.id for f in backend.faults() if f.active} == {fault}
        started = time.monotonic()
        while True:  # BGP needs a moment to notice; count refreshes until it shows
            states = _session_states(await backend.bgp_summaries(SWITCHES))
            down = {k for k in broken if states.get(k) != "Established"}
            if down == broken:
                break
            assert time.monotonic() - started < 20, states
            await asyncio.sleep(0.5)
        seen = time.monotonic() - started
        others = {k: v for k, v in states.items() if k[0].startswith("leaf") and k not in broken}
        assert all(v == "Established" for v in others.values()), others
        await backend.set_fault(fault, False)
        recovered = await _until_established(backend)
        print(f"\n{fault}: seen after {seen:.1f} s, recovered {recovered:.1f} s after clearing")
    finally:
        await backend.close()


async def test_stopped_api_server_is_unreachable_then_recovers(lab_dir: Path) -> None:
    """Last in the module: restarting the lab's API server starts a fresh cluster
    (new token and CA in the kubeconfig, which the backend reloads by itself)."""
    from fabrictui.backends.base import BackendError, Unreachable
    from fabrictui.lab.lab import read_state, write_state
    from fabrictui.lab.processes import spawn

    state = read_state(lab_dir)
    assert state is not None
    record = [r for r in state["processes"] if r["role"] == "kubeapi"][-1]
    argv = Path(f"/proc/{record['pid']}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    backend = open_lab(lab_dir)
    try:
        assert len(await backend.list_nodes()) == 5
        watch = backend.watch_nodes()
        first = await watch.__anext__()
        assert first.type == "RELIST"
        os.kill(record["pid"], signal.SIGTERM)
        for _ in range(100):
            if not Path(f"/proc/{record['pid']}").exists():
                break
            await asyncio.sleep(0.1)
        started = time.monotonic()
        with pytest.raises(Unreachable):
            await backend.list_nodes()
        seen_in = time.monotonic() - started
        with pytest.raises(BackendError):
            async with asyncio.timeout(30):
                while True:
                    await watch.__anext__()
        await watch.aclose()  # type: ignore[attr-defined]

        new = spawn([a.decode() for a in argv], Path(record["log"]), "kubeapi", None,
                    record["marker"])  # fmt: skip
        current = read_state(lab_dir)
        assert current is not None
        current["processes"].append(new)  # so `lab down` stops it too
        write_state(lab_dir, current)
        started = time.monotonic()
        while True:
            try:
                nodes = await backend.list_nodes()
                break
            except BackendError as exc:
                assert time.monotonic() - started < 30, str(exc)
                await asyncio.sleep(0.5)
        recovered_in = time.monotonic() - started
        assert len(nodes) == 5
        print(
            f"\nAPI server stopped: seen in {seen_in * 1000:.0f} ms; answering again "
            f"{recovered_in:.1f} s after restart (kubeconfig reloaded)"
        )
    finally:
        await backend.close()
