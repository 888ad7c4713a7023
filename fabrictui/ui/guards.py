"""Guards for the app's own life: drawing only while there is a screen to draw
on, and stopping steps that cannot hang."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable

from textual.css.query import NoMatches


def draws(method):
    """For what draws on the main screen from a message or a timer: nothing to do
    before the screen is up or once the app is ending. The screen's widgets are
    fixed at compose, so a missing one means it is being torn down (a test's
    shutdown removes widgets while messages are still handled)."""

    @functools.wraps(method)
    def guarded(self, *args):
        if not self.drawing:
            return None
        try:
            return method(self, *args)
        except NoMatches:
            return None

    return guarded


async def within(seconds: float, step: Awaitable[object]) -> bool:
    """Await one step of stopping, giving up after `seconds` (it is then cancelled);
    whether it finished in time."""
    try:
        await asyncio.wait_for(step, seconds)
    except TimeoutError:
        return False
    except asyncio.CancelledError:
        pass
    return True
