"""The cluster's events (issue 26): Warning first, newest first, `/` to keep those whose
object, reason or message holds the words, `r` to read them again, `esc` back."""

from __future__ import annotations

from typing import Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from fabrictui.parsers.kubedetail.events import KubeEvent
from fabrictui.render.common import Palette
from fabrictui.render.drill import event_lines
from fabrictui.ui.filter_box import FilterBox, box_css


class EventLoader(Protocol):
    palette: Palette

    def load_events(self, screen: EventsScreen) -> None: ...


class EventsScreen(FilterBox, Screen[None]):
    DEFAULT_CSS = """
    EventsScreen #events-title { text-style: bold; background: $panel; padding: 0 1; }
    EventsScreen VerticalScroll { padding: 0 1; }
    """ + box_css("EventsScreen", "events-filter")
    BOX_ID, BODY_ID = "events-filter", "events-scroll"
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="events.close"),
        Binding("slash", "filter", "Filter", id="events.filter"),
        Binding("r", "refresh", "Read again", id="events.refresh"),
    ]

    def __init__(self, loader: EventLoader, about: str = "") -> None:
        super().__init__()
        self.loader = loader
        self.events: list[KubeEvent] = []
        self.text_filter = about
        self.error = ""
        self.note = ""

    def compose(self) -> ComposeResult:
        yield Static("Events: reading…", id="events-title")
        yield Input(placeholder="object, reason or words; enter keeps it", id="events-filter")
        with VerticalScroll(id="events-scroll"):
            yield Static("", id="events-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#events-scroll").focus()
        self.loader.load_events(self)

    def show(self, events: list[KubeEvent], note: str = "") -> None:
        """`note`: where they come from when not from the lab now (a replay's moment)."""
        self.events, self.error, self.note = events, "", note
        self._draw()

    def show_error(self, message: str) -> None:
        self.error = message
        self._draw()

    def shown(self) -> list[KubeEvent]:
        words = self.text_filter.lower().split()
        return [
            e
            for e in self.events
            if all(
                w in f"{e.object_namespace}/{e.about} {e.reason} {e.message}".lower() for w in words
            )
        ]

    def _draw(self) -> None:
        if not self.is_attached:
            return
        palette = self.loader.palette
        shown = self.shown()
        warnings = sum(1 for e in shown if e.warning)
        title = f"Events: {len(shown)} ({warnings} Warning), Warning first, newest first"
        if self.note:
            title += f"  ({self.note})"
        if self.text_filter:
            title += f"  /{self.text_filter}"
        if self.error:
            title = f"Events: {self.error}"
        self.query_one("#events-title", Static).update(title)
        lines = event_lines(shown, palette) or [Text("No events found.", style=palette.muted)]
        self.query_one("#events-body", Static).update(Text("\n").join(lines))

    def action_close(self) -> None:
        self.dismiss(None)

    def action_refresh(self) -> None:
        self.loader.load_events(self)

    def action_filter(self) -> None:
        self.open_box(self.text_filter)

    def words_changed(self, words: str) -> None:
        self.text_filter = words
        self._draw()

    def words_cleared(self) -> None:
        self.text_filter = ""
        self._draw()
