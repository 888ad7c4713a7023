"""`fabrictui record`: record a lab without a screen (an unattended lab, CI).

The same feeds as the TUI fill the same state, and the same recorder writes
it with the captured frames to one file (docs/replay.md). Ends after
`--duration`, or at Ctrl-C / SIGTERM, with everything read so far committed.
Exit 0 when recorded, 2 for bad input, a lab that cannot be opened, a file that
cannot be written, or a lab part that did not answer (recorded all the same: what
answered is in the file; the part is named on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import sys
import time
from pathlib import Path

from fabrictui.commands._headless import emit, error, load_settings_or_stop, not_answered
from fabrictui.commands.options import add_lab_selection

PROG = "fabrictui record"
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duration", metavar="TIME", help="how long: 90, 90s, 10m, 2h (default: until Ctrl-C)"
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="the recording (default: the state directory)"
    )
    add_lab_selection(parser)


def parse_duration(text: str) -> float:
    """Seconds from "90", "90s", "10m", "1.5h"; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (try 90s, 10m, 2h)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run(args: argparse.Namespace) -> int:
    from fabrictui.backends.base import BackendError
    from fabrictui.session.record import RecordingError

    try:
        duration = parse_duration(args.duration) if args.duration else None
    except ValueError as err:
        return error(PROG, str(err))
    settings = load_settings_or_stop(args, PROG, changes_lab=False)
    if isinstance(settings, int):
        return settings
    try:
        return asyncio.run(_record(args, settings, duration))
    except (BackendError, RecordingError) as err:
        return error(PROG, str(err))
    except OSError as err:
        return error(PROG, f"cannot write the recording: {err}")


async def _record(args: argparse.Namespace, settings, duration: float | None) -> int:
    from fabrictui import deadlines
    from fabrictui.backends import select
    from fabrictui.backends.base import BackendError
    from fabrictui.session.ending import arm_headless
    from fabrictui.session.feeds import Failed, FeedCrashed, FeedSupervisor
    from fabrictui.session.record import Recorder
    from fabrictui.session.record.files import new_path, prune
    from fabrictui.session.state import LabState

    deadlines.forget_unanswered()  # this command's own (tests run several in a process)
    backend = select.open_backend(args)
    lab = backend.info()
    path = Path(args.output) if args.output else new_path(lab.name)
    recorder = Recorder(path, lab)
    if not args.output:
        for line in prune(settings.record_cap_mb * 2**20, keep=path):
            print(f"{PROG}: {line}", file=sys.stderr)
    state = LabState(
        lab,
        time.time,
        settings.overlay_buffer_frames,
        poll_seconds={"hosts": settings.host_poll_seconds, "fabric": settings.fabric_poll_seconds},
    )

    def said(event) -> None:
        if isinstance(event, Failed) and event.first:
            print(f"{PROG}: {event.source}: {event.error}", file=sys.stderr, flush=True)
        elif isinstance(event, FeedCrashed) and event.first:
            print(f"{PROG}: {event.feed} feed stopped: {event.error}", file=sys.stderr)

    feeds = FeedSupervisor(
        backend,
        state,
        said,
        settings.host_poll_seconds,
        settings.fabric_poll_seconds,
        settings.overlay_buffer_frames,
    )
    recorder.attach(state)
    recorder.record_frames(feeds)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stop(number: int) -> None:
        if number != signal.SIGINT:  # ctrl-c: someone is there to press it again
            arm_headless(signal.Signals(number).name, 128 + number)
        done.set()

    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(number, stop, number)
    print(f"{PROG}: recording {lab.name} to {path}", file=sys.stderr, flush=True)
    try:
        try:
            await backend.start()
        except BackendError as err:
            # the feeds meet the same error, say it and retry: a lab that comes up is recorded
            print(f"{PROG}: lab did not start: {err}", file=sys.stderr)
        feeds.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), duration)
    finally:
        await feeds.stop()
        await backend.close()
        await asyncio.to_thread(recorder.close)
    if recorder.error:
        return error(PROG, recorder.error)
    emit(str(path))
    # recorded; a part that never answered is said again at the end, and exit code 2
    return not_answered(PROG, 0)
