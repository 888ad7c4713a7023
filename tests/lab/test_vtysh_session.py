"""VtyshSession against the rehearsal lab (real FRR vtysh behind a real OpenSSH sshd,
in network namespaces): the session prints what `vtysh -c` prints, carries many
commands, serializes its callers, fails over to the one-shot path when vtysh dies or
hangs, re-opens later, and leaves no vtysh behind when the backend closes.

One lab (reference shape, no Kubernetes API) is brought up for the module and always
taken down. The unit tests with an asyncssh test server are in
tests/unit/test_vtysh_session_unit.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from fabrictui.backends.base import BackendError
from fabrictui.backends.real.backend import RealLabBackend
from fabrictui.backends.real.inventory import load_rehearsal
from fabrictui.backends.real.vtysh import SessionFailed, VtyshSession
from fabrictui.parsers.bgp import parse_bgp_summary
from tests._require import require

pytestmark = [pytest.mark.lab, pytest.mark.slow]

SWITCHES = ["spine-sw1", "spine-sw2", "leaf1", "leaf2"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    require(os.geteuid() == 0, "the rehearsal lab needs root")
    require("/usr/lib/frr/bgpd", "FRR is not installed")
    require("/usr/bin/vtysh", "FRR's vtysh is not installed")
    require("/usr/sbin/sshd", "OpenSSH server is not installed")
    require("pgrep")
    from fabrictui.lab.lab import running_lab
    from fabrictui.lab.topology import reference_topology

    directory = tmp_path_factory.mktemp("vts") / "lab"
    with running_lab(directory, reference_topology(), kube=False) as result:
        yield directory, result.lab_id


@pytest.fixture
async def backend(lab: tuple[Path, str]) -> AsyncIterator[RealLabBackend]:
    b = RealLabBackend.for_inventory(load_rehearsal(lab[0]))
    try:
        yield b
    finally:
        await b.close()


def vtysh_pids(lab_id: str, switch: str) -> list[int]:
    """`pgrep -x vtysh`, limited to the switch's network namespace."""
    from fabrictui.lab.netns import netns_pids
    from fabrictui.lab.topology import netns_name

    found = subprocess.run(["pgrep", "-x", "vtysh"], capture_output=True, text=True).stdout
    inside = set(netns_pids(netns_name(lab_id, switch)))
    return sorted(int(p) for p in found.split() if int(p) in inside and _alive(int(p)))


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def until_no_vtysh(lab_id: str, switches: list[str], seconds: float = 5.0) -> list[int]:
    """Wait (bounded) for the switches' vtysh processes to exit; returns what is left."""
    deadline = time.monotonic() + seconds
    while True:
        left = [p for s in switches for p in vtysh_pids(lab_id, s)]
        if not left or time.monotonic() > deadline:
            return left
        await asyncio.sleep(0.05)


def kill_all(pids: list[int], sig: int = signal.SIGKILL) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def shape(text: str) -> str:
    """The output with every number replaced: timers and counters move between calls
    (and a number that gains a digit shifts a text table's padding)."""
    return re.sub(r"[ \t]+", " ", re.sub(r"\d+", "N", text))


async def oneshot(backend: RealLabBackend, switch: str, command: str) -> str:
    result = await backend.pool.run(switch, ["vtysh", "-c", command], 10.0, sudo=True)
    return result.stdout


@pytest.mark.parametrize(
    "command",
    ["show bgp summary json", "show bgp summary", "show bgp vrf default summary json"],
)
async def test_session_output_equals_vtysh_c(
    backend: RealLabBackend, lab: tuple[Path, str], command: str
) -> None:
    for switch in ("leaf1", "spine-sw1"):
        session = VtyshSession(backend.pool, switch)
        try:
            await session.open()
            assert session.prompt == f"{switch}# ".encode()
            same = False
            for _ in range(5):  # uptimes tick: one of a few tries lands in the same second
                before = await session.run(command)
                reference = await oneshot(backend, switch, command)
                after = await session.run(command)
                assert shape(before) == shape(reference)
                if reference in (before, after):
                    same = True
                    break
            assert same, f"{switch}: session output never equal to vtysh -c output"
            if command.endswith("json"):
                assert json.loads(before).keys() == json.loads(reference).keys()
            summary = parse_bgp_summary(before)
            assert summary.peers and all(p.established for p in summary.peers)
        finally:
            await session.close()
    assert await until_no_vtysh(lab[1], ["leaf1", "spine-sw1"]) == []


async def test_error_output_equals_vtysh_c(backend: RealLabBackend) -> None:
    session = VtyshSession(backend.pool, "leaf2")
    try:
        out = await session.run("show bgp nonsense")
        assert out == await oneshot(backend, "leaf2", "show bgp nonsense")
        assert "Unknown command" in out
        # the session is still in step afterwards
        assert parse_bgp_summary(await session.run("show bgp summary json")).peers
    finally:
        await session.close()


