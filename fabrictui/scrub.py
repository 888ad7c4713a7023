"""The one secret scrubber: every text that may reach a screen, a log or the
audit file goes through `scrub`.

Two kinds of secret are masked: values known to be secret (tokens and keys read
from a kubeconfig, registered with `remember`), and anything shaped like a
credential (`token=...`, `Bearer ...`, `password: ...`, `client-key-data: ...`)
whatever its source.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

MASK = "***"
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words
_CREDENTIAL = re.compile(
    r"(?i)(bearer\s+|token[\"'=:\s]+|password[\"'=:\s]+|client-key-data[\"'=:\s]+)([^\s\"',]+)"
)
_lock = threading.Lock()  # kube client threads remember secrets while the loop scrubs
_known: tuple[str, ...] = ()  # longest first, so a secret inside another is not half-masked


def remember(values: Iterable[str]) -> None:
    """Mask these exact values from now on, wherever they appear."""
    global _known
    fresh = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH}
    with _lock:
        _known = tuple(sorted(set(_known) | fresh, key=len, reverse=True))


def scrub(text: str) -> str:
    # credential shapes first: a remembered value can be a word of one ("Bearer", split off a
    # kubeconfig's "Bearer xyz"), and masking it first would hide the shape and so its secret
    text = _CREDENTIAL.sub(lambda m: m.group(1) + MASK, text)
    for value in _known:
        if value in text:
            text = text.replace(value, MASK)
    return text
