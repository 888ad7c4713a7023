from __future__ import annotations

import time
from collections import deque

from rich.text import Text
from textual.widgets import RichLog, Static

from fabrictui.render.common import Palette


class ActionLog(RichLog):
    """What ran, its progress and its result, with the time of each line.
    Low volume, so RichLog's styling is affordable here."""

    DEFAULT_CSS = "ActionLog { height: 4; border-top: solid $panel-lighten-2; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(max_lines=500, wrap=True, markup=False, **kwargs)
        self.can_focus = False
        self.history: deque[str] = deque(maxlen=500)  # what the log shows, as text

    def add(self, message: str, level: str, palette: Palette, when: float | None = None) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(when or time.time()))
        styles = {"ok": palette.good, "warn": palette.warn, "warning": palette.warn}
        style = styles.get(level, palette.bad if level == "error" else "")
        line = Text(f"{stamp} ", style=palette.muted)
        line.append(message, style=style)
        self.history.append(message)
        self.write(line)


class StatusLine(Static):
    """One line: the running action and its progress, or the lab and mode."""

    DEFAULT_CSS = "StatusLine { height: 1; background: $panel; padding: 0 1; }"
