"""Checking a kubeconfig the user named before anything runs on it.

A wrong path, a file that is not a kubeconfig, a context it does not have or a server
that does not answer each give one line naming the file, the context or the server
and what is wrong: never a confident report about some other lab. The server check
is a bare HTTP(S) request for `/version` with no credentials: it asks only whether
something answers there, the real client (with its own deadlines) does the rest.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from fabrictui.backends.base import BackendError

# Long enough for an API server across a WAN link to accept and answer a TLS hello,
# short enough that a wrong address costs the user a moment, not a minute.
ANSWER_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class KubeTarget:
    """The cluster a checked kubeconfig leads to."""

    path: Path
    origin: str  # how the user named it: "--kubeconfig FILE", "KUBECONFIG=FILE", ...
    context: str
    cluster: str
    server: str


def check_kubeconfig(
    path: Path,
    origin: str,
    context: str | None,
    probe: bool = True,
    timeout: float = ANSWER_SECONDS,
) -> KubeTarget:
    """The context's cluster in `path`, its server answering (when `probe`); else
    BackendError with one line starting with `origin`."""
    if not path.exists():
        raise BackendError(f"{origin}: no such file")
    if not path.is_file():
        raise BackendError(f"{origin}: not a file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise BackendError(f"{origin}: cannot read: {_one_line(err)}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise BackendError(f"{origin}: not a kubeconfig: not valid YAML{where}") from None
    if not isinstance(data, dict) or not isinstance(data.get("clusters"), list):
        raise BackendError(f"{origin}: not a kubeconfig (no clusters list)")
    contexts = {
        str(c.get("name")): c.get("context")
        for c in _list(data.get("contexts"))
        if isinstance(c, dict) and c.get("name")
    }
    names = ", ".join(sorted(contexts)) or "none"
    name = context or data.get("current-context")
    if not name:
        raise BackendError(f"{origin}: no current-context; pass --context NAME (has: {names})")
    if name not in contexts:
        raise BackendError(f"{origin}: no context {name!r} (has: {names})")
    ctx = contexts[name] if isinstance(contexts[name], dict) else {}
    cluster_name = str(ctx.get("cluster") or "")
    cluster = next(
        (
            c.get("cluster")
            for c in _list(data.get("clusters"))
            if isinstance(c, dict) and c.get("name") == cluster_name
        ),
        None,
    )
    if not isinstance(cluster, dict):
        raise BackendError(f"{origin}: context {name!r} names no cluster it lists")
    server = str(cluster.get("server") or "")
    url = urlparse(server)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise BackendError(f"{origin}: context {name!r}: no usable server ({server or 'none'})")
    # through a proxy the server itself is not ours to dial: the client goes via the proxy
    if probe and not cluster.get("proxy-url"):
        why = server_silence(url.scheme, url.hostname, url.port, timeout)
        if why:
            raise BackendError(f"{origin}: context {name!r}: server {server} {why}")
    return KubeTarget(path, origin, str(name), cluster_name, server)


def server_silence(scheme: str, host: str, port: int | None, timeout: float) -> str | None:
    """None when an HTTP server answers at scheme://host:port within `timeout`; else
    why not, in a few words ("refused the connection", "did not answer within 3 s")."""
    port = port or (443 if scheme == "https" else 80)
    waited = f"did not answer within {timeout:g} s"
    try:
        with contextlib.ExitStack() as stack:
            sock = stack.enter_context(socket.create_connection((host, port), timeout=timeout))
            sock.settimeout(timeout)
            if scheme == "https":
                # Only "does it answer?": the certificate is the real client's to verify
                # (with the kubeconfig's CA), and this request carries no credentials.
                tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                tls.check_hostname = False
                tls.verify_mode = ssl.CERT_NONE
                sock = stack.enter_context(tls.wrap_socket(sock, server_hostname=host))
            request = f"GET /version HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            sock.sendall(request.encode("ascii"))
            first = b""
            while len(first) < 5:
                chunk = sock.recv(5 - len(first))
                if not chunk:
                    break
                first += chunk
    except ConnectionRefusedError:
        return "refused the connection"
    except TimeoutError:
        return waited
    except socket.gaierror as err:
        return f"cannot be resolved ({err.strerror})"
    except ssl.SSLError as err:
        return f"did not complete a TLS handshake ({err.reason or err})"
    except OSError as err:
        return f"cannot be reached ({err.strerror or err})"
    if not first:
        return "closed the connection without answering"
    if not first.startswith(b"HTTP/"):
        return "answered, but not as an HTTP server"
    return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:160]
