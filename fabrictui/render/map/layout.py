"""The fabric map placed on a character grid of a given size.

Spines along the top, a bus line under them, then a column per rack: its leaf, the leaf's
uplinks (one mark per spine, in spine order), its nodes. Racks that do not fit side by side
wrap into bands; when the height runs short, each rack shows its worst nodes first and
counts the rest, and racks that still do not fit are named as left out. Under the racks:
the last trace (where it stopped, why), failed ping pairs, traffic per rack pair.

Each mark is a glyph as well as a colour (● good, ◐ warn, ✕ bad, ? not observed), so the
map reads the same in 16 colours, in the report's text and on a terminal without colour.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import NamedTuple

from fabrictui.render.map.graph import (
    BAD,
    GOOD,
    UNSEEN,
    WARN,
    FabricMap,
    MapNode,
    RackTraffic,
    TracePath,
    worst,
)

GLYPH = {GOOD: "●", WARN: "◐", BAD: "✕", UNSEEN: "?"}
MUTED = "muted"
BOLD = "bold"
TRACE = "trace"  # a host the last trace crossed
MIN_COLUMN = 14  # a rack's column: a mark, a space and a node's name cut to fit
MAX_TRAFFIC_LINES = 6


class Span(NamedTuple):
    text: str
    style: str = ""  # a state, MUTED, BOLD, TRACE or ""
    owner: str | None = None  # the switch or node this span shows (selection, drill down)


@dataclass
class MapLayout:
    width: int
    height: int
    lines: list[list[Span]] = field(default_factory=list)
    spots: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (row, column)
    left_out: list[str] = field(default_factory=list)  # what did not fit, in words

    def plain(self) -> str:
        return "\n".join("".join(s.text for s in line).rstrip() for line in self.lines)

    def selectable(self) -> list[str]:
        """Names in reading order: top to bottom, left to right."""
        return sorted(self.spots, key=lambda n: self.spots[n])


def layout_map(graph: FabricMap, width: int, height: int) -> MapLayout:
    width, height = max(width, 20), max(height, 6)
    out = MapLayout(width, height)
    marked = {h for p in graph.paths[:1] for h in p.hosts}
    stopped = graph.paths[0].stopped_at if graph.paths else None
    whole_footer = _footer(graph, width)
    racks = graph.racks()
    leaves = {leaf.rack: leaf for leaf in graph.leaves}
    nodes_of: dict[int | None, list[MapNode]] = {}
    for node in graph.nodes:
        nodes_of.setdefault(node.rack, []).append(node)
    per_band = max(1, min(len(racks), width // MIN_COLUMN)) if racks else 1
    column = width // per_band
    # footer lines give way first (down to the trace's), then node rows
    room = height - 2 - 1  # spines, bus; one line kept for what was left out
    bands = math.ceil(len(racks) / per_band) if racks else 0
    keep_footer = min(len(whole_footer), max(2 if graph.paths else 0, room - bands * 3))
    footer = whole_footer[:keep_footer]
    room -= len(footer)
    shown_bands = bands
    while shown_bands and shown_bands * 3 + (shown_bands - 1) > room:
        shown_bands -= 1
    node_rows = 0
    if shown_bands:
        node_rows = (room - shown_bands * 2 - (shown_bands - 1)) // shown_bands
    _spines(out, graph, width, marked, stopped)
    out.lines.append(_bus(graph, racks[: per_band * shown_bands], per_band, column, width))
    for band in range(shown_bands):
        band_racks = racks[band * per_band : (band + 1) * per_band]
        if band:
            out.lines.append([])
        _band(out, graph, band_racks, leaves, nodes_of, column, node_rows, marked, stopped)
    hidden = racks[shown_bands * per_band :]
    if hidden:
        out.left_out.append(f"racks {_ranges(hidden)} not shown ({len(hidden)} racks)")
    if len(whole_footer) > len(footer):
        out.left_out.append(f"{len(whole_footer) - len(footer)} lines of trace/traffic not shown")
    out.lines.extend(footer)
    if out.left_out:
        out.lines.append([Span("left out: " + "; ".join(out.left_out), MUTED)])
    out.lines = [_fit(line, width) for line in out.lines[:height]]
    return out


def _chip(node: MapNode, room: int, marked: set[str], stopped: str | None) -> list[Span]:
    """A switch's or node's mark and name, with its label when there is room (a state that
    is not good keeps as much of its label as fits)."""
    mark = "✕" if node.name == stopped else "»" if node.name in marked else ""
    spans = [Span(GLYPH[node.state] + " ", node.state, node.name)]
    name_room = max(4, room - 2 - len(mark))
    # names differ at their end (k8s-node-l3-7): cut the front
    name = node.name if len(node.name) <= name_room else "…" + node.name[-(name_room - 1) :]
    spans.append(Span(name, BOLD if node.kind != "node" else "", node.name))
    used = 2 + len(name)
    if mark:
        spans.append(Span(mark, TRACE if mark == "»" else BAD, node.name))
        used += len(mark)
    label = node.label if node.state != GOOD or node.kind != "node" else ""
    if node.detail and node.state != GOOD:
        label = f"{label}, {node.detail}" if label else node.detail
    fits = room - used - 1 >= len(label)
    if label and (fits or (node.state != GOOD and room - used > 4)):
        spans.append(Span(" " + label[: room - used - 1], node.state, node.name))
    return spans


def _spines(out: MapLayout, graph: FabricMap, width: int, marked, stopped) -> None:
    count = len(graph.spines)
    if not count:
        out.lines.append([Span("no spines known", MUTED)])
        return
    slot = width // count
    if slot < 6:
        bad = [s for s in graph.spines if s.state != GOOD]
        text = f"{count} spines: {count - len(bad)} answering, all sessions up"
        if bad:
            text = f"{count} spines, not well: " + ", ".join(s.name for s in bad)
        out.lines.append([Span(text, worst(*(s.state for s in graph.spines)))])
        return
    line: list[Span] = []
    for i, spine in enumerate(graph.spines):
        chip = _chip(spine, slot - 1, marked, stopped)
        chip_len = sum(len(s.text) for s in chip)
        start = i * slot + max(0, (slot - chip_len) // 2)
        pad = start - sum(len(s.text) for s in line)
        line.append(Span(" " * max(0, pad)))
        out.spots[spine.name] = (0, start)
        line += chip
    out.lines.append(line)


def _bus(graph: FabricMap, racks, per_band: int, column: int, width: int) -> list[Span]:
    """One rule joining every spine to every leaf: the uplinks' states are drawn at each
    leaf, one mark per spine."""
    cells = ["─"] * width
    if graph.spines:
        slot = width // len(graph.spines)
        if slot >= 6:
            for i in range(len(graph.spines)):
                cells[min(width - 1, i * slot + slot // 2)] = "┴"
    for i in range(min(len(racks), per_band)):
        at = i * column
        cells[at] = "┼" if cells[at] == "┴" else "┬"
    return [Span("".join(cells), MUTED)]


def _band(out, graph, racks, leaves, nodes_of, column, node_rows, marked, stopped) -> None:
    rows: list[list[list[Span]]] = []  # per rack, its lines
    top = len(out.lines)
    for i, rack in enumerate(racks):
        lines: list[list[Span]] = []
        leaf = leaves.get(rack)
        x = i * column
        if leaf is not None:
            lines.append(_chip(leaf, column - 1, marked, stopped))
            out.spots[leaf.name] = (top, x)
            lines.append(_uplinks(graph, leaf, column - 1))
        else:
            lines.append([Span(f"rack {rack if rack is not None else '?'}: no leaf", MUTED)])
            lines.append([])
        nodes = nodes_of.get(rack, [])
        shown = nodes if len(nodes) <= node_rows else _worst_first(nodes)[: max(0, node_rows - 1)]
        shown = [n for n in shown if n.state != GOOD] if len(shown) < len(nodes) else shown
        shown = sorted(shown, key=nodes.index)
        for node in shown:
            link = graph.link(leaf.name, node.name) if leaf is not None else None
            merged = node
            if link is not None and link.state != GOOD and _rank(link.state) > _rank(node.state):
                merged = MapNode(node.name, node.kind, node.rack, link.state, link.label,
                                 node.detail, node.role)  # fmt: skip
            out.spots[node.name] = (top + len(lines), x)
            lines.append([Span("│", MUTED), *_chip(merged, column - 2, marked, stopped)])
        rest = [n for n in nodes if n not in shown] if len(shown) < len(nodes) else []
        if rest and node_rows:
            bad = sum(1 for n in rest if n.state != GOOD)
            more = "+" if shown else ""
            words = f"{more}{len(rest)} nodes" + (f" ✕{bad}" if bad else " ok")
            lines.append([Span("└ " + words, BAD if bad else MUTED)])
        rows.append(lines)
    height = max((len(r) for r in rows), default=0)
    for row in range(height):
        line: list[Span] = []
        used = 0
        for i, lines in enumerate(rows):
            spans = _fit(lines[row], column - 1) if row < len(lines) else []
            if not spans:
                continue
            line.append(Span(" " * (i * column - used)))
            line += spans
            used = i * column + sum(len(s.text) for s in spans)
        out.lines.append(line)


def _rank(state: str) -> int:
    return [GOOD, UNSEEN, WARN, BAD].index(state)


def _worst_first(nodes: list[MapNode]) -> list[MapNode]:
    return sorted(nodes, key=lambda n: -_rank(n.state))


def _uplinks(graph: FabricMap, leaf: MapNode, room: int) -> list[Span]:
    """`↑` then a mark per spine; the first uplink that is not up, named, when it fits."""
    spans = [Span("↑", MUTED)]
    down = None
    for i, spine in enumerate(graph.spines):
        link = graph.link(spine.name, leaf.name)
        state = link.state if link else UNSEEN
        if len(graph.spines) <= 4 and room >= 14:
            spans.append(Span(f"{i + 1}", MUTED))
        spans.append(Span(GLYPH[state], state, leaf.name))
        if link is not None and state != GOOD and down is None:
            down = (spine, link)
    used = sum(len(s.text) for s in spans)
    if down is not None and room - used > 6:
        spine, link = down
        short = spine.name.replace("spine-sw", "s").replace("spine", "s")
        spans.append(Span(f" {short} {link.label}"[: room - used], link.state, leaf.name))
    return spans


def _footer(graph: FabricMap, width: int) -> list[list[Span]]:
    lines: list[list[Span]] = []
    for path in graph.paths:
        lines += _path_lines(path, width)
    traffic = sorted(graph.traffic, key=lambda t: (-t.loss_percent, t.key[0] or 0, t.key[1] or 0))
    if traffic:
        for t in traffic[:MAX_TRAFFIC_LINES]:
            lines.append(_traffic_line(t))
        if len(traffic) > MAX_TRAFFIC_LINES:
            lines.append([Span(f"+{len(traffic) - MAX_TRAFFIC_LINES} rack pairs", MUTED)])
    return lines


def _path_lines(path: TracePath, width: int) -> list[list[Span]]:
    """The verdict and where it stopped, the pair, the hosts crossed, the cause: each
    wrapped to the width (pod names and causes are long)."""
    state = GOOD if path.delivered else BAD
    verdict = "delivered" if path.delivered else "NOT delivered"
    head = [Span(f"{path.kind} ", BOLD), Span(verdict, state)]
    if path.stopped_at:
        head.append(Span(f", stopped at {path.where or path.stopped_at}", BAD))
    lines = [head]
    lines += [[Span(text, "")] for text in _wrap(path.title, width, "  ")]
    if path.hosts:
        lines += [[Span(t, TRACE)] for t in _wrap("via " + " » ".join(path.hosts), width, "  ")]
    if path.cause:
        lines += [[Span(t, BAD)] for t in _wrap("cause: " + path.cause, width, "  ")]
    return lines


def _wrap(text: str, width: int, indent: str) -> list[str]:
    return textwrap.wrap(
        text, max(10, width), initial_indent=indent, subsequent_indent=indent + "  "
    )


def _rack_name(rack: int | None) -> str:
    return f"rack{rack}" if rack is not None else "rack?"


def _traffic_line(t: RackTraffic) -> list[Span]:
    pair = f"{_rack_name(t.src_rack)} → {_rack_name(t.dst_rack)}"
    rate = "- f/s" if t.rate is None else f"{t.rate:.1f} f/s"
    one_way = "-" if t.one_way_ms is None else f"{t.one_way_ms:.3f} ms"
    spans = [Span(f"{GLYPH[t.state]} ", t.state), Span(f"{pair:<16} {rate:>10}  {one_way:>10}")]
    lost = f"  lost {t.lost:,} of {t.arrived + t.lost:,}"
    spans.append(Span(lost + (f" ({t.loss_percent:.1f}%)" if t.lost else ""), t.state))
    return spans


def _ranges(racks: list[int | None]) -> str:
    known = sorted(r for r in racks if r is not None)
    if not known:
        return "?"
    return f"{known[0]}-{known[-1]}" if len(known) > 1 else str(known[0])


def _fit(line: list[Span], width: int) -> list[Span]:
    out: list[Span] = []
    used = 0
    for span in line:
        if used >= width:
            break
        text = span.text[: width - used]
        out.append(Span(text, span.style, span.owner))
        used += len(text)
    return out


def move(layout: MapLayout, current: str | None, dx: int, dy: int) -> str | None:
    """The selectable name nearest `current` in direction (dx, dy); the first when none
    is selected; `current` when nothing lies that way."""
    spots = layout.spots
    if not spots:
        return None
    if current not in spots:
        return layout.selectable()[0]
    row, col = spots[current]
    best: tuple[tuple[int, int], str] | None = None
    for name, (r, c) in spots.items():
        ahead = (c - col) * dx if dx else (r - row) * dy
        if name == current or ahead <= 0:
            continue
        side = abs(r - row) if dx else abs(c - col)
        # left/right: the nearest row first (stay on it); up/down: the nearest row first,
        # then the nearest column
        score = (side, ahead) if dx else (ahead, side)
        if best is None or score < best[0]:
            best = (score, name)
    return best[1] if best else current
