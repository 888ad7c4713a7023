"""The laid-out map as Rich Text, coloured from the theme's palette; the selected switch or
node reversed. The same lines, plain, are `fabrictui map`'s output and the report's."""

from __future__ import annotations

from rich.text import Text

from fabrictui.render.common import Palette
from fabrictui.render.map.graph import BAD, GOOD, UNSEEN, WARN, FabricMap
from fabrictui.render.map.layout import BOLD, MUTED, TRACE, MapLayout, layout_map


def span_styles(palette: Palette) -> dict[str, str]:
    """Each span style's Rich style in this palette."""
    return {
        GOOD: palette.good,
        WARN: palette.warn,
        BAD: palette.bad,
        UNSEEN: palette.unseen,
        MUTED: palette.muted,
        BOLD: "bold",
        TRACE: f"bold {palette.cross_rack}",
    }


def map_lines(layout: MapLayout, palette: Palette, selected: str | None = None) -> list[Text]:
    styles = span_styles(palette)
    lines = []
    for spans in layout.lines:
        line = Text(no_wrap=True, overflow="crop")
        for span in spans:
            style = styles.get(span.style, "")
            if selected is not None and span.owner == selected:
                style = f"{style} reverse".strip()
            line.append(span.text, style=style or None)
        lines.append(line)
    return lines


KEY = (
    "● up",
    "◐ up, not working (Policy) or losing frames",
    "✕ down",
    "? not observed",
    "↑ uplinks, one per spine",
    "» the last trace crossed it",
    "✕ after a name: it stopped there",
)


def map_text(graph: FabricMap, width: int, height: int) -> str:
    """The map as plain text (`fabrictui map`, the Markdown report), with a key to it that
    fits the same width."""
    layout = layout_map(graph, width, height)
    lines = [layout.plain()]
    line = "key:"
    for item in KEY:
        if len(line) + 2 + len(item) > width:
            lines.append(line)
            line = "    "
        line += "  " + item
    return "\n".join([*lines, line])
