"""A `Moment` as sections of rows, then as Markdown or as HTML: one content,
two spellings."""

from __future__ import annotations

import html
import time
from dataclasses import dataclass

from fabrictui.model import Verdict
from fabrictui.render.checks import VERDICT_WORDS, checks_summary
from fabrictui.report.moment import CHANGES_AROUND, FRAMES_AROUND, Moment, stamp


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    header: tuple[str, ...] = ()  # a table when set
    rows: tuple[tuple[str, ...], ...] = ()
    lines: tuple[str, ...] = ()  # plain lines (a list), after the table
    code: tuple[str, ...] = ()  # preformatted lines


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def sections(m: Moment) -> list[Section]:
    out = [
        Section(
            "Recording",
            lines=(
                m.lab.describe(),
                f"file: {m.recording}" + (f" (fabrictui {m.version})" if m.version else ""),
                f"recorded from {stamp(m.started)} to {stamp(m.end)}",
                f"this report: the lab as known at {stamp(m.at)}",
                *([f"DAMAGED: {m.damage}"] if m.damage else []),
            ),
        )
    ]
    rows = []
    errors = []
    for switch, reading in m.readings.items():
        if reading.summary is None:
            errors.append(f"{switch}: {reading.error or 'no answer'}")
            continue
        for p in reading.summary.peers:
            rows.append(
                (switch, p.neighbor, p.hostname or "", str(p.remote_as or ""), p.state,
                 p.uptime, "" if p.prefixes_received is None else str(p.prefixes_received))
            )  # fmt: skip
    out.append(
        Section(
            "Fabric: BGP sessions",
            ("switch", "neighbor", "peer", "AS", "state", "up/down", "prefixes"),
            tuple(rows),
            tuple(errors + m.session_problems) or ("no session problem",),
        )
    )
    out.append(
        Section(
            f"BGP session changes within {CHANGES_AROUND / 60:.0f} min of the moment",
            code=tuple(m.session_changes) or ("(none recorded)",),
        )
    )
    out.append(
        Section(
            "Kubernetes nodes",
            ("node", "status", "roles", "internal IP", "version"),
            tuple(
                (
                    n.name,
                    "Ready" if n.ready else "NotReady",
                    ",".join(n.roles) or "<none>",
                    n.internal_ip,
                    n.version,
                )
                for n in m.nodes
            ),
        )
    )
    out.append(
        Section(
            "Pods",
            ("pod", "ready", "status", "restarts", "IP", "node"),
            tuple(
                (
                    p.key,
                    f"{p.ready_containers}/{p.total_containers}",
                    p.status,
                    str(p.restarts),
                    p.ip or "",
                    p.node or "",
                )
                for p in m.pods
            ),
        )
    )
    if m.verify is None:
        out.append(Section("Verify", lines=("no verification before this moment",)))
    else:
        at, checks = m.verify
        lines = []
        for i, c in enumerate(checks, 1):
            lines.append(f"{i}. {VERDICT_WORDS[c.state]} {c.name}")
            if c.cause and not c.passed:
                lines.append(f"   {'cause' if c.observed else 'not observed'}: {c.cause}")
            lines.extend(f"   not seen: {u}" for u in c.unseen)
            lines.extend(f"   {e}" for e in c.evidence)
        out.append(
            Section(
                f"Verify at {_clock(at)}: {checks_summary(checks, 'passed')}", code=tuple(lines)
            )
        )
    if m.ping is None:
        out.append(Section("Ping mesh", lines=("no ping mesh before this moment",)))
    else:
        at, results = m.ping
        rows = tuple(
            (src, dst, "not probed" if not r.probed else f"{r.loss_pct:.0f}%",
             "" if r.rtt_avg_ms is None else f"{r.rtt_avg_ms:.2f}", r.error or r.not_probed or "")
            for (src, dst), r in sorted(results.items())
        )  # fmt: skip
        failed = sum(1 for r in results.values() if not r.ok)
        unprobed = sum(1 for r in results.values() if not r.probed)
        answered = f"{len(results) - failed}/{len(results)} pairs answered"
        answered += f", {unprobed} not probed" if unprobed else ""
        out.append(
            Section(
                f"Ping mesh at {_clock(at)}: {answered}",
                ("from", "to", "loss", "rtt avg ms", "error"),
                rows,
            )
        )
    if m.trace is not None:
        at, trace = m.trace
        verdict = "delivered" if trace.delivered else "NOT delivered"
        if trace.verdict is Verdict.NOT_OBSERVED:
            verdict += f"; NOT OBSERVED: {', '.join(trace.unobserved) or 'no probe went out'}"
        lost = trace.lost_at
        lines = [f"{trace.source} -> {trace.target}: {verdict}"]
        if lost is not None:
            lines.append(f"lost at {lost.host} {lost.interface} ({lost.direction})")
        if trace.cause:
            lines.append(f"cause: {trace.cause}")
        lines.extend(trace.evidence)
        out.append(Section(f"Trace at {_clock(at)}", lines=tuple(lines)))
    if m.fabric_map:
        out.append(Section("Fabric map", code=tuple(m.fabric_map)))
    if m.warnings:  # the cluster's Warning events at the moment (issue 26), newest first
        out.append(
            Section(
                "Kubernetes Warning events",
                ("last seen", "object", "reason", "count", "message"),
                tuple(
                    (e.last or "-", f"{e.object_namespace + '/' if e.object_namespace else ''}"
                     f"{e.about}", e.reason, str(e.count), e.message)
                    for e in m.warnings
                ),
            )
        )  # fmt: skip
    if m.detail_changes:  # beside the Warnings: what each pod's and node's detail said then
        out.append(
            Section(
                "Pod and node detail recorded (turned not ready, restarted or recovered)",
                lines=tuple(m.detail_changes),
            )
        )
    problems = tuple(f"{source}: {error}" for source, error in sorted(m.problems.items()))
    out.append(Section("Sources failing at this moment", lines=problems or ("none",)))
    out.append(
        Section(
            "Last actions",
            code=tuple(f"{_clock(t)} {level:<5} {line}" for t, level, line in m.actions)
            or ("(none recorded)",),
        )
    )
    transit = "Fabric transit: one-way time and loss per node pair"
    out.append(Section(transit, code=tuple(m.transit)))
    shown = f"{len(m.frames)} of {m.frames_total}" if m.frames_total > len(m.frames) else "all"
    out.append(
        Section(
            f"VXLAN frames within {FRAMES_AROUND:.0f} s of the moment ({shown})",
            code=tuple(m.frames) or ("(no frames recorded)",),
        )
    )
    return out


