"""Full-screen results: the verify report and the help screen."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static


class TextReportScreen(Screen[None]):
    """A scrollable report; `esc`/`q` closes it."""

    DEFAULT_CSS = """
    TextReportScreen #report-title { text-style: bold; background: $panel; padding: 0 1; }
    TextReportScreen VerticalScroll { padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q", "close", "Close", id="report.close")]

    def __init__(self, title: str, body: Text, report_id: str) -> None:
        super().__init__(id=report_id)
        self.report_title = title
        self.body = body

    def compose(self) -> ComposeResult:
        yield Static(self.report_title, id="report-title")
        with VerticalScroll():
            yield Static(self.body, id="report-body")
        yield Footer()

    def update_body(self, title: str, body: Text) -> None:
        self.report_title = title
        self.body = body
        self.query_one("#report-title", Static).update(title)
        self.query_one("#report-body", Static).update(body)

    def action_close(self) -> None:
        self.dismiss(None)
