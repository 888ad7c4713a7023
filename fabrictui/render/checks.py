"""Results of actions: a ping matrix cell, a check's verdict with its evidence."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from fabrictui.model import (
    CheckResult,
    PingResult,
)
from fabrictui.render.common import Palette


def ping_cell(result: PingResult | None, cross_rack: bool, palette: Palette) -> Text:
    if result is None:
        return Text("…", style=palette.muted)
    marker = "x" if cross_rack else "="
    if not result.probed:  # a missing program, not a network fault
        return Text(f"{marker} not probed", style=palette.muted)
    if result.error:
        return Text(f"{marker} error", style=palette.bad)
    if result.ok:
        rtt = f"{result.rtt_avg_ms:.2f}ms" if result.rtt_avg_ms is not None else "ok"
        via = "" if result.via == "pod" else f" {result.via}"  # how it ran, when not the pod
        return Text(f"{marker} {rtt}{via}", style=palette.good)
    return Text(f"{marker} {result.loss_pct:.0f}% loss", style=palette.bad)


def check_lines(checks: Iterable[CheckResult], palette: Palette) -> list[Text]:
    lines: list[Text] = []
    for index, check in enumerate(checks, start=1):
        line = Text(f"{index}. ")
        word = "PASS" if check.passed else "NOT OBSERVED" if check.not_observed else "FAIL"
        line.append(word, style=palette.good if check.passed else palette.bad)
        line.append(f"  {check.name}", style="bold")
        lines.append(line)
        if check.cause and not check.passed:
            lines.append(Text(f"     cause: {check.cause}", style=palette.bad))
        lines.extend(Text(f"     {item}", style=palette.muted) for item in check.evidence)
    return lines


# -- Overlay ---------------------------------------------------------------------------
