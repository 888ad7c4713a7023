"""What every renderer shares: the palette, ages and freshness, names shortened to fit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fabrictui.model import (
    pod_suffix,
)


@dataclass(frozen=True, slots=True)
class Palette:
    """Rich styles for states, taken from the theme's variables."""

    good: str = "green"
    warn: str = "yellow"
    bad: str = "bold red"
    muted: str = "bright_black"
    badge: str = "bold black on yellow"
    cross_rack: str = "magenta"
    unseen: str = "cyan"  # not observed: neither good nor the colour of failure

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> Palette:
        def colour(name: str, fallback: str) -> str:
            value = variables.get(name, fallback)
            # Textual spells terminal colours ansi_red; Rich spells them red
            return value.removeprefix("ansi_").replace("bright_black", "bright_black")

        good = colour("state-good", "green")
        return cls(
            good=good,
            warn=colour("state-warn", "yellow"),
            bad=f"bold {colour('state-bad', 'red')}",
            muted=colour("state-muted", "bright_black"),
            badge=f"bold black on {colour('badge-demo', 'yellow')}",
            cross_rack=colour("cross-rack", "magenta"),
            unseen=colour("state-not-observed", "cyan"),
        )


def age(seconds: float) -> str:
    """kubectl's age format: 45s, 12m, 5h, 20h, 3d."""
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


WAITING = "waiting for first answer"


def freshness(
    fetched_at: float | None, now: float, stale_after: float, waiting: str = WAITING
) -> tuple[str, bool]:
    """`updated 3s ago` and whether the data counts as stale (`waiting` before any answer)."""
    if fetched_at is None:
        return waiting, False
    ago = max(0.0, now - fetched_at)
    stale = ago > stale_after
    text = f"updated {age(ago)} ago"
    return (f"STALE: {text}" if stale else text), stale


# -- VMs -----------------------------------------------------------------------------


def middle_ellipsis(text: str, width: int) -> str:
    """Keep both ends: pod names differ in their last characters."""
    if len(text) <= width:
        return text
    keep_end = max(6, width // 3)
    return text[: width - keep_end - 1] + "…" + text[-keep_end:]


def short_name(name: str) -> str:
    """Pods by their random suffix (`z9pl9`), nodes by their full name."""
    if name.startswith(("k8s-", "spine", "leaf")):
        return name
    return pod_suffix(name)
