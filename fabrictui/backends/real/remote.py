"""Building the command line a remote host runs, from an argument list.

An SSH server hands the command string to the remote user's login shell
(`$SHELL -c STRING`), so every name that reaches a host (pod names from the
API, host and interface names from an inventory) must be quoted. This module
is the only place in fabrictui that turns an argv into such a string; every
backend calls `remote_command` instead of formatting strings itself.

The quoting is POSIX shell quoting (`shlex.quote`): it is exact for sh, bash,
dash and zsh login shells, which is what every lab image uses.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence

from fabrictui.backends.base import BackendError

# `-n`: never prompt for a password (a prompt would hang a channel with no PTY);
# `--`: whatever follows is the command, even when it starts with a dash.
SUDO_PREFIX: tuple[str, ...] = ("sudo", "-n", "--")


def remote_argv(argv: Sequence[str], sudo: bool = False, timeout: float | None = None) -> list[str]:
    """The argument list that will run remotely.

    `sudo` prefixes `sudo -n --`. `timeout` wraps the whole in coreutils
    `timeout -k 2 SECONDS`: the host itself ends the command even when the
    channel's close or a signal never reaches it (OpenSSH refuses signals for
    some logins). `timeout` stays outside sudo, so sudoers that allow only
    the command itself (`vtysh`, `tcpdump`) still allow it; sudo passes the
    TERM on to the command.
    """
    if isinstance(argv, str):
        raise TypeError("remote_command takes a list of arguments, not a string")
    args = [str(a) for a in argv]
    if not args:
        raise BackendError("empty remote command")
    for arg in args:
        if "\0" in arg:
            # No shell can carry a NUL byte in an argument: refuse rather than truncate.
            raise BackendError("remote command argument contains a NUL byte")
    if sudo:
        args = [*SUDO_PREFIX, *args]
    if timeout is not None:
        args = ["timeout", "-k", "2", f"{max(1, math.ceil(timeout))}", *args]
    return args


def remote_command(argv: Sequence[str], sudo: bool = False, timeout: float | None = None) -> str:
    """The shell command line that makes the remote shell run exactly `argv`.

    >>> remote_command(["vtysh", "-c", "show bgp summary json"], sudo=True)
    "sudo -n -- vtysh -c 'show bgp summary json'"
    """
    return " ".join(shlex.quote(a) for a in remote_argv(argv, sudo, timeout))


def display_command(argv: Sequence[str], sudo: bool = False) -> str:
    """The same command for messages and the audit log: quoted, one line.

    Newlines inside arguments are shown as `\\n` so a message stays one line.
    """
    return remote_command(argv, sudo).replace("\n", "\\n").replace("\r", "\\r")
