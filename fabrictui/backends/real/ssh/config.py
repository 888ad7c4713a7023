"""ssh_config text (`vagrant ssh-config`, a lab's ssh_config) -> `SshTarget`s.

The text is read by fabrictui's one ssh_config parser,
`fabrictui.parsers.vagrant.parse_ssh_config` (strict: a bad `Port` is an error,
not port 22); this module only decides what its settings mean for a connection.
Every error is a `BackendError` that names where the text came from, the host
and the line, e.g. `vagrant ssh-config in /lab: leaf1: line 4: Port 'x' is not
a TCP port`.

Host keys: a host is connected to without a host key check only when its config
came from `vagrant ssh-config` (`source="vagrant"`), says `StrictHostKeyChecking
no` and its HostName is 127.0.0.1 or ::1 (Vagrant's own forwarded port).
Everything else is checked against known_hosts.
"""

from __future__ import annotations

import os
from pathlib import Path

from fabrictui.backends.base import BackendError
from fabrictui.backends.real.ssh.target import LOOPBACK_ADDRESSES, SshTarget, bad_login_word
from fabrictui.parsers import ParseError
from fabrictui.parsers.vagrant import SshHostConfig, parse_ssh_config

# UserKnownHostsFile values that mean "no file": nothing to check against.
_NO_FILE = ("/dev/null", "none")


def targets_from_ssh_config(
    text: str, origin: str, source: str = "ssh_config", base_dir: Path | None = None
) -> dict[str, SshTarget]:
    """Targets of every host the text names, keyed by name.

    `origin` says where the text came from in error messages; `source` is the
    target's source ("vagrant" only for `vagrant ssh-config` output); relative
    paths are relative to `base_dir`.
    """
    try:
        configs = parse_ssh_config(text)
    except ParseError as exc:
        raise BackendError(f"{origin}: {exc}") from None
    return {
        name: target_from_host_config(config, origin, source, base_dir)
        for name, config in configs.items()
    }


def target_from_host_config(
    config: SshHostConfig, origin: str, source: str, base_dir: Path | None = None
) -> SshTarget:
    name = config.host

    def path(value: str) -> str:
        expanded = os.path.expanduser(value)
        if base_dir is not None and not os.path.isabs(expanded):
            return str(base_dir / expanded)
        return expanded

    def refuse(keyword: str, message: str) -> BackendError:
        return BackendError(f"{origin}: {name}: line {config.line_of(keyword)}: {message}")

    host = config.hostname or name
    for keyword, spelled, value in (("hostname", "HostName", host), ("user", "User", config.user)):
        if value is not None and bad_login_word(value):
            raise refuse(keyword, f"{spelled} {value[:60]!r} is not usable for ssh")
    files = config.user_known_hosts_files or (
        (config.user_known_hosts_file,) if config.user_known_hosts_file else ()
    )
    strict = (config.strict_host_key_checking or "ask").lower()
    jump = config.proxy_jump
    if jump is not None and jump.lower() == "none":
        jump = None
    try:
        return SshTarget(
            name=name,
            host=host,
            port=config.port or 22,
            user=config.user,
            identity_files=tuple(path(f) for f in config.identity_files),
            identities_only=bool(config.identities_only),
            known_hosts=tuple(path(f) for f in files if f not in _NO_FILE),
            check_host_key=not (
                source == "vagrant" and strict == "no" and host in LOOPBACK_ADDRESSES
            ),
            proxy_jump=jump,
            source=source,
        )
    except ValueError as exc:
        raise refuse("host", str(exc).removeprefix(f"{name}: ")) from None
