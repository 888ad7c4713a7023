"""What is known about one object (issue 26): the Detail a describer read, scrollable, its
links followed with their digit, `l` for a pod's logs, `r` to read it again, `esc` back.
Keyboard only; the screen reads nothing itself: its `DrillOpener` does (ui/drill_ui.py)."""

from __future__ import annotations

from typing import Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from fabrictui.render.common import Palette
from fabrictui.render.detail import Detail
from fabrictui.render.drill import LINKS_KEYED, detail_lines, detail_title


class DrillOpener(Protocol):
    """What the drill-down screens ask of their controller (ui/drill_ui.DrillController)."""

    palette: Palette

    def load_detail(self, screen: DetailScreen) -> None: ...

    def open_detail(self, kind: str, name: str, namespace: str | None) -> None: ...

    def open_logs(self, namespace: str, pod: str, containers: tuple[str, ...]) -> None: ...


class DetailScreen(Screen[None]):
    DEFAULT_CSS = """
    DetailScreen #detail-title { text-style: bold; background: $panel; padding: 0 1; }
    DetailScreen VerticalScroll { padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="detail.close"),
        Binding("l", "logs", "Logs", id="detail.logs"),
        Binding("r", "refresh", "Read again", id="detail.refresh"),
        *(
            Binding(str(n), f"follow({n})", f"Link {n}", show=False, id=f"detail.link{n}")
            for n in range(1, LINKS_KEYED + 1)
        ),
    ]

    def __init__(self, kind: str, name: str, namespace: str | None, opener: DrillOpener) -> None:
        super().__init__()
        self.kind, self.obj_name, self.namespace = kind, name, namespace
        self.opener = opener
        self.detail: Detail | None = None
        self.error = ""

    def compose(self) -> ComposeResult:
        where = f"{self.namespace}/" if self.namespace else ""
        yield Static(f"{self.kind} {where}{self.obj_name}: reading…", id="detail-title")
        with VerticalScroll(id="detail-scroll"):
            yield Static("", id="detail-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#detail-scroll").focus()
        self.opener.load_detail(self)

    def show(self, detail: Detail) -> None:
        self.detail, self.error = detail, ""
        if not self.is_attached:
            return
        self.query_one("#detail-title", Static).update(detail_title(detail))
        lines = detail_lines(detail, self.opener.palette)
        self.query_one("#detail-body", Static).update(Text("\n").join(lines))

    def show_error(self, message: str) -> None:
        """The source's own words; what was shown before stays (marked as not current)."""
        self.error = message
        if not self.is_attached:
            return
        where = f"{self.namespace}/" if self.namespace else ""
        title = f"{self.kind} {where}{self.obj_name}: {message}"
        self.query_one("#detail-title", Static).update(Text(title, style=self.opener.palette.bad))
        if self.detail is None:
            self.query_one("#detail-body", Static).update(Text(message))

    def action_close(self) -> None:
        self.dismiss(None)

    def action_refresh(self) -> None:
        self.opener.load_detail(self)

    def action_follow(self, number: int) -> None:
        links = self.detail.links if self.detail else ()
        if 0 < number <= len(links):
            link = links[number - 1]
            self.opener.open_detail(link.kind, link.name, link.namespace)

    def action_logs(self) -> None:
        if self.kind != "pod" or self.detail is None:
            return
        containers = tuple(
            s.title.removeprefix("Container ")
            for s in self.detail.sections
            if s.title.startswith("Container ")
        )
        self.opener.open_logs(self.namespace or "default", self.obj_name, containers)
