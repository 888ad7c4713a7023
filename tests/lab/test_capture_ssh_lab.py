"""On the rehearsal lab: a node's capture ends by itself when fabrictui goes away
without cleaning up, because tcpdump runs under a wrapper that stops it when the
SSH channel closes (fabrictui.backends.real.capture).

Both tests capture with a filter no packet matches (`udp port 9`, nothing in the
lab sends to the discard port), so tcpdump never writes after its start-up and
only the wrapper can end it: without the wrapper it would run on until killed by
hand (tests/real/test_capture_ssh.py shows that with the old exec form as a control).
Checked with `ip netns pids` in the node's namespace. Leftovers are killed in
`finally`, so a failing test leaves nothing behind either.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fabrictui.backends.real.capture import SshCapture
from tests._rehearsal_tui import open_lab, processes_in

pytestmark = [pytest.mark.lab, pytest.mark.slow]

NODE = "k8s-node-l2-1"
QUIET_FILTER = "udp port 9"
GONE_WITHIN = 5.0  # seconds


@pytest.fixture(scope="module")
def lab_dir(shared_lab) -> Path:
    return shared_lab.take()


def node_namespace(lab_dir: Path) -> str:
    from fabrictui.lab.lab import read_state
    from fabrictui.lab.topology import netns_name

    state = read_state(lab_dir)
    assert state is not None
    return netns_name(state["lab_id"], NODE)


def tcpdumps(namespace: str) -> list[int]:
    return [pid for pid, _ in processes_in(namespace, ("tcpdump",))]


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


async def until(condition, timeout: float, what: str) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"not within {timeout:.0f} s: {what}"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_dropped_connection_ends_the_node_capture(lab_dir: Path) -> None:
    namespace = node_namespace(lab_dir)
    assert tcpdumps(namespace) == []
    backend = open_lab(lab_dir)
    try:
        capture = await backend.open_capture(NODE, "eth0", QUIET_FILTER)
        assert isinstance(capture, SshCapture)
        # up and idle: the pcap header read and tcpdump's "listening on" line in
        stream = capture.chunks()
        header = await asyncio.wait_for(anext(stream), 15)
        assert header[:4] == b"\xd4\xc3\xb2\xa1"
        await until(
            lambda: any("listening on" in line for line in capture.stderr_lines),
            10,
            "tcpdump listening",
        )
        assert capture.pid in tcpdumps(namespace)
        # the TCP connection goes away under the channel, as when the app is SIGKILLed
        assert capture._process is not None
        capture._process.process.channel.get_extra_info("connection").abort()
        took = await until(lambda: not tcpdumps(namespace), GONE_WITHIN, "tcpdump gone")
        print(f"{NODE}: tcpdump gone {took:.2f} s after the connection dropped")
        await stream.aclose()
    finally:
        kill_all(tcpdumps(namespace))
        await backend.close()


async def test_sigkilled_capture_command_leaves_no_tcpdump(lab_dir: Path) -> None:
    namespace = node_namespace(lab_dir)
    assert tcpdumps(namespace) == []
    argv = [sys.executable, "-m", "fabrictui.cli", "capture", "--node", NODE,
            "--lab", str(lab_dir), "--filter", QUIET_FILTER]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        await until(lambda: tcpdumps(namespace) or proc.poll() is not None, 30, "tcpdump")
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        await asyncio.sleep(0.5)  # past tcpdump's start-up writes: idle from here on
        proc.kill()
        proc.wait(10)
        took = await until(lambda: not tcpdumps(namespace), GONE_WITHIN, "tcpdump gone")
        print(f"{NODE}: tcpdump gone {took:.2f} s after `fabrictui capture` was SIGKILLed")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        kill_all(tcpdumps(namespace))


async def test_live_capture_command_prints_and_stops_at_count(lab_dir: Path) -> None:
    """The whole live path once, with traffic: tcpdump under the wrapper over SSH, the
    stream decoder and printer, --count; and the node is left clean afterwards."""
    namespace = node_namespace(lab_dir)
    pinger = subprocess.Popen(
        ["ip", "netns", "exec", namespace, "ping", "-i", "0.2", "-c", "100", "10.0.101.102"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "fabrictui.cli", "capture", "--node", NODE,
             "--lab", str(lab_dir), "--filter", "icmp", "--count", "3"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        pinger.kill()
        pinger.wait()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stdout
    # plain IP is shown as native traffic (what Calico's BGP mode carries), named if known
    assert all(f" native on {NODE}  " in line for line in lines), lines
    echo = r"10\.0\.102\.101\)? > \S*10\.0\.101\.102\)? ICMP echo request id \d+ seq \d+"
    assert re.search(echo, done.stdout), done.stdout
    try:
        await until(lambda: not tcpdumps(namespace), GONE_WITHIN, "tcpdump gone")
    finally:
        kill_all(tcpdumps(namespace))