async def test_200_sequential_commands_on_one_session(
    backend: RealLabBackend, lab: tuple[Path, str]
) -> None:
    session = VtyshSession(backend.pool, "leaf1")
    try:
        await session.open()
        pids = vtysh_pids(lab[1], "leaf1")
        assert len(pids) == 1
        started = time.perf_counter()
        for i in range(200):
            command = "show bgp summary json" if i % 2 == 0 else "show bgp summary"
            summary = parse_bgp_summary(await session.run(command))
            assert len(summary.peers) == 2
        took = time.perf_counter() - started
        assert session.commands_run == 200
        assert vtysh_pids(lab[1], "leaf1") == pids  # the same vtysh answered all of them
        print(f"200 commands on one session: {took * 1000:.0f} ms")
    finally:
        await session.close()
    assert await until_no_vtysh(lab[1], ["leaf1"]) == []


async def test_concurrent_callers_are_serialized(backend: RealLabBackend) -> None:
    session = VtyshSession(backend.pool, "spine-sw2")
    commands = ["show bgp summary json", "show version", "show bgp summary"] * 10
    try:
        outputs = await asyncio.gather(*(session.run(c) for c in commands))
        for command, out in zip(commands, outputs, strict=True):
            if command == "show version":
                assert out.startswith("FRRouting") and "Neighbor" not in out
                assert "ipv4Unicast" not in out
            elif command.endswith("json"):
                assert json.loads(out)["ipv4Unicast"]["peerCount"] == 2
            else:
                assert "Total number of neighbors 2" in out and "ipv4Unicast" not in out
        assert session.commands_run == len(commands)
    finally:
        await session.close()


async def test_killed_vtysh_fails_then_reader_falls_back_and_reopens(
    backend: RealLabBackend, lab: tuple[Path, str]
) -> None:
    lab_id = lab[1]
    # A session on its own: a killed vtysh is a BackendError, and the session is closed.
    session = VtyshSession(backend.pool, "leaf2")
    try:
        await session.open()
        kill_all(vtysh_pids(lab_id, "leaf2"))
        with pytest.raises(BackendError):
            await session.run("show bgp summary json")
        assert not session.is_open
        with pytest.raises(SessionFailed):  # a failed session stays closed
            await session.run("show bgp summary json")
    finally:
        await session.close()

    # The reader: session first, one-shot while the session is down, then re-opened.
    reader = backend.switches
    reader.sessions.backoff_initial = 1.5
    first = await reader.read("leaf1")
    assert first.error is None and reader.session_reads == 1 and reader.oneshot_reads == 0
    [pid] = vtysh_pids(lab_id, "leaf1")
    kill_all([pid])
    second = await reader.read("leaf1")
    assert second.error is None and second.summary is not None
    assert reader.oneshot_reads == 1 and reader.sessions.session("leaf1") is None
    third = await reader.read("leaf1")  # still backing off: one-shot again, no new session
    assert third.error is None and reader.oneshot_reads == 2
    assert vtysh_pids(lab_id, "leaf1") == []
    await asyncio.sleep(1.6)  # the backoff's deadline, not a guess about an event
    fourth = await reader.read("leaf1")
    assert fourth.error is None and reader.session_reads == 2 and reader.oneshot_reads == 2
    [new_pid] = vtysh_pids(lab_id, "leaf1")
    assert new_pid != pid


async def test_hung_vtysh_times_out_and_reader_falls_back(
    backend: RealLabBackend, lab: tuple[Path, str]
) -> None:
    lab_id = lab[1]
    reader = backend.switches
    reader.timeout = 2.0  # the session gets half of it
    assert (await reader.read("spine-sw1")).error is None and reader.session_reads == 1
    [pid] = vtysh_pids(lab_id, "spine-sw1")
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        reading = await reader.read("spine-sw1")
        took = time.monotonic() - started
        assert reading.error is None and reading.summary is not None
        assert reader.oneshot_reads == 1 and reader.sessions.session("spine-sw1") is None
        assert 1.0 <= took < 3.0, took  # the session's 1 s, then one one-shot command
        # closing the channel hangs up the terminal: the stopped vtysh goes too
        assert await until_no_vtysh(lab_id, ["spine-sw1"]) == []
    finally:
        kill_all([pid], signal.SIGCONT)
        kill_all([pid])


async def test_closing_the_backend_leaves_no_vtysh(lab: tuple[Path, str]) -> None:
    lab_id = lab[1]
    backend = RealLabBackend.for_inventory(load_rehearsal(lab[0]))
    try:
        readings = await backend.bgp_summaries(SWITCHES)
        assert all(r.error is None for r in readings), readings
        assert backend.switches.session_reads == len(SWITCHES)
        assert all(len(vtysh_pids(lab_id, s)) == 1 for s in SWITCHES)
    finally:
        await backend.close()
    assert await until_no_vtysh(lab_id, SWITCHES) == []


async def test_closing_the_reader_ends_its_vtysh_while_connections_stay(
    backend: RealLabBackend, lab: tuple[Path, str]
) -> None:
    lab_id = lab[1]
    readings = await backend.bgp_summaries(SWITCHES)
    assert all(r.error is None for r in readings), readings
    assert all(len(vtysh_pids(lab_id, s)) == 1 for s in SWITCHES)
    await backend.switches.close()
    # the sessions themselves were closed: the SSH connections are still up
    assert all(backend.pool.is_connected(s) for s in SWITCHES)
    assert await until_no_vtysh(lab_id, SWITCHES) == []
    # and a closed reader no longer opens sessions: one-shot from now on
    reading = await backend.bgp_summary("leaf1")
    assert reading.error is None and vtysh_pids(lab_id, "leaf1") == []
