"""Ending the session's own tasks: one way for the feeds, the detail reads and the action
runner to stop what they started."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable


async def cancel_and_wait(tasks: Iterable[asyncio.Task]) -> None:
    """Cancel every task, then wait for each to finish its cleanup (a capture ends its
    remote tcpdump there); whatever a task raised on the way out is its own to report."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
