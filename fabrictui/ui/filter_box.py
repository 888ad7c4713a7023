"""The `/` box of the drill-down screens (issue 26: the event view's filter, a log's search),
one shape for both: hidden until `/` opens it with the words in use, each keystroke tells the
screen, enter keeps the words, esc clears them; either way it closes and the keys go back to
the screen's scrolling body. A screen mixes in `FilterBox`, names its box and body, and
answers the three hooks."""

from __future__ import annotations

from textual.events import Key
from textual.widgets import Input


def box_css(screen: str, box_id: str) -> str:
    """The box hidden until opened (its `-open` class)."""
    return (
        f"{screen} #{box_id} {{ display: none; }}\n{screen} #{box_id}.-open {{ display: block; }}\n"
    )


class FilterBox:
    """Mixed into a Screen that composes an Input `#BOX_ID` and a scrolling `#BODY_ID`."""

    # before Screen in the class's bases (its handlers are found first); query_one is the
    # Screen's, so the mixin defines nothing of the Screen's own
    BOX_ID = ""
    BODY_ID = ""

    # -- the screen's answers -----

    def words_changed(self, words: str) -> None:
        """Each keystroke in the box."""

    def words_kept(self) -> None:
        """Enter: the box closed, the words stay."""

    def words_cleared(self) -> None:
        """Esc in the box: it closed; the screen drops its words."""

    # -- the box -----

    def open_box(self, words: str) -> None:
        box = self.query_one(f"#{self.BOX_ID}", Input)
        box.value = words
        box.add_class("-open")
        box.focus()

    def close_box(self) -> None:
        self.query_one(f"#{self.BOX_ID}", Input).remove_class("-open")
        self.query_one(f"#{self.BODY_ID}").focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.words_changed(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.close_box()
        self.words_kept()

    def on_key(self, event: Key) -> None:
        # esc in the box clears it, and is not the screen's esc (back)
        if event.key == "escape" and self.query_one(f"#{self.BOX_ID}", Input).has_focus:
            event.stop()
            self.close_box()
            self.words_cleared()
