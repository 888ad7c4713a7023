"""Results of actions: a ping matrix cell, a check's verdict with its evidence."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from fabrictui.model import (
    CheckResult,
    PingResult,
    Verdict,
)
from fabrictui.render.common import Palette


def ping_cell(result: PingResult | None, cross_rack: bool, palette: Palette) -> Text:
    if result is None:
        return Text("…", style=palette.muted)
    marker = "x" if cross_rack else "="
    if not result.probed:  # no echo went out: nothing is known of the path
        word = "not probed" if result.not_probed else "no probe"
        return Text(f"{marker} {word}", style=palette.unseen)
    if result.error:
        return Text(f"{marker} error", style=palette.bad)
    if result.ok:
        rtt = f"{result.rtt_avg_ms:.2f}ms" if result.rtt_avg_ms is not None else "ok"
        via = "" if result.via == "pod" else f" {result.via}"  # how it ran, when not the pod
        return Text(f"{marker} {rtt}{via}", style=palette.good)
    return Text(f"{marker} {result.loss_pct:.0f}% loss", style=palette.bad)


VERDICT_WORDS = {Verdict.PASS: "PASS", Verdict.FAIL: "FAIL", Verdict.NOT_OBSERVED: "NOT OBSERVED"}


def verdict_style(state: Verdict, palette: Palette) -> str:
    """Not observed has a colour of its own, never the colour of failure."""
    return {Verdict.PASS: palette.good, Verdict.FAIL: palette.bad}.get(state, palette.unseen)


def checks_summary(checks: Iterable[CheckResult], verb: str = "pass") -> str:
    """`4/6 checks pass, 1 not observed`."""
    listed = list(checks)
    passed = sum(c.passed for c in listed)
    unseen = sum(c.state is Verdict.NOT_OBSERVED for c in listed)
    return f"{passed}/{len(listed)} checks {verb}" + (f", {unseen} not observed" if unseen else "")


def check_lines(checks: Iterable[CheckResult], palette: Palette) -> list[Text]:
    lines: list[Text] = []
    for index, check in enumerate(checks, start=1):
        line = Text(f"{index}. ")
        line.append(VERDICT_WORDS[check.state], style=verdict_style(check.state, palette))
        line.append(f"  {check.name}", style="bold")
        lines.append(line)
        if check.cause and not check.passed:
            label = "cause" if check.observed else "not observed"
            style = verdict_style(check.state, palette)
            lines.append(Text(f"     {label}: {check.cause}", style=style))
        lines.extend(Text(f"     not seen: {u}", style=palette.unseen) for u in check.unseen)
        lines.extend(Text(f"     {item}", style=palette.muted) for item in check.evidence)
    return lines


# -- Overlay ---------------------------------------------------------------------------
