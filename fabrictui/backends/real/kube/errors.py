"""What a failed Kubernetes client call says: one line, the API's own `message` where it
gave one, no secret (every text goes through the kubeconfig's scrubber), and a class that
tells the caller whether the API refused (NotFound, BackendError) or did not answer
(Unreachable)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable

from fabrictui.backends.base import BackendError, NotFound, Unreachable
from fabrictui.backends.real.kube.config import one_line


def call_error(
    exc: BaseException, what: str, part: str, scrub: Callable[[str], str]
) -> BackendError:
    """`what` failed with `exc` on `part` ("the Kubernetes API at URL")."""
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, ApiException):
        status = exc.status or 0
        message = ""
        with contextlib.suppress(Exception):
            body = json.loads(exc.body) if exc.body else {}
            message = str(body.get("message", "")) if isinstance(body, dict) else ""
        if status == 0:
            return Unreachable(
                scrub(f"{what}: {part} is not answering ({one_line(exc.reason, 80)})")
            )
        detail = f"{status} {exc.reason or ''}".strip()
        if message:
            detail += f": {message}"
        text = scrub(one_line(f"{what}: {detail}"))
        if status == 404:
            return NotFound(text)
        if status in (401, 403):
            return BackendError(f"{text} (check the kubeconfig's credentials)")
        if status >= 500 or status == 429:
            return Unreachable(text)
        return BackendError(text)
    reason = type(exc).__name__
    inner = getattr(exc, "reason", None)
    if inner is not None:
        reason = one_line(inner, 120)
    return Unreachable(scrub(one_line(f"{what}: {part} is not answering ({reason})")))
