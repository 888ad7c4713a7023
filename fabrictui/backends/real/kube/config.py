"""Which kubeconfig to use, the secrets it holds, and pointing it at a tunnel.

Credentials (tokens, passwords, client keys) come only from the kubeconfig and
never reach a log line or an error message: every message the client builds
goes through `Secrets.scrub`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from fabrictui import scrub
from fabrictui.parsers.kube import as_dict, as_list


def resolve_kubeconfig(explicit: str | os.PathLike[str] | None, lab: Path | None) -> Path | None:
    """--kubeconfig, else KUBECONFIG (first existing entry), else the lab's, else ~/.kube/config."""
    if explicit:
        return Path(os.path.expanduser(os.fspath(explicit)))
    env = os.environ.get("KUBECONFIG")
    if env:
        for entry in env.split(os.pathsep):
            if entry and Path(os.path.expanduser(entry)).is_file():
                return Path(os.path.expanduser(entry))
    if lab is not None:
        return lab
    default = Path(os.path.expanduser("~/.kube/config"))
    return default if default.is_file() else None


_SECRET_KEYS = ("token", "password", "key-data", "secret", "id-token", "refresh-token")


class Secrets:
    """The secrets a kubeconfig holds. They are handed to the one scrubber
    (`fabrictui.scrub`), so they are masked wherever they would appear: in
    this client's errors, the audit log, any message."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values = sorted({v for v in values if isinstance(v, str) and len(v) >= 6}, key=len)
        self._values.reverse()
        scrub.remember(self._values)

    @classmethod
    def from_kubeconfig(cls, path: Path | None) -> Secrets:
        if path is None:
            return cls()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return cls()
        return cls.from_config(data)

    @classmethod
    def from_config(cls, data: Any) -> Secrets:
        found: list[str] = []

        def walk(node: Any, key: str = "") -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    walk(v, str(k).lower())
            elif isinstance(node, list):
                for v in node:
                    walk(v, key)
            elif isinstance(node, str) and any(s in key for s in _SECRET_KEYS):
                found.append(node)
                found.extend(node.split())  # "Bearer xyz" forms

        users = data.get("users") if isinstance(data, dict) else None
        walk(users or [])
        return cls(found)

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(self._values)

    def add(self, value: str) -> None:
        if isinstance(value, str) and len(value) >= 6 and value not in self._values:
            self._values.append(value)
            self._values.sort(key=len, reverse=True)
            scrub.remember([value])

    def scrub(self, text: str) -> str:
        return scrub.scrub(text)


def one_line(text: object, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def pointed_at(config: Any, context: str | None, server: str) -> dict[str, Any]:
    """A copy of a kubeconfig whose (current) context's cluster is reached at `server`,
    TLS still checking the name the original server URL had."""
    from urllib.parse import urlparse

    data = copy.deepcopy(config) if isinstance(config, dict) else {}
    name = context or data.get("current-context")
    ctx = next(
        (
            as_dict(c.get("context"))
            for c in as_list(data.get("contexts"))
            if as_dict(c).get("name") == name
        ),
        {},
    )
    for entry in as_list(data.get("clusters")):
        if as_dict(entry).get("name") == ctx.get("cluster"):
            cluster = as_dict(entry.get("cluster"))
            original = urlparse(str(cluster.get("server", ""))).hostname
            cluster["server"] = server
            if original and "tls-server-name" not in cluster:
                cluster["tls-server-name"] = original
    return data


def timed_api_client(configuration: Any, timeout: tuple[float, float]) -> Any:
    """An ApiClient whose requests carry `timeout` (connect, read) unless they set one:
    the client's own default is none at all, which is how an API that accepts the
    connection and never answers the TLS handshake held a call forever."""
    from kubernetes import client

    class TimedApiClient(client.ApiClient):  # type: ignore[misc]
        def call_api(self, *args: Any, _request_timeout: Any = None, **kwargs: Any) -> Any:
            return super().call_api(*args, _request_timeout=_request_timeout or timeout, **kwargs)

    return TimedApiClient(configuration=configuration)
