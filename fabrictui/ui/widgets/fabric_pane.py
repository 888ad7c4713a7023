"""The fabric pane: each switch's sessions as text (render/fabric.py makes the rows from the
state), with a keyboard cursor on the rows that are about something, a switch or a session,
so Enter opens its detail (issue 26) as a table's row does in the other panes."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.message import Message
from textual.widgets import Static

from fabrictui.render.fabric import FabricRow, fabric_rows
from fabrictui.session.state import LabState
from fabrictui.ui.widgets.pane import Pane

RowKey = tuple[str, str]  # (kind, name) as actions.drill.DESCRIBERS takes them


class FabricView(VerticalScroll, can_focus=True):
    """Scrollable text of the fabric; focusable so the keyboard moves its cursor. It keeps the
    rows it was given and the key (not the line) of the selected one, so a redraw with
    sessions added or gone, or a filter, leaves the cursor on the same switch or session."""

    DEFAULT_CSS = "FabricView { height: 1fr; }"
    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("enter", "choose", "Detail", show=False),
    ]

    class Chosen(Message):
        """Enter on a row: the screen opens the detail of (kind, name)."""

        def __init__(self, kind: str, name: str) -> None:
            super().__init__()
            self.kind = kind
            self.name = name

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: list[FabricRow] = []
        self.selected: RowKey | None = None
        self._line = 0  # where the selected row was: the nearest row takes over if it goes
        self._trailer: Text | None = None

    def compose(self) -> ComposeResult:
        yield Static("waiting for the switches…", id="fabric-text")

    def show(self, rows: list[FabricRow], trailer: Text | None) -> None:
        """Draw `rows` (then `trailer`, the problems or why there are none), the cursor kept on
        its key where it still is, else on the row nearest where it was."""
        self.rows = rows
        self._trailer = trailer
        keys = [row.key for row in rows]
        if self.selected in keys:
            self._line = keys.index(self.selected)
        else:
            chosen = [i for i, key in enumerate(keys) if key is not None]
            near = min(chosen, key=lambda i: (abs(i - self._line), i), default=None)
            self.selected = None if near is None else keys[near]
            self._line = near or 0
        self._draw()

    def _draw(self) -> None:
        texts = []
        for row in self.rows:
            if self.has_focus and row.key is not None and row.key == self.selected:
                text = row.text.copy()
                text.stylize("reverse")
                texts.append(text)
            else:
                texts.append(row.text)
        body = Text("\n").join(texts)
        if self._trailer is not None:
            if texts:
                body.append("\n")
            body.append_text(self._trailer)
        self.query_one("#fabric-text", Static).update(body)

    # the cursor shows only while the pane has the keyboard (the pane looks as before
    # otherwise); has_focus changes after these handlers, so draw once it has
    def on_focus(self) -> None:
        self.call_after_refresh(self._draw)

    def on_blur(self) -> None:
        self.call_after_refresh(self._draw)

    def action_move(self, step: int) -> None:
        chosen = [i for i, row in enumerate(self.rows) if row.key is not None]
        if not chosen:
            return
        here = self._line if self.selected is not None else chosen[0] - step
        later = [i for i in chosen if (i - here) * step > 0]
        if not later:
            return  # at the first or last row: stay
        self._line = min(later, key=lambda i: abs(i - here))
        self.selected = self.rows[self._line].key
        self._draw()
        line = self._line
        self.call_after_refresh(lambda: self.scroll_to_region(Region(0, line, 1, 1), animate=False))

    def action_choose(self) -> None:
        if self.selected is not None:
            self.post_message(self.Chosen(*self.selected))


class FabricPane(Pane):
    def __init__(self, state: LabState, **kwargs) -> None:
        super().__init__(state, "Fabric (BGP)", 2, id="pane-fabric", **kwargs)

    def compose(self) -> ComposeResult:
        yield FabricView(id="fabric-view")

    def selected(self) -> RowKey | None:
        return self.query_one(FabricView).selected

    def redraw(self) -> None:
        readings = self.state.readings
        if not readings and "fabric" not in self.state.last_answer:
            return  # nothing read yet: the waiting text stays (a problem shows below the title)
        analysis = self.state.session_analysis()
        announced = {n.name: n.calico_blocks for n in self.state.nodes.values()}
        rows = fabric_rows(readings, analysis, self.palette, self.text_filter, announced)
        # switches that did not answer already say so on their own line
        problems = analysis.problems(include_unreachable=False)
        trailer = None if rows else self._empty_text()
        if problems:
            note = Text(
                f"{len(problems)} problem(s): " + "; ".join(problems), style=self.palette.bad
            )
            if trailer is not None:
                trailer.append("\n")
                trailer.append_text(note)
            else:
                trailer = note
        self.query_one(FabricView).show(rows, trailer)

    def _empty_text(self) -> Text:
        if self.text_filter:
            return Text(f"no switch matches the filter {self.text_filter!r}")
        if self.state.lab.not_observed:
            return Text(f"not observed: {self.state.lab.not_observed}", style=self.palette.muted)
        return Text("this lab has no switches to read", style=self.palette.muted)
