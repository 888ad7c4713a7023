"""Long-running feeds from a backend, independent of any UI.

Each feed re-arms after its previous answer (never a fixed-rate timer), so a
slow switch or API never stacks requests; errors are handed to a callback and
the feed carries on with a capped backoff, so a source that comes back is
picked up without a restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol, TypeVar

from fabrictui import deadlines
from fabrictui.backends.base import BackendError, LabBackend, Unreachable
from fabrictui.model import SwitchReading
from fabrictui.parsers import ParseError
from fabrictui.parsers.interfaces import Interface

T = TypeVar("T")

MAX_BACKOFF = 30.0
# The feeds bound each answer with `asyncio.timeout`, never `asyncio.wait_for`: in Python 3.11
# wait_for returns an answer that arrives in the same turn as a cancellation and drops the
# cancellation (fixed in 3.12), so a feed polled on after `FeedSupervisor.stop()` cancelled it
# and the stop waited for good.
PCAP_HEADER_BYTES = 24


async def poll_forever(
    fetch: Callable[[], Awaitable[T]],
    on_result: Callable[[T], None],
    on_error: Callable[[str], None],
    interval: float,
    timeout: float | None = None,
) -> None:
    """Call `fetch` again `interval` seconds after each answer, forever."""
    failures = 0
    while True:
        limit = timeout or max(10.0, interval * 3)
        unanswered = False
        try:
            async with asyncio.timeout(limit):
                result = await fetch()
        except TimeoutError:  # before OSError, of which it is one: its text is empty
            failures, unanswered = failures + 1, True
            on_error(f"no answer within {limit:g} s")
        except (BackendError, ParseError, OSError) as err:
            failures, unanswered = failures + 1, isinstance(err, Unreachable)
            on_error(deadlines.describe(err, "reading"))
        else:
            failures = 0
            on_result(result)
        # a part that did not answer is asked again at the usual pace (each try already
        # waited for its deadline), so it shows as live one refresh after it answers;
        # other failures back off
        backoff = failures and not unanswered
        delay = min(MAX_BACKOFF, interval * 2 ** min(failures, 5)) if backoff else interval
        await asyncio.sleep(delay)


async def read_all_switches(
    backend: LabBackend, switches: list[str], timeout: float
) -> dict[str, SwitchReading]:
    """One refresh of every switch, concurrently; a slow switch only marks itself."""

    async def one(name: str) -> SwitchReading:
        try:
            async with asyncio.timeout(timeout):
                return await backend.bgp_summary(name)
        except TimeoutError:
            return SwitchReading(name, None, f"no answer within {timeout:.0f}s", time.time())
        except (BackendError, ParseError) as err:
            return SwitchReading(name, None, str(err), time.time())

    readings = await asyncio.gather(*(one(name) for name in switches))
    return {reading.switch: reading for reading in readings}


# switch -> (when read, its interfaces or why they could not be read)
InterfaceReading = tuple[float, tuple[Interface, ...] | str]


async def read_all_interfaces(
    backend: LabBackend, switches: list[str], timeout: float
) -> dict[str, InterfaceReading]:
    """Every switch's interfaces, concurrently (one SSH command each, or the Prometheus
    source's answer when one is set); a switch that cannot be read says why, alone."""

    async def one(name: str) -> tuple[str, InterfaceReading]:
        try:
            async with asyncio.timeout(timeout):
                found = await backend.switch_interfaces(name)
            return name, (time.time(), tuple(found))
        except TimeoutError:
            return name, (time.time(), f"no answer within {timeout:.0f}s")
        except (BackendError, ParseError, OSError) as err:
            return name, (time.time(), str(err).removeprefix(f"{name}: ") or type(err).__name__)

    return dict(await asyncio.gather(*(one(name) for name in switches)))


async def follow_watch(
    open_watch: Callable[[], AsyncIterator[T]],
    on_event: Callable[[T], None],
    on_error: Callable[[str], None],
    retry_delay: float = 1.0,
) -> None:
    """Consume a watch forever, reopening it (which re-lists) after a failure."""
    failures = 0
    while True:
        try:
            async for event in open_watch():
                failures = 0
                on_event(event)
            on_error("watch ended; reconnecting")
        except (BackendError, ParseError, OSError) as err:
            on_error(deadlines.describe(err, "watching"))
        failures += 1
        await asyncio.sleep(min(MAX_BACKOFF, retry_delay * 2 ** min(failures - 1, 5)))


class CaptureSink(Protocol):
    """Where a node's capture bytes go (the capture worker's `NodeSink`)."""

    def start(self) -> None: ...

    async def feed(self, chunk: bytes) -> None: ...

    def end(self, clean: bool = True) -> None: ...


async def capture_node(
    backend: LabBackend,
    node: str,
    sink: CaptureSink,
    on_error: Callable[[str], None],
    on_state: Callable[[str], None] | None = None,
    retry_delay: float = 2.0,
) -> None:
    """Capture VXLAN on one node forever, handing the pcap bytes to `sink` as
    they come (no decoding here: this runs on the UI's loop); restart after a
    failure. The sink may raise CaptureError for a stream found broken, and
    makes `feed` wait while whoever decodes is behind."""

    failures = 0
    while True:
        stream = None
        try:
            stream = await backend.open_capture(node)
            if on_state:  # where: on the node, or at the leaf port facing a node without tcpdump
                on_state(f"capturing at {stream.point}" if stream.via == "switch" else "capturing")
            sink.start()
            fed = 0
            async for chunk in stream.chunks():
                await sink.feed(chunk)
                fed += len(chunk)
                if fed > PCAP_HEADER_BYTES:
                    failures = 0  # frames flow: the next failure starts the backoff anew
                # a stream with data always buffered never suspends by itself:
                # give the UI its turn after every chunk, or keys wait behind a flood
                await asyncio.sleep(0)
            sink.end()
            on_error(f"{node}: capture ended; restarting")
        except (BackendError, ParseError, OSError) as err:
            sink.end(clean=False)
            message = str(err)
            on_error(message if message.startswith(node) else f"{node}: {message}")
        finally:
            if stream is not None:
                await stream.close()
        failures += 1
        await asyncio.sleep(min(MAX_BACKOFF, retry_delay * 2 ** min(failures - 1, 4)))
