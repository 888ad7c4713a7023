"""The key footer, rebuilt only when the keys it shows change.

Textual's Footer rebuilds itself on every focus change; rebuilding forces a
layout of the whole screen, and with a 5,000-row table on it that layout is
what a key press waits for. Moving between panes rarely changes the keys
shown, so compare first.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    _shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        shown = tuple(
            (active.binding.key, active.binding.description, active.enabled, active.tooltip)
            for active in screen.active_bindings.values()
            if active.binding.show
        )
        if shown == self._shown:
            return
        self._shown = shown
        super().bindings_changed(screen)
