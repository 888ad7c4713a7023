"""Asking before anything changes the lab: `y` confirms, `n`/`esc` cancels,
and the safe button has the focus first. A choice between a few options is a key per
option (`ChoiceScreen`), never a text field: a `y` pressed out of habit types nothing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ConfirmScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $warning; background: $surface; padding: 0 1;
    }
    ConfirmScreen #confirm-title { text-style: bold; }
    ConfirmScreen VerticalScroll { height: auto; max-height: 12; }
    ConfirmScreen Horizontal { height: 3; align-horizontal: right; }
    ConfirmScreen Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, title: str, plan: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, id="confirm-title")
            with VerticalScroll():
                yield Static("\n".join(self.plan) or "(nothing to show)", id="confirm-plan")
            with Horizontal():
                yield Button("No (n)", id="no", variant="primary")
                yield Button("Yes (y)", id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class AskScreen(ModalScreen[str | None]):
    """One value (replicas, a file name): enter accepts, esc cancels."""

    DEFAULT_CSS = """
    AskScreen { align: center middle; }
    AskScreen > Vertical {
        width: 60; max-width: 95%; height: auto; border: thick $primary;
        background: $surface; padding: 0 1;
    }
    AskScreen #ask-error { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="ask.cancel")]

    def __init__(self, prompt: str, default: str, validate=None) -> None:
        super().__init__()
        self.prompt = prompt
        self.default = default
        self.validate_value = validate

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.prompt)
            yield Input(value=self.default, id="ask-input")
            yield Static("", id="ask-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if self.validate_value is not None:
            problem = self.validate_value(value)
            if problem:
                self.query_one("#ask-error", Static).update(problem)
                return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[str | None]):
    """One of a few options, a key each (`v`, `b`, ...); `enter` or `y` takes the focused
    one (the first, the usual answer), the arrows move between them, `esc` cancels."""

    DEFAULT_CSS = """
    ChoiceScreen { align: center middle; }
    ChoiceScreen > Vertical {
        width: 76; max-width: 100%; height: auto; border: thick $primary;
        background: $surface; padding: 0 1;
    }
    ChoiceScreen #choice-title { text-style: bold; }
    ChoiceScreen #choice-hint { color: $text-muted; }
    ChoiceScreen Button { width: 100%; margin-top: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="choice.cancel"),
        Binding("y", "take_focused", "The focused one", id="choice.focused", show=False),
        Binding("up,left", "app.focus_previous", "Previous", show=False),
        Binding("down,right", "app.focus_next", "Next", show=False),
    ]

    def __init__(self, title: str, options: list[tuple[str, str, str]]) -> None:
        """`options`: (key, value, label) each; the first one has the focus."""
        super().__init__()
        self.title_text = title
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, id="choice-title")
            keys = " / ".join(key for key, _, _ in self.options)
            yield Static(f"{keys}, or enter (y) for the focused one; esc cancels", id="choice-hint")
            for key, value, label in self.options:
                yield Button(f"{label} ({key})", id=f"choice-{value}", name=value)

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_key(self, event) -> None:
        for key, value, _label in self.options:
            if event.key == key:
                event.stop()
                self.dismiss(value)
                return

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.name)

    def action_take_focused(self) -> None:
        focused = self.focused
        if isinstance(focused, Button):
            self.dismiss(focused.name)

    def action_cancel(self) -> None:
        self.dismiss(None)
