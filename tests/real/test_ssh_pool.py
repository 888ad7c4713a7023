"""SshPool against asyncssh test servers and a real OpenSSH sshd on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncssh
import pytest

from fabrictui.backends.base import BackendError, Unreachable
from fabrictui.backends.real.ssh import (
    HostKeyError,
    SshPool,
    SshTarget,
    parse_jump,
    targets_from_ssh_config,
)
from tests._require import require
from tests._sshd import (
    SSHD,
    HangingServer,
    RealSshd,
    ShellServer,
    descendants,
    free_port,
    write_known_hosts,
)


def target_for(server: ShellServer, name: str = "h1", **kw: object) -> SshTarget:
    options: dict[str, object] = {
        "user": "tester",
        "identity_files": (str(server.client_key_path),),
        "known_hosts": (str(server.tmp / "known_hosts"),),
    }
    options.update(kw)
    return SshTarget(name, "127.0.0.1", server.port, **options)  # type: ignore[arg-type]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ShellServer]:
    srv = ShellServer(tmp_path)
    await srv.start()
    srv.known_hosts()
    yield srv
    await srv.stop()


@pytest.fixture
async def hanging() -> AsyncIterator[HangingServer]:
    srv = HangingServer()
    await srv.start()
    yield srv
    await srv.stop()


# --- asyncssh test server ----------------------------------------------------------


async def test_one_connection_carries_50_commands(server: ShellServer) -> None:
    pool = SshPool([target_for(server)])
    try:
        results = await asyncio.gather(*(pool.run("h1", ["echo", str(i)]) for i in range(50)))
        assert [r.stdout for r in results] == [f"{i}\n" for i in range(50)]
        assert all(r.exit_status == 0 for r in results)
        seen: list[tuple[str, str]] = []
        pool.add_observer(lambda host, line: seen.append((host, line)))
        failed = await pool.run("h1", ["sh", "-c", "echo oops >&2; exit 3"])
        assert seen == [("h1", "sh -c 'echo oops >&2; exit 3'")]
        assert (failed.exit_status, failed.stderr) == (3, "oops\n")
        assert server.connection_count == 1
    finally:
        await pool.close()


async def test_command_timeout_keeps_the_connection(server: ShellServer) -> None:
    pool = SshPool([target_for(server)])
    try:
        await pool.run("h1", ["true"])
        started = time.monotonic()
        with pytest.raises(BackendError, match=r"timed out after 0.3s"):
            await pool.run("h1", ["sleep", "5"], timeout=0.3)
        assert time.monotonic() - started < 1.5
        assert (await pool.run("h1", ["echo", "still"])).stdout == "still\n"
        assert server.connection_count == 1
    finally:
        await pool.close()


async def test_killed_server_is_unreachable_then_recovers(server: ShellServer) -> None:
    pool = SshPool([target_for(server)], backoff_initial=0.05, backoff_max=0.2)
    try:
        await pool.run("h1", ["true"])
        port = server.port
        await server.stop()
        with pytest.raises(Unreachable) as err:
            await pool.run("h1", ["true"])
        assert "\n" not in str(err.value)
        # Still down: fails again, fast, without waiting.
        started = time.monotonic()
        with pytest.raises(Unreachable):
            await pool.run("h1", ["true"])
        assert time.monotonic() - started < 0.5
        await server.start(port)
        deadline = time.monotonic() + 5
        while True:
            try:
                result = await pool.run("h1", ["echo", "back"])
                break
            except Unreachable:
                assert time.monotonic() < deadline, "no recovery within 5 s"
                await asyncio.sleep(0.05)
        assert result.stdout == "back\n"
    finally:
        await pool.close()


async def test_hanging_server_times_out_within_connect_timeout(
    server: ShellServer, hanging: HangingServer
) -> None:
    pool = SshPool(
        [
            SshTarget("hang", "127.0.0.1", hanging.port, user="x", known_hosts=("/nonexistent",)),
            target_for(server, "good"),
        ],
        connect_timeout=1.0,
    )
    try:
        finished: dict[str, float] = {}
        started = time.monotonic()

        async def timed(host: str) -> object:
            try:
                return await pool.run(host, ["echo", host])
            finally:
                finished[host] = time.monotonic() - started

        hang, good = await asyncio.gather(timed("hang"), timed("good"), return_exceptions=True)
        assert isinstance(hang, Unreachable)
        assert "no SSH answer" in str(hang) and "within 1s" in str(hang)
        assert 0.9 <= finished["hang"] < 2.2
        assert not isinstance(good, BaseException) and good.stdout == "good\n"  # type: ignore[union-attr]
        assert finished["good"] < 0.8  # the hanging host delayed nobody
    finally:
        await pool.close()


async def test_refused_port_is_unreachable_with_one_line(tmp_path: Path) -> None:
    port = free_port()
    pool = SshPool([SshTarget("gone", "127.0.0.1", port, user="x")], connect_timeout=1.0)
    try:
        with pytest.raises(Unreachable, match=rf"gone: cannot connect to x@127.0.0.1:{port}"):
            await pool.run("gone", ["true"])
    finally:
        await pool.close()


async def test_unknown_host_key_is_refused_with_the_accept_command(server: ShellServer) -> None:
    empty = server.tmp / "empty_known_hosts"
    empty.write_text("")
    pool = SshPool([target_for(server, known_hosts=(str(empty),))])
    try:
        with pytest.raises(HostKeyError) as err:
            await pool.run("h1", ["true"])
        message = str(err.value)
        assert f"ssh-keyscan -p {server.port} 127.0.0.1 >> {empty}" in message
        assert "unknown host key" in message
        assert server.commands == []
    finally:
        await pool.close()


async def test_missing_known_hosts_file_is_refused(server: ShellServer) -> None:
    missing = server.tmp / "nope" / "known_hosts"
    pool = SshPool([target_for(server, known_hosts=(str(missing),))])
    try:
        with pytest.raises(HostKeyError, match="unknown host key"):
            await pool.run("h1", ["true"])
    finally:
        await pool.close()


async def test_changed_host_key_is_refused(server: ShellServer) -> None:
    other = server.tmp / "other_known_hosts"
    write_known_hosts(other, server.port, asyncssh.generate_private_key("ssh-ed25519"))
    pool = SshPool([target_for(server, known_hosts=(str(other),))])
    try:
        with pytest.raises(HostKeyError) as err:
            await pool.run("h1", ["true"])
        message = str(err.value)
        assert "CHANGED" in message and "refusing" in message
        assert f"ssh-keygen -R '[127.0.0.1]:{server.port}'" in message
        assert server.commands == []
    finally:
        await pool.close()


VAGRANT_SSH_CONFIG = """\
Host {name}
  HostName {host}
  User vagrant
  Port {port}
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no
  IdentityFile {key}
  IdentitiesOnly yes
  LogLevel FATAL
