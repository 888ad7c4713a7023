"""A titled pane that shows how fresh its data is and marks it stale."""

from __future__ import annotations

from textual.containers import Vertical

from fabrictui.render.common import WAITING, Palette
from fabrictui.session.state import LabState


class Pane(Vertical):
    """Base of the four main panes. Subclasses put their content inside and
    draw it from the state in `redraw`; they keep no lab data of their own."""

    DEFAULT_CSS = """
    Pane {
        border: round $foreground 30%; height: 1fr;
        border-title-color: $text; border-subtitle-color: $text-muted;
    }
    Pane.-stale { border: round $error; }
    """
    # No `:focus-within` rule on purpose: Textual restyles the whole subtree of a
    # node with such a rule on every focus change, and a DataTable drops all its
    # render caches on a restyle (a 5,000-row table then stalls each key press).
    # The focused pane's border is set inline instead (show_focus).

    def __init__(self, state: LabState, title: str, number: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.palette = Palette()
        self.number = number
        self.text_filter = ""
        self.border_title = f"{number} {title}"
        self.border_subtitle = self.waiting_text()
        self.problem: str | None = None
        self._focused = False

    def redraw(self) -> None:
        """Draw everything again from the state (theme change, filter change)."""

    def apply_filter(self, text: str) -> None:
        self.text_filter = text
        self.redraw()

    def waiting_text(self) -> str:
        """What the pane says before its first data arrived."""
        return WAITING

    def set_freshness(self, text: str, stale: bool) -> None:
        subtitle = text if not self.problem else f"{text} | {self.problem}"
        if subtitle != self.border_subtitle:
            self.border_subtitle = subtitle
        bad = stale or self.problem is not None
        if bad != self.has_class("-stale"):
            self.set_class(bad, "-stale")
            self.redraw_border()

    def show_focus(self, focused: bool) -> None:
        if focused != self._focused:
            self._focused = focused
            self.redraw_border()

    def redraw_border(self) -> None:
        if not self._focused:
            self.styles.border = None  # back to the stylesheet's border
            return
        variables = self.app.theme_variables
        if self.has_class("-stale"):
            self.styles.border = ("double", variables.get("error", "red"))
        else:
            self.styles.border = ("round", variables.get("primary", "blue"))

    def focus_content(self) -> None:
        """Give focus to the pane's main widget (keys 1-4)."""
        for child in self.query("*"):
            if child.focusable:
                child.focus()
                return
