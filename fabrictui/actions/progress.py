"""What actions report while they run, and what they end with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Progress:
    message: str
    fraction: float | None = None  # 0..1 when known
    level: str = "info"  # "info", "ok", "warning", "error"


@dataclass(frozen=True, slots=True)
class ActionResult:
    ok: bool
    summary: str
    details: tuple[str, ...] = ()


Report = Callable[[Progress], object]


def ignore(progress: Progress) -> None:
    """A report callback that drops everything."""
