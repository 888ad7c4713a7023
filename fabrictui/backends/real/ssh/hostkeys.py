"""Host key refusals that say how to accept the key, and nothing more."""

from __future__ import annotations

import ipaddress
import os
import shlex

import asyncssh

from fabrictui.backends.base import BackendError
from fabrictui.backends.real.ssh.target import SshTarget


class HostKeyError(BackendError):
    """The host's key is unknown or differs from known_hosts; the message says how to accept."""


def accept_hint(target: SshTarget, via: SshTarget | None, changed: bool) -> str:
    file = target.known_hosts_files[0]
    host = target.host
    entry = host if target.port == 22 else f"[{host}]:{target.port}"
    scan = ["ssh-keyscan", "-p", str(target.port), host]
    if via is not None:
        # The key must be read where the host is reachable: on the jump host.
        jump_login = f"{via.user}@{via.host}" if via.user else via.host
        scan = ["ssh", "-p", str(via.port), jump_login, *scan]
    scan_text = " ".join(shlex.quote(a) for a in scan) + " >> " + shlex.quote(file)
    if changed:
        remove = " ".join(shlex.quote(a) for a in ["ssh-keygen", "-R", entry, "-f", file])
        return (
            f"{target.name}: host key of {target.host}:{target.port} CHANGED (does not match "
            f"{file}); refusing to connect. If the host was rebuilt, run: {remove} && {scan_text}"
        )
    return (
        f"{target.name}: unknown host key for {target.host}:{target.port} (not in {file}); "
        f"to trust it, run: {scan_text}"
    )


def host_key_is_known(target: SshTarget) -> bool:
    files = [f for f in target.known_hosts_files if os.path.isfile(f)]
    if not files:
        return False
    try:
        known = asyncssh.read_known_hosts(files)
    except (OSError, ValueError):
        return False
    addr = target.host if _is_ip(target.host) else ""
    port = target.port if target.port != 22 else None
    host_keys = known.match(target.host, addr, port)[0]
    return bool(host_keys)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
