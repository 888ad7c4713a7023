"""Live tcpdump over SSH against a real sshd on 127.0.0.1, capturing UDP that
the test sends to 127.0.0.1 on the loopback interface."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import struct
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from fabrictui.backends.base import BackendError, Unreachable
from fabrictui.backends.real import capture as capture_ssh
from fabrictui.backends.real.capture import CAPTURE_WRAPPER, SshCapture, capture_argv, tcpdump_argv
from fabrictui.backends.real.remote import remote_command
from fabrictui.backends.real.ssh import SshPool, SshTarget
from tests._require import require
from tests._sshd import SSHD, RealSshd, free_port


def test_tcpdump_argv_keeps_filters_out_of_options() -> None:
    assert tcpdump_argv("eth0", "udp port 4789") == [
        "tcpdump", "-i", "eth0", "-U", "-w", "-", "--", "udp port 4789",
    ]  # fmt: skip
    assert tcpdump_argv("eth0", "-z /bin/sh")[-2:] == ["--", "-z /bin/sh"]
    for bad in ("-w", "", "eth0 -z"):
        with pytest.raises(BackendError):
            tcpdump_argv(bad, "")


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[RealSshd]:
    require(SSHD, "OpenSSH server (/usr/sbin/sshd) is not installed")
    require("tcpdump")
    require(os.geteuid() == 0, "tcpdump on lo needs root")
    real = RealSshd(tmp_path)
    real.start()
    try:
        yield real
    finally:
        real.kill()


@pytest.fixture
async def pool(sshd: RealSshd, tmp_path: Path) -> AsyncIterator[SshPool]:
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line())
    target = SshTarget(
        "node",
        "127.0.0.1",
        sshd.port,
        user=sshd.user,
        identity_files=(str(sshd.client_key_path),),
        known_hosts=(str(known),),
    )
    p = SshPool([target], backoff_initial=0.05, backoff_max=0.2)
    yield p
    await p.close()


def alive(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"tcpdump" in cmdline


async def send_until(port: int, done: asyncio.Event) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while not done.is_set():
            s.sendto(b"fabrictui-capture-test", ("127.0.0.1", port))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.05)


async def read_bytes(capture: SshCapture, want: int, timeout: float = 15.0) -> bytes:
    data = b""

    async def collect() -> None:
        nonlocal data
        async for chunk in capture.chunks():
            data += chunk
            if len(data) >= want:
                return

    await asyncio.wait_for(collect(), timeout)
    return data


async def test_capture_streams_pcap_and_close_leaves_nothing(pool: SshPool) -> None:
    port = free_port()
    capture = SshCapture(pool, "node", "lo", f"udp port {port}", sudo=False)
    await capture.start()
    done = asyncio.Event()
    sender = asyncio.create_task(send_until(port, done))
    try:
        data = await read_bytes(capture, 24 + 16 + 42)
    finally:
        done.set()
        await sender
    magic, major, minor = struct.unpack("<IHH", data[:8])
    assert (magic, major, minor) == (0xA1B2C3D4, 2, 4)
    assert struct.unpack("<I", data[20:24])[0] in (1, 0)  # Ethernet (lo) link type
    assert b"fabrictui-capture-test" in data
    assert capture.pid is not None and alive(capture.pid)
    await capture.close()
    assert not alive(capture.pid)


async def test_idle_capture_is_killed_by_pid_on_close(pool: SshPool) -> None:
    # No traffic: tcpdump never writes, so closing the channel alone would leave it.
    capture = SshCapture(pool, "node", "lo", f"udp port {free_port()}", sudo=False)
    await capture.start()
    deadline = time.monotonic() + 10
    while capture.pid is None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    pid = capture.pid
    assert alive(pid)
    started = time.monotonic()
    await capture.close()
    assert not alive(pid)
    print(f"idle capture stopped in {time.monotonic() - started:.2f}s")


async def test_bad_interface_reports_tcpdump_error(pool: SshPool) -> None:
    capture = SshCapture(pool, "node", "nosuchif0", "udp", sudo=False)
    await capture.start()
    with pytest.raises(BackendError, match="nosuchif0") as err:
        await read_bytes(capture, 1)
    assert "\n" not in str(err.value)
    await capture.close()


async def test_tcpdump_killed_mid_stream(pool: SshPool) -> None:
    port = free_port()
    capture = SshCapture(pool, "node", "lo", f"udp port {port}", sudo=False)
    await capture.start()
    done = asyncio.Event()
    sender = asyncio.create_task(send_until(port, done))
    try:
        await read_bytes(capture, 24 + 16)
        assert capture.pid is not None
        os.kill(capture.pid, signal.SIGKILL)
        with pytest.raises(BackendError, match=r"status 137 \(killed by signal 9\)"):
            await read_bytes(capture, 10**9, timeout=10)
    finally:
        done.set()
        await sender
        await capture.close()


async def test_lost_ssh_raises_unreachable(pool: SshPool, sshd: RealSshd) -> None:
    port = free_port()
    capture = SshCapture(pool, "node", "lo", f"udp port {port}", sudo=False)
    await capture.start()
    done = asyncio.Event()
    sender = asyncio.create_task(send_until(port, done))
    try:
        await read_bytes(capture, 24 + 16)
        pid = capture.pid
        sshd.kill()
        with pytest.raises((Unreachable, BackendError)):
            await read_bytes(capture, 10**9, timeout=10)
    finally:
        done.set()
        await sender
        await capture.close()  # the node is unreachable: close must not hang or raise
    # tcpdump lost its stdout with the session and ends at its next write.
    if pid is not None and alive(pid):
        os.kill(pid, signal.SIGKILL)


async def test_close_cancelled_half_way_still_finishes(pool: SshPool) -> None:
    """At shutdown a worker's close() may be cancelled mid-way and the backend then
    calls close() again: the second call waits for the first to finish the job."""
    capture = SshCapture(pool, "node", "lo", f"udp port {free_port()}", sudo=False)
    await capture.start()
    consumer_done = asyncio.Event()

    async def consume() -> None:
        async for _ in capture.chunks():
            pass
        consumer_done.set()  # ends quietly when closed, no exception

    consumer = asyncio.create_task(consume())
    deadline = time.monotonic() + 10
    while capture.pid is None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    pid = capture.pid
    first = asyncio.create_task(capture.close())
    await asyncio.sleep(0.05)  # half-way: channel closing, pid check not done yet
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first
    assert capture.closed
    await capture.close()
    assert capture.stopped
    assert not alive(pid)
    await asyncio.wait_for(consumer, 5)
    assert consumer_done.is_set()


# -- the remote side ends tcpdump when the channel goes ----------------------------------

# What the remote command was before the wrapper: tcpdump in place of the shell, so only
# its next write could tell it the channel had gone.
EXEC_ONLY = 'echo "fabrictui-pid $$" >&2; exec "$@"'


async def wait_for_pid(capture: SshCapture, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while capture.pid is None:
        assert time.monotonic() < deadline, "no pid reported"
        await asyncio.sleep(0.02)
    return capture.pid


async def wait_dead(pid: int, timeout: float) -> float | None:
    """Seconds until `pid` is no tcpdump any more, or None if it still is after `timeout`.
    Waits without blocking the loop: the dropped connection's socket closes on it."""
    started = time.monotonic()
    while alive(pid):
        if time.monotonic() - started > timeout:
            return None
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def test_wrapper_is_one_constant_script_with_tcpdump_as_arguments() -> None:
    argv = capture_argv("eth0", "udp port 4789; reboot")
    assert argv[:4] == ["sh", "-c", CAPTURE_WRAPPER, "sh"]
    assert argv[4:] == tcpdump_argv("eth0", "udp port 4789; reboot")
    # quoted as one word each: the filter never becomes shell text
    assert "'udp port 4789; reboot'" in remote_command(argv, sudo=True)


