"""A titled pane that shows how fresh its data is and marks it stale."""

from __future__ import annotations

from textual.containers import Vertical


class Pane(Vertical):
    """Base of the four main panes. Subclasses put their content inside."""

    DEFAULT_CSS = """
    Pane {
        border: round $foreground 30%; height: 1fr;
        border-title-color: $text; border-subtitle-color: $text-muted;
    }
    Pane:focus-within { border: round $primary; }
    Pane.-stale { border: round $error; }
    Pane.-stale:focus-within { border: double $error; }
    """

    def __init__(self, title: str, number: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.number = number
        self.border_title = f"{number} {title}"
        self.border_subtitle = "waiting for first answer"
        self.problem: str | None = None

    def set_freshness(self, text: str, stale: bool) -> None:
        subtitle = text if not self.problem else f"{text} | {self.problem}"
        if subtitle != self.border_subtitle:
            self.border_subtitle = subtitle
        self.set_class(stale or self.problem is not None, "-stale")

    def focus_content(self) -> None:
        """Give focus to the pane's main widget (keys 1-4)."""
        for child in self.query("*"):
            if child.focusable:
                child.focus()
                return
