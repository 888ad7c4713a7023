"""The drill-down views as Rich text (issue 26): a Detail with its sections' severities and
numbered links, a log line whose level stands out (calico-node's WARNING/ERROR/FATAL,
klog's W/E, BIRD's state changes) with a search's matches marked, and the event view."""

from __future__ import annotations

import re

from rich.text import Text

from fabrictui.parsers.kubedetail.events import KubeEvent
from fabrictui.render.common import Palette
from fabrictui.render.detail import Detail

LINKS_KEYED = 9  # links 1-9 are followed with their digit
# calico-node: "[WARNING][57]"; klog: "W1207 13:00:00.000000"; BIRD: "State changed to"
_BAD = re.compile(r"\[(ERROR|FATAL|PANIC)\]|^E\d{4} |\b(error|fatal|panic)\b", re.IGNORECASE)
_WARN = re.compile(r"\[WARNING\]|^W\d{4} |\bwarn(ing)?\b|State changed to", re.IGNORECASE)


def detail_lines(detail: Detail, palette: Palette) -> list[Text]:
    styles = {"normal": "bold", "warn": f"bold {palette.warn}", "bad": palette.bad}
    out: list[Text] = []
    for problem in detail.problems:
        out.append(Text(f"not read: {problem}", style=palette.warn))
    for section in detail.sections:
        out.append(Text(""))
        out.append(Text(section.title, style=styles.get(section.severity, "bold")))
        width = max((len(label) for label, _ in section.rows), default=0)
        for label, value in section.rows:
            line = Text(f"  {label + ':':<{width + 1}} ", style=palette.muted)
            line.append(value)
            out.append(line)
        for text in section.lines:
            out.append(log_text(f"  {text}", palette))
    if detail.links:
        out.append(Text(""))
        out.append(Text("See also", style="bold"))
        for number, link in enumerate(detail.links, start=1):
            key = f"[{number}]" if number <= LINKS_KEYED else "   "
            ns = f" -n {link.namespace}" if link.namespace else ""
            line = Text(f"  {key} ", style="bold")
            line.append(f"{link.kind} {link.name}{ns}")
            if link.why:
                line.append(f"  ({link.why})", style=palette.muted)
            out.append(line)
    return out


def detail_title(detail: Detail) -> str:
    where = f"{detail.namespace}/" if detail.namespace else ""
    source = f"  ({detail.source})" if detail.source else ""
    return f"{detail.kind} {where}{detail.name}{source}"


def log_level(line: str) -> str:
    """ "bad", "warn" or "" for one log line."""
    if _BAD.search(line):
        return "bad"
    if _WARN.search(line):
        return "warn"
    return ""


def log_text(line: str, palette: Palette, search: str = "") -> Text:
    level = log_level(line)
    text = Text(line, style={"bad": palette.bad, "warn": palette.warn}.get(level, ""))
    if search:
        text.highlight_words([search], style="reverse", case_sensitive=False)
    return text


def event_lines(events: list[KubeEvent], palette: Palette) -> list[Text]:
    out = []
    for e in events:
        line = Text(f"{e.last or '-':<21} ", style=palette.muted)
        line.append(f"{e.type:<8}", style=palette.warn if e.warning else palette.good)
        line.append(f"{e.reason:<22} ")
        where = f"{e.object_namespace}/" if e.object_namespace else ""
        line.append(f"{where}{e.about}", style="bold")
        if e.count > 1:
            line.append(f" (x{e.count})", style=palette.muted)
        line.append(f"  {e.message}")
        out.append(line)
    return out
