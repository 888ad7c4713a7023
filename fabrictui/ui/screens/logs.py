"""A container's log (issue 26): the newest lines, at most MAX_LINES held (a follow drops the
oldest), levels that stand out, `/` to search and `n` for the next match, `c` for the next
container, `p` for the previous instance, `f` to follow or stop, `esc` back. A container
that has not started shows the API's own words. The screen reads nothing itself."""

from __future__ import annotations

from collections import deque
from typing import Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from fabrictui.render.common import Palette
from fabrictui.render.drill import log_text
from fabrictui.ui.filter_box import FilterBox, box_css

MAX_LINES = 2000
DRAW_EVERY = 0.2  # seconds: a follow's lines are drawn in batches


class LogLoader(Protocol):
    palette: Palette

    def load_logs(self, screen: LogScreen) -> None: ...

    def stop_logs(self, screen: LogScreen) -> None: ...


class LogScreen(FilterBox, Screen[None]):
    DEFAULT_CSS = """
    LogScreen #log-title { text-style: bold; background: $panel; padding: 0 1; }
    LogScreen VerticalScroll { padding: 0 1; }
    """ + box_css("LogScreen", "log-search")
    BOX_ID, BODY_ID = "log-search", "log-scroll"
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="logs.close"),
        Binding("c", "container", "Container", id="logs.container"),
        Binding("p", "previous", "Previous", id="logs.previous"),
        Binding("f", "follow", "Follow", id="logs.follow"),
        Binding("slash", "search", "Search", id="logs.search"),
        Binding("n", "next_match", "Next match", id="logs.next"),
    ]

    def __init__(
        self, namespace: str, pod: str, containers: tuple[str, ...], loader: LogLoader
    ) -> None:
        super().__init__()
        self.namespace, self.pod = namespace, pod
        self.containers = containers or ("",)  # "": the pod's only container
        self.index = 0
        self.previous = False
        self.following = False
        self.loader = loader
        self.lines: deque[str] = deque(maxlen=MAX_LINES)
        self.search = ""
        self.error = ""
        self._dirty = False
        self._match = -1

    @property
    def container(self) -> str:
        return self.containers[self.index]

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="log-title")
        yield Input(placeholder="search, enter to keep, esc to clear", id="log-search")
        with VerticalScroll(id="log-scroll"):
            yield Static("", id="log-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#log-scroll").focus()
        self.set_interval(DRAW_EVERY, self._draw_if_dirty)
        self.loader.load_logs(self)

    def on_unmount(self) -> None:
        self.loader.stop_logs(self)

    def _title(self) -> str:
        which = self.container or "its container"
        mode = " --previous" if self.previous else (" --follow" if self.following else "")
        found = f"  /{self.search}" if self.search else ""
        return (
            f"logs {self.namespace}/{self.pod} -c {which}{mode}  ({len(self.lines)} lines){found}"
        )

    # -- what the loader tells it -----

    def set_lines(self, lines: list[str]) -> None:
        self.error = ""
        self.lines.clear()
        self.lines.extend(lines)
        self._dirty = True
        self._draw_if_dirty()

    def add_line(self, line: str) -> None:
        self.lines.append(line)
        self._dirty = True

    def show_error(self, message: str) -> None:
        self.error = message
        self.lines.clear()
        self._dirty = True
        self._draw_if_dirty()

    def _draw_if_dirty(self) -> None:
        if not self._dirty or not self.is_attached:
            return
        self._dirty = False
        palette = self.loader.palette
        self.query_one("#log-title", Static).update(self._title())
        body = self.query_one("#log-body", Static)
        if self.error:
            body.update(Text(self.error, style=palette.bad))
            return
        if not self.lines:
            body.update(Text("(the container has written nothing)", style=palette.muted))
            return
        body.update(Text("\n").join(log_text(line, palette, self.search) for line in self.lines))
        if self.following:
            self.query_one("#log-scroll", VerticalScroll).scroll_end(animate=False)

    # -- keys -----

    def action_close(self) -> None:
        self.dismiss(None)

    def _reload(self) -> None:
        self.loader.stop_logs(self)
        self.lines.clear()
        self._dirty = True
        self.loader.load_logs(self)

    def action_container(self) -> None:
        self.index = (self.index + 1) % len(self.containers)
        self._reload()

    def action_previous(self) -> None:
        self.previous = not self.previous
        if self.previous:
            self.following = False
        self._reload()

    def action_follow(self) -> None:
        self.following = not self.following
        if self.following:
            self.previous = False
        self._reload()

    def action_search(self) -> None:
        self.open_box(self.search)

    def words_changed(self, words: str) -> None:
        self.search = words
        self._match = -1
        self._dirty = True

    def words_kept(self) -> None:
        self.action_next_match()

    def words_cleared(self) -> None:
        self.search = ""
        self._dirty = True

    def action_next_match(self) -> None:
        if not self.search:
            return
        wanted = self.search.lower()
        lines = list(self.lines)
        for step in range(1, len(lines) + 1):
            at = (self._match + step) % len(lines)
            if wanted in lines[at].lower():
                self._match = at
                self.query_one("#log-scroll", VerticalScroll).scroll_to(y=at, animate=False)
                return