"""


async def test_vagrant_loopback_exception_is_explicit_and_logged_once(
    server: ShellServer, caplog: pytest.LogCaptureFixture
) -> None:
    text = VAGRANT_SSH_CONFIG.format(
        name="leaf1", host="127.0.0.1", port=server.port, key=server.client_key_path
    )
    target = targets_from_ssh_config(text, "test", source="vagrant")["leaf1"]
    assert target.check_host_key is False
    assert target.identities_only and target.identity_files == (str(server.client_key_path),)
    # The same text from anywhere else, or a non-loopback address, is checked.
    assert targets_from_ssh_config(text, "test", source="ssh_config")["leaf1"].check_host_key
    remote = VAGRANT_SSH_CONFIG.format(name="x", host="192.0.2.7", port=22, key="k")
    assert targets_from_ssh_config(remote, "test", source="vagrant")["x"].check_host_key
    with pytest.raises(ValueError):
        SshTarget("y", "127.0.0.1", 22, check_host_key=False, source="inventory")

    caplog.set_level(logging.WARNING, logger="fabrictui.backends.real.ssh")
    pool = SshPool([target], backoff_initial=0.01)
    try:
        assert (await pool.run("leaf1", ["echo", "hi"])).stdout == "hi\n"
        await server.stop()
        await server.start(target.port)
        while True:  # reconnect (after the short backoff) must not log again
            try:
                await pool.run("leaf1", ["true"])
                break
            except Unreachable:
                await asyncio.sleep(0.02)
    finally:
        await pool.close()
    warnings = [r for r in caplog.records if "NOT checked" in r.getMessage()]
    assert len(warnings) == 1
    assert "leaf1" in warnings[0].getMessage()

    checked = SshPool([targets_from_ssh_config(text, "test", source="ssh_config")["leaf1"]])
    try:
        with pytest.raises(HostKeyError):
            await checked.run("leaf1", ["true"])
    finally:
        await checked.close()


async def test_jump_host_and_proxyjump(tmp_path: Path) -> None:
    jump_dir, inner_dir = tmp_path / "jump", tmp_path / "inner"
    jump_dir.mkdir()
    inner_dir.mkdir()
    jump, inner = ShellServer(jump_dir), ShellServer(inner_dir)
    await jump.start()
    await inner.start()
    jump.known_hosts()
    inner.known_hosts()
    try:
        jump_target = target_for(jump, "jumpbox", source="jump")
        pool = SshPool([target_for(inner, "inner")], jump=jump_target)
        try:
            assert (await pool.run("inner", ["echo", "via"])).stdout == "via\n"
        finally:
            await pool.close()
        assert jump.forwards == [("127.0.0.1", inner.port)]
        assert inner.commands == ["timeout -k 2 11 echo via"] and jump.commands == []

        # ProxyJump naming another target of the same pool.
        pool = SshPool(
            [target_for(jump, "bastion"), target_for(inner, "inner", proxy_jump="bastion")]
        )
        try:
            assert (await pool.run("inner", ["echo", "again"])).stdout == "again\n"
        finally:
            await pool.close()
        assert len(jump.forwards) == 2
    finally:
        await jump.stop()
        await inner.stop()


def test_parse_jump() -> None:
    t = parse_jump("alice@jump.example:2200")
    assert (t.user, t.host, t.port) == ("alice", "jump.example", 2200)
    assert parse_jump("[::1]:2201").host == "::1"
    assert parse_jump("ssh://bob@h").port == 22
    for bad in ("", "a b", "u@h:port", "u@h:99999", "[::1"):
        with pytest.raises(BackendError):
            parse_jump(bad)


def test_targets_from_ssh_config_rehearsal_style(tmp_path: Path) -> None:
    text = (
        f"Host spine-sw1 \n  HostName 127.0.0.1\n  Port 40001\n  User root\n"
        f'  IdentityFile "keys/id ed25519"\n  UserKnownHostsFile {tmp_path}/known_hosts\n'
        "  StrictHostKeyChecking yes\n  ProxyJump=ops@bastion:2022\nHost *\n  User nobody\n"
    )
    targets = targets_from_ssh_config(text, "test", base_dir=tmp_path)
    assert list(targets) == ["spine-sw1"]
    t = targets["spine-sw1"]
    assert t.identity_files == (str(tmp_path / "keys/id ed25519"),)
    assert t.known_hosts == (f"{tmp_path}/known_hosts",)
    assert (t.port, t.user, t.check_host_key, t.proxy_jump) == (
        40001,
        "root",
        True,
        "ops@bastion:2022",
    )


def test_ssh_config_errors_name_origin_host_and_line() -> None:
    """One strict parser: a bad Port is an error (never port 22), and a value ssh
    would take as an option is refused, each naming where it is."""
    cases = [
        ("Host leaf1\n  HostName 127.0.0.1\n  Port 2x\n", "leaf1: line 3: Port '2x' is not"),
        ("Host leaf1\n  User vagrant\n  HostName -oProxyCommand=x\n", "leaf1: line 3: HostName"),
        ('Host leaf1\n  User "a b"\n', "leaf1: line 2: User 'a b' is not usable"),
        ("Host leaf1\n  Port 22\n  Match all\n", "line 3: Match is not supported"),
    ]
    for text, message in cases:
        with pytest.raises(BackendError) as caught:
            targets_from_ssh_config(text, "vagrant ssh-config in /lab", source="vagrant")
        assert str(caught.value).startswith(f"vagrant ssh-config in /lab: {message}")


def test_host_key_rule_holds_for_settings_from_patterns() -> None:
    """`Host *` settings apply as in ssh; the Vagrant exception still needs all three:
    Vagrant as the source, StrictHostKeyChecking no, a loopback HostName."""
    text = (
        "Host vm1 vm2 vm3\n  User vagrant\nHost vm1\n  HostName 127.0.0.1\n"
        "Host vm2\n  HostName 192.0.2.5\nHost vm3\n  HostName ::1\n  StrictHostKeyChecking yes\n"
        "Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
    )
    vagrant = targets_from_ssh_config(text, "test", source="vagrant")
    assert {n: t.check_host_key for n, t in vagrant.items()} == {
        "vm1": False,
        "vm2": True,
        "vm3": True,
    }
    assert all(t.known_hosts == () for t in vagrant.values())
    other = targets_from_ssh_config(text, "test", source="ssh_config")
    assert all(t.check_host_key for t in other.values())


# --- a real OpenSSH sshd ----------------------------------------------------------------


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[RealSshd]:
    require(SSHD, "OpenSSH server (/usr/sbin/sshd) is not installed")
    require("ssh-keygen")
    real = RealSshd(tmp_path)
    real.start()
    try:
        yield real
    finally:
        real.kill()


def real_target(sshd: RealSshd, known: Path) -> SshTarget:
    return SshTarget(
        "real",
        "127.0.0.1",
        sshd.port,
        user=sshd.user,
        identity_files=(str(sshd.client_key_path),),
        identities_only=True,
        known_hosts=(str(known),),
    )


async def test_openssh_50_commands_on_one_connection(sshd: RealSshd, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line())
    pool = SshPool([real_target(sshd, known)])
    try:
        started = time.monotonic()
        results = await asyncio.gather(*(pool.run("real", ["echo", str(i)]) for i in range(50)))
        elapsed = time.monotonic() - started
        assert [r.stdout for r in results] == [f"{i}\n" for i in range(50)]
        # One sshd session process per connection: only one connection was made.
        log = sshd.log.read_text()
        assert log.count("Accepted publickey") == 1, log
        print(f"50 concurrent commands over one OpenSSH connection: {elapsed:.3f}s")
    finally:
        await pool.close()


async def test_openssh_unknown_key_then_accepted_with_the_hint(
    sshd: RealSshd, tmp_path: Path
) -> None:
    require("ssh-keyscan")
    known = tmp_path / "known_hosts"
    pool = SshPool([real_target(sshd, known)])
    try:
        with pytest.raises(HostKeyError) as err:
            await pool.run("real", ["true"])
        hint = str(err.value).split("run: ", 1)[1]
        assert hint == f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {known}"
        subprocess.run(["sh", "-c", hint], check=True, capture_output=True)
        await pool.close()
        pool = SshPool([real_target(sshd, known)])
        assert (await pool.run("real", ["echo", "trusted"])).stdout == "trusted\n"
    finally:
        await pool.close()


async def test_openssh_changed_key_refused(sshd: RealSshd, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    write_known_hosts(known, sshd.port, asyncssh.generate_private_key("ssh-ed25519"))
    pool = SshPool([real_target(sshd, known)])
    try:
        with pytest.raises(HostKeyError, match="CHANGED"):
            await pool.run("real", ["true"])
    finally:
        await pool.close()


async def test_openssh_killed_then_back(sshd: RealSshd, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line())
    pool = SshPool([real_target(sshd, known)], backoff_initial=0.05, backoff_max=0.3)
    try:
        assert (await pool.run("real", ["echo", "up"])).stdout == "up\n"
        sshd.kill()
        with pytest.raises(Unreachable):
            await pool.run("real", ["true"])
        sshd.start()
        deadline = time.monotonic() + 5
        while True:
            try:
                result = await pool.run("real", ["echo", "again"])
                break
            except Unreachable:
                assert time.monotonic() < deadline, "no recovery within 5 s"
                await asyncio.sleep(0.05)
        assert result.stdout == "again\n"
    finally:
        await pool.close()


async def test_openssh_timeout_leaves_no_process(sshd: RealSshd, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line())
    pool = SshPool([real_target(sshd, known)])
    marker = "31.4159"
    try:
        with pytest.raises(BackendError, match="timed out"):
            await pool.run("real", ["sleep", marker], timeout=0.5)
        deadline = time.monotonic() + 5
        while _processes_with(marker):
            assert time.monotonic() < deadline, "sleep still running after the timeout"
            await asyncio.sleep(0.05)
        assert (await pool.run("real", ["echo", "ok"])).stdout == "ok\n"
    finally:
        await pool.close()


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline and b"sleep" in cmdline:
                found.append(int(entry))
    return found


async def test_openssh_hung_after_connect_then_back(sshd: RealSshd, tmp_path: Path) -> None:
    """The server stops answering on an open connection (SIGSTOP): the command times
    out, a probe finds the connection dead, later calls fail fast as unreachable,
    and all is well again once the server runs."""
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line())
    pool = SshPool(
        [real_target(sshd, known)],
        connect_timeout=1.0,
        backoff_initial=0.05,
        backoff_max=0.2,
        probe_timeout=0.5,
    )
    assert sshd.proc is not None
    pids = [sshd.proc.pid, *descendants(sshd.proc.pid)]
    try:
        await pool.run("real", ["true"])
        pids = [sshd.proc.pid, *descendants(sshd.proc.pid)]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(BackendError, match="timed out after 1s"):
            await pool.run("real", ["true"], timeout=1.0)
        while True:
            try:
                await pool.run("real", ["true"], timeout=1.0)
            except Unreachable as exc:
                assert "no SSH answer" in str(exc)
                break
            except BackendError:
                pass
            assert time.monotonic() - started < 10, "never reported unreachable"
        seen = time.monotonic() - started
        fast = time.monotonic()
        with pytest.raises(Unreachable):
            await pool.run("real", ["true"], timeout=1.0)
        assert time.monotonic() - fast < 0.3  # backoff: answers at once
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    try:
        started = time.monotonic()
        while True:
            try:
                assert (await pool.run("real", ["echo", "ok"])).stdout == "ok\n"
                break
            except Unreachable:
                assert time.monotonic() - started < 5, "no recovery"
                await asyncio.sleep(0.05)
        print(f"hung sshd: unreachable after {seen:.1f}s, back {time.monotonic() - started:.2f}s")
    finally:
        await pool.close()


async def test_openssh_stream_cancelled_while_opening_leaves_no_process(
    sshd: RealSshd, tmp_path: Path
) -> None:
    """A stream cancelled after its command started but before the channel's answer was
    read (a trace cancelled by `x` while its captures open): the channel is closed once it
    is open, so a command that ends with its channel (as the capture wrapper does) ends.
    The cancel is sent while the loop is held, the moment the command shows in /proc."""
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line())
    pool = SshPool([real_target(sshd, known)])
    marker = "fabrictui-open-cancel-2718"

    def running() -> list[int]:
        return [p for p in _pids_with(marker) if _comm(p) not in ("sshd\n", "")]

    try:
        await pool.run("real", ["true"])  # the connection is open: only the channel is new
        in_the_window = 0
        for _ in range(40):  # until two cancels landed in the window (most do)
            if in_the_window == 2:
                break
            task = asyncio.create_task(
                pool.open_stream("real", ["sh", "-c", "cat >/dev/null", marker])
            )
            deadline = time.monotonic() + 10
            while not running():
                assert time.monotonic() < deadline, "the command never started"
                await asyncio.sleep(0)
            task.cancel()
            try:
                stream = await task
            except asyncio.CancelledError:
                in_the_window += 1
            else:  # its answer was read first: an ordinary stream, closed by its owner
                await stream.close()
            deadline = time.monotonic() + 5
            while running():
                assert time.monotonic() < deadline, f"left running: {running()}"
                await asyncio.sleep(0.05)
        assert in_the_window, "no cancel landed while the channel was opening"
    finally:
        await pool.close()


def _pids_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
    return found


def _comm(pid: int) -> str:
    """The process's name ("" once it is gone: it may end while /proc is read)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        return ""
