"""The timeline strip of a replay: the whole recording in one line, what
changed and when (bad changes loudest), where the moment shown is, and what
happened nearest to it."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from fabrictui.render.common import Palette
from fabrictui.session.record.marks import Mark

LEVEL_RANK = {"change": 1, "good": 2, "bad": 3}


def strip_text(
    start: float,
    end: float,
    marks: Sequence[Mark],
    now: float,
    width: int,
    palette: Palette,
    playing: str = "",
) -> Text:
    """Two lines: the marks over the recording's span, then the cursor, the
    span's ends and the change nearest the moment (pure: tested without a UI)."""
    width = max(20, width)
    span = max(end - start, 1e-6)
    cells = [0] * width
    for mark in marks:
        column = min(width - 1, max(0, int((mark.t - start) / span * width)))
        cells[column] = max(cells[column], LEVEL_RANK.get(mark.level, 1))
    glyphs = {0: ("─", palette.muted), 1: ("│", ""), 2: ("▲", palette.good), 3: ("█", palette.bad)}
    line = Text()
    for rank in cells:
        glyph, style = glyphs[rank]
        line.append(glyph, style=style)
    cursor = min(width - 1, max(0, int((now - start) / span * width)))
    nearest = _nearest(marks, now)
    label = f"{_clock(now)}{playing}"
    if nearest is not None:
        label += f"  {_clock(nearest.t)} {nearest.text}"
    # the moment's label beside the cursor: on its right, or on its left near the end
    if cursor + 2 + len(label) <= width:
        at = cursor + 2
    else:
        label = label[: max(0, cursor - 1)]
        at = cursor - 1 - len(label)
    taken = range(min(at, cursor), max(at + len(label), cursor + 1))
    row = [" "] * width
    # the span's ends where they leave room for the cursor and its label
    for where, clock in ((0, _clock(start)), (width - 8, _clock(end))):
        if not set(range(where - 1, where + 9)) & set(taken):
            _put(row, where, clock)
    _put(row, at, label)
    row[cursor] = "^"
    second = Text("".join(row), style=palette.muted)
    second.stylize("bold", cursor, cursor + 1)
    return line + Text("\n") + second


def _put(row: list[str], at: int, text: str) -> None:
    for i, char in enumerate(text):
        if 0 <= at + i < len(row):
            row[at + i] = char


def _nearest(marks: Sequence[Mark], now: float) -> Mark | None:
    before = [m for m in marks if m.t <= now]
    return before[-1] if before else None


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


class TimelineStrip(Static):
    DEFAULT_CSS = "TimelineStrip { height: 2; padding: 0 1; }"

    def __init__(self, start: float, end: float, marks: Sequence[Mark], **kwargs) -> None:
        super().__init__("", **kwargs)
        self.start = start
        self.end = end
        self.marks = list(marks)
        self.now = end
        self.playing = ""
        self.palette = Palette()

    def show(self, now: float, palette: Palette, playing: str = "") -> None:
        self.now = now
        self.palette = palette
        self.playing = playing
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width = self.size.width or 80
        self.update(
            strip_text(
                self.start, self.end, self.marks, self.now, width, self.palette, self.playing
            )
        )
