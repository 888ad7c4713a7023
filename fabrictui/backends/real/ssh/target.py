"""Where a lab host is and how to log in: `SshTarget`, and `--jump` specs."""

from __future__ import annotations

import os
from dataclasses import dataclass

from fabrictui.backends.base import BackendError

LOOPBACK_ADDRESSES = frozenset({"127.0.0.1", "::1"})
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"


def bad_login_word(value: str) -> bool:
    """A host or user name that would become an option of an interactive `ssh`
    (leading `-`), split into two words, or is no name at all."""
    return not value or value.startswith("-") or any(c.isspace() for c in value)


@dataclass(frozen=True, slots=True)
class SshTarget:
    """How to reach one host.

    `check_host_key=False` is the Vagrant exception and nothing else: it is
    accepted only for `source="vagrant"` targets on a loopback address.
    """

    name: str
    host: str
    port: int = 22
    user: str | None = None
    identity_files: tuple[str, ...] = ()
    identities_only: bool = False
    known_hosts: tuple[str, ...] = ()  # files; empty: ~/.ssh/known_hosts
    check_host_key: bool = True
    proxy_jump: str | None = None  # "user@host:port", "a,b", or another target's name
    source: str = "inventory"  # "vagrant", "ssh_config", "inventory", "jump"

    def __post_init__(self) -> None:
        for what, value in (("host", self.host), ("user", self.user or "x")):
            if bad_login_word(value):
                raise ValueError(f"{self.name}: bad ssh {what} {value!r}")
        if not 0 < self.port < 65536:
            raise ValueError(f"{self.name}: bad ssh port {self.port}")
        if not self.check_host_key and not (
            self.source == "vagrant" and self.host in LOOPBACK_ADDRESSES
        ):
            raise ValueError(
                f"{self.name}: host key checks may only be skipped for Vagrant-managed "
                "forwards on 127.0.0.1/::1"
            )

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        return f"{user}{host}:{self.port}"

    @property
    def known_hosts_files(self) -> tuple[str, ...]:
        files = self.known_hosts or (DEFAULT_KNOWN_HOSTS,)
        return tuple(os.path.expanduser(f) for f in files)


def parse_jump(spec: str, name: str | None = None) -> SshTarget:
    """`user@host[:port]`, `[::1]:port` or `ssh://user@host:port` -> SshTarget."""
    text = spec.strip()
    if text.startswith("ssh://"):
        text = text[len("ssh://") :]
    if not text or any(c.isspace() for c in text) or "," in text:
        raise BackendError(f"bad jump host {spec!r}: expected user@host[:port]")
    user: str | None = None
    if "@" in text:
        user, text = text.rsplit("@", 1)
        user = user or None
    port = 22
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise BackendError(f"bad jump host {spec!r}: unclosed [")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise BackendError(f"bad jump host {spec!r}: bad port")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        if not port_text.isdigit():
            raise BackendError(f"bad jump host {spec!r}: bad port")
        port = int(port_text)
    else:
        host = text
    if not host or not 0 < port < 65536:
        raise BackendError(f"bad jump host {spec!r}")
    try:
        return SshTarget(
            name=name or f"jump {spec}", host=host, port=port, user=user, source="jump"
        )
    except ValueError as exc:
        raise BackendError(f"bad jump host {spec!r}: {exc}") from None