def test_wrapper_passes_status_and_stderr_and_stops_at_stdin_eof() -> None:
    # tcpdump's own failure: its words on stderr, its exit status
    fail = ["sh", "-c", "echo 'tcpdump: eth9: No such device exists' >&2; exit 1"]
    proc = subprocess.Popen(
        ["sh", "-c", CAPTURE_WRAPPER, "sh", *fail],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None and proc.stdin is not None
    err = proc.stderr.read().decode()
    assert proc.wait(10) == 1
    proc.stdin.close()
    # (the pid line may come before or after the command's own: they run side by side)
    own = [line for line in err.splitlines() if not line.startswith("fabrictui-pid ")]
    assert own == ["tcpdump: eth9: No such device exists"]
    # stdout is the command's own, byte for byte (stdin held open: its end would stop it)
    proc = subprocess.Popen(
        ["sh", "-c", CAPTURE_WRAPPER, "sh", "printf", "\\001\\000\\377"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.read() == b"\x01\x00\xff"
    assert proc.wait(10) == 0
    proc.stdin.close()
    # a command that never ends by itself stops when stdin reaches end-of-file
    proc = subprocess.Popen(
        ["sh", "-c", CAPTURE_WRAPPER, "sh", "sleep", "300"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None and proc.stdin is not None
    pid = int(proc.stderr.readline().split()[1])
    try:
        time.sleep(0.2)
        assert proc.poll() is None and Path(f"/proc/{pid}").exists()
        proc.stdin.close()
        assert proc.wait(5) != 0
        assert (
            not Path(f"/proc/{pid}").exists()
            or b"sleep" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait()


async def wait_listening(capture: SshCapture, timeout: float = 10.0) -> None:
    """Until tcpdump is up and idle: its pcap header read and its "listening on" line in.
    (Before that, one of those writes could meet the closed channel and end it.)"""
    await read_bytes(capture, 24, timeout)
    deadline = time.monotonic() + timeout
    while not any("listening on" in line for line in capture.stderr_lines):
        assert time.monotonic() < deadline, list(capture.stderr_lines)
        await asyncio.sleep(0.02)


async def abort_connection(capture: SshCapture) -> None:
    """Drop the TCP connection under the capture without closing its channel, as the
    kernel does for an app killed with SIGKILL."""
    process = capture._process
    assert process is not None
    conn = process.process.channel.get_extra_info("connection")
    conn.abort()
    await asyncio.sleep(0)


async def test_idle_tcpdump_ends_when_the_connection_drops(pool: SshPool) -> None:
    # No traffic, so tcpdump never writes: only the wrapper can notice.
    capture = SshCapture(pool, "node", "lo", f"udp port {free_port()}", sudo=False)
    await capture.start()
    pid = await wait_for_pid(capture)
    await wait_listening(capture)
    assert alive(pid)
    await abort_connection(capture)
    try:
        took = await wait_dead(pid, 5.0)
        assert took is not None, f"tcpdump {pid} still running 5 s after the connection dropped"
        print(f"tcpdump ended {took:.2f} s after the connection dropped")
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
        await capture.close()


async def test_without_the_wrapper_tcpdump_outlives_the_connection(
    pool: SshPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the test above: the same drop with tcpdump exec'd in place of the
    shell leaves it running, so that test would see a leftover."""
    monkeypatch.setattr(capture_ssh, "CAPTURE_WRAPPER", EXEC_ONLY)
    capture = SshCapture(pool, "node", "lo", f"udp port {free_port()}", sudo=False)
    await capture.start()
    pid = await wait_for_pid(capture)
    await wait_listening(capture)  # from now on it writes nothing on a quiet port
    await abort_connection(capture)
    try:
        assert await wait_dead(pid, 2.0) is None
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
        await capture.close()