def title(m: Moment) -> str:
    return f"fabrictui report: {m.lab.name} at {stamp(m.at)}"


def markdown(m: Moment) -> str:
    return markdown_of(title(m), sections(m))


def markdown_of(heading: str, parts_of: list[Section]) -> str:
    """Sections as Markdown under one heading (a recording's moment, Prometheus's history)."""
    parts = [f"# {heading}", ""]
    for s in parts_of:
        parts += [f"## {s.title}", ""]
        if s.header:
            parts.append("| " + " | ".join(s.header) + " |")
            parts.append("|" + "---|" * len(s.header))
            parts += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in s.rows]
            parts.append("")
        if s.lines:
            parts += [f"- {line}" for line in s.lines]
            parts.append("")
        if s.code:
            parts += ["```", *s.code, "```", ""]
    return "\n".join(parts)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #1b1b1b; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; font-size: 90%; }
th { background: #eee; }
pre { background: #f6f6f6; padding: 0.5em; overflow-x: auto; font-size: 85%; }
.screen svg { max-width: 100%; height: auto; }
.bad { color: #b00020; font-weight: bold; }
"""


def html_page(m: Moment, screen_svg: str | None = None, map_svg: str | None = None) -> str:
    """One self-contained page: styles inline, the TUI's pictures inline (no links out):
    the main screen, and the fabric map screen when `map_svg` is given."""
    pictures = []
    if screen_svg:
        pictures.append((f"The screen at {stamp(m.at)}", screen_svg))
    if map_svg:
        pictures.append((f"The fabric map at {stamp(m.at)}", map_svg))
    return html_of(title(m), sections(m), pictures)


def html_of(
    heading: str, parts_of: list[Section], pictures: list[tuple[str, str]] | None = None
) -> str:
    """Sections as one self-contained HTML page, after the (title, SVG) pictures."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(heading)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(heading)}</h1>",
    ]
    for caption, svg in pictures or []:
        parts.append(f'<h2>{e(caption)}</h2><div class="screen">{svg}</div>')
    for s in parts_of:
        parts.append(f"<h2>{e(s.title)}</h2>")
        if s.header:
            parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in s.header) + "</tr>")
            for row in s.rows:
                cells = "".join(f"<td{_cls(c)}>{e(c)}</td>" for c in row)
                parts.append(f"<tr>{cells}</tr>")
            parts.append("</table>")
        if s.lines:
            parts.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in s.lines) + "</ul>")
        if s.code:
            parts.append("<pre>" + e("\n".join(s.code)) + "</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


BAD_WORDS = frozenset({"Active", "Idle", "Connect", "OpenSent", "NotReady", "CrashLoopBackOff",
                       "Error", "100%"})  # fmt: skip


def _cls(cell: str) -> str:
    return ' class="bad"' if cell in BAD_WORDS else ""
