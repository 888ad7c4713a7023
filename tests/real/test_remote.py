"""Remote commands built from argument lists arrive as exactly that argv.

Each test sends hostile names through a real shell (locally, through the
asyncssh test server that records the exact command string, and through a
real OpenSSH sshd) to a `printf '%s\\0'` echo and compares what comes back.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabrictui.backends.base import BackendError
from fabrictui.backends.real.remote import display_command, remote_argv, remote_command
from fabrictui.backends.real.ssh import SshPool, SshTarget
from tests._require import require
from tests._sshd import SSHD, RealSshd, ShellServer

HOSTILE = [
    "space1;reboot",
    "$(id)",
    "`id`",
    "a\nb",
    "line1\r\nline2",
    "'",
    '"',
    "it's",
    "x" * 300,
    "ünïcødé-ñame-日本",
    "-n",
    "--",
    "*",
    "~root",
    "a b\tc",
    "$HOME",
    "\\",
    "!!",
    "",
    "&& touch /tmp/fabrictui-pwned",
    "|cat /etc/shadow",
    "> /tmp/fabrictui-pwned",
]

ECHO = ["printf", "%s\\0"]


def _split(out: bytes) -> list[str]:
    assert out.endswith(b"\0")
    return [part.decode() for part in out[:-1].split(b"\0")]


@pytest.mark.parametrize("shell", ["sh", "bash", "dash"])
def test_local_shell_round_trip(shell: str) -> None:
    require(shell)
    out = subprocess.run(
        [shell, "-c", remote_command([*ECHO, *HOSTILE])], capture_output=True, check=True
    ).stdout
    assert _split(out) == HOSTILE
    assert not Path("/tmp/fabrictui-pwned").exists()


def test_sudo_prefix_keeps_the_argv(tmp_path: Path) -> None:
    # A stand-in for sudo that checks its options and runs the rest as given.
    shim = tmp_path / "sudo"
    shim.write_text('#!/bin/sh\n[ "$1" = -n ] && [ "$2" = -- ] || exit 99\nshift 2\nexec "$@"\n')
    shim.chmod(0o755)
    line = remote_command([*ECHO, *HOSTILE], sudo=True)
    assert line.startswith("sudo -n -- ")
    out = subprocess.run(
        ["sh", "-c", line],
        capture_output=True,
        check=True,
        env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
    ).stdout
    assert _split(out) == HOSTILE


def test_refuses_strings_nul_and_empty() -> None:
    with pytest.raises(TypeError):
        remote_command("rm -rf /")  # type: ignore[arg-type]
    with pytest.raises(BackendError):
        remote_command(["echo", "a\0b"])
    with pytest.raises(BackendError):
        remote_command([])
    assert remote_argv(["id"], sudo=True) == ["sudo", "-n", "--", "id"]
    # timeout outside sudo: sudoers allowing only the command itself still allow it
    assert remote_argv(["vtysh"], sudo=True, timeout=3.2) == [
        "timeout", "-k", "2", "4", "sudo", "-n", "--", "vtysh",
    ]  # fmt: skip


def test_display_command_is_one_line() -> None:
    text = display_command(["echo", "a\nb"])
    assert "\n" not in text
    assert text == "echo 'a\\nb'"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
            max_size=40,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_text_round_trips(names: list[str]) -> None:
    line = remote_command([*ECHO, *names])
    assert shlex.split(line) == [*ECHO, *names]
    out = subprocess.run(["sh", "-c", line], capture_output=True, check=True).stdout
    assert _split(out) == names


async def test_round_trip_through_asyncssh_server(tmp_path: Path) -> None:
    server = ShellServer(tmp_path)
    await server.start()
    target = SshTarget(
        "hostile",
        "127.0.0.1",
        server.port,
        user="tester",
        identity_files=(str(server.client_key_path),),
        known_hosts=(str(server.known_hosts()),),
    )
    pool = SshPool([target])
    try:
        result = await pool.run("hostile", [*ECHO, *HOSTILE])
        assert result.exit_status == 0, result.stderr
        assert result.stdout.split("\0")[:-1] == HOSTILE
        # The exact string that reached the host is the quoted argv, nothing else.
        expected = remote_command([*ECHO, *HOSTILE], timeout=pool.command_timeout + 1)
        assert server.commands == [expected]
        assert shlex.split(server.commands[0]) == ["timeout", "-k", "2", "11", *ECHO, *HOSTILE]
    finally:
        await pool.close()
        await server.stop()


async def test_round_trip_through_openssh(tmp_path: Path) -> None:
    require(SSHD, "OpenSSH server (/usr/sbin/sshd) is not installed")
    require("ssh-keygen")
    sshd = RealSshd(tmp_path)
    sshd.start()
    try:
        known = tmp_path / "known_hosts"
        known.write_text(sshd.known_hosts_line())
        target = SshTarget(
            "real",
            "127.0.0.1",
            sshd.port,
            user=sshd.user,
            identity_files=(str(sshd.client_key_path),),
            known_hosts=(str(known),),
        )
        pool = SshPool([target])
        try:
            result = await pool.run("real", [*ECHO, *HOSTILE])
            assert result.exit_status == 0, result.stderr
            assert result.stdout.split("\0")[:-1] == HOSTILE
            assert not Path("/tmp/fabrictui-pwned").exists()
        finally:
            await pool.close()
    finally:
        sshd.kill()
