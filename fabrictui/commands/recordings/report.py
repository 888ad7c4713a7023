"""`fabrictui report [FILE|latest] [--at TIME] (--md|--html) -o OUT`: the lab
as recorded at one moment (default: the end of the recording), for a ticket
(Markdown) or a browser (self-contained HTML with the TUI's picture).

`fabrictui report --at "10m ago" (--prometheus URL | --lab DIR) (--md|--html) -o OUT`:
without a recording, the fabric as Prometheus's history had it then (every switch's
BGP sessions and ports, the nodes' BIRD sessions in BGP mode; report/history.py),
from the named Prometheus or the lab's own (docs/telemetry.md).

Exit 0 written, 2 for a recording that cannot be read, a bad time, a Prometheus that
cannot be asked, or a file that cannot be written. A damaged recording is reported up
to the damage, and the report says so."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

PROG = "fabrictui report"
SCREEN_SIZE = (160, 48)  # the HTML report's picture, as the screenshots are made


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "recording", nargs="?", default="latest", help="a recording file, or latest (default)"
    )
    parser.add_argument(
        "--at",
        metavar="TIME",
        help="HH:MM[:SS], or 12m from the start (default: the end); from Prometheus: "
        '"10m ago" or an RFC 3339 time (default: now)',
    )
    history = parser.add_argument_group("without a recording: from Prometheus's history")
    history.add_argument("--prometheus", metavar="URL", help="this Prometheus")
    history.add_argument("--lab", metavar="DIR", help="this lab's Prometheus (lab up --telemetry)")
    kind = parser.add_mutually_exclusive_group(required=True)
    kind.add_argument("--md", action="store_true", help="Markdown, for pasting into a ticket")
    kind.add_argument("--html", action="store_true", help="one HTML file, with the screen")
    parser.add_argument("-o", "--output", metavar="OUT", required=True, help="the report file")


def run(args: argparse.Namespace) -> int:
    if args.prometheus is not None or args.lab is not None:
        return from_prometheus(args)
    from fabrictui.report.moment import moment_at
    from fabrictui.report.render import html_page, markdown
    from fabrictui.session.record import RecordingError
    from fabrictui.session.record.replay import open_recording, parse_moment

    try:
        recording = open_recording(args.recording)
    except RecordingError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 2
    try:
        at = None
        if args.at:
            at = parse_moment(args.at, recording.end, recording.started)
            if at is None:
                print(f"{PROG}: not a time: {args.at!r}", file=sys.stderr)
                return 2
        if recording.damage:
            print(f"{PROG}: {recording.damage}", file=sys.stderr)
        moment = moment_at(recording, at)
    finally:
        recording.close()
    if args.md:
        text = markdown(moment)
    else:
        svg, map_svg = asyncio.run(screen_svg(recording.path, moment.at))
        text = html_page(moment, svg, map_svg)
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as err:
        print(f"{PROG}: cannot write {args.output}: {err.strerror or err}", file=sys.stderr)
        return 2
    print(args.output)
    return 0


def from_prometheus(args: argparse.Namespace) -> int:
    """The report of Prometheus's history at `--at`, without a recording."""
    import time

    from fabrictui.backends.base import BackendError
    from fabrictui.backends.real.prometheus.client import PrometheusError, check_url
    from fabrictui.commands.fabric.bgp import parse_at
    from fabrictui.report import history
    from fabrictui.report.render import html_of, markdown_of

    if args.recording != "latest":
        return _fail(f"{args.recording}: a recording, or Prometheus's history: not both")
    if args.prometheus == "off":
        return _fail("--prometheus off: the history is Prometheus's; name one")
    try:
        at = parse_at(args.at) if args.at else time.time()
    except ValueError as err:
        return _fail(str(err))
    lab, switches, names = None, (), {}
    try:
        if args.lab is not None:
            from fabrictui.backends import select

            backend = select.open_backend(args)  # not started: its settings, no connection
            url = getattr(backend, "prometheus_url", None)
            if not url:
                return _fail(
                    f"--lab {args.lab}: the lab has no Prometheus (lab up --telemetry), "
                    "name one with --prometheus URL"
                )
            info = backend.info()
            lab = info.describe()
            switches = tuple(sorted({name for pair in info.expected_sessions for name in pair}))
            names = dict(info.peer_addresses)
        else:
            url = check_url(args.prometheus)
        found = asyncio.run(history.read_history(url, at, lab, switches, names))
    except (BackendError, PrometheusError) as err:  # PrometheusError is one; named for readers
        return _fail(str(err))
    parts = history.sections(found)
    heading = history.title(found)
    text = markdown_of(heading, parts) if args.md else html_of(heading, parts)
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as err:
        return _fail(f"cannot write {args.output}: {err.strerror or err}")
    print(args.output)
    return 0


def _fail(why: str) -> int:
    print(f"{PROG}: {why}", file=sys.stderr)
    return 2


async def screen_svg(path: Path, at: float, size: tuple[int, int] = SCREEN_SIZE) -> tuple[str, str]:
    """The TUI's pictures of a recorded moment, the main screen and the fabric map (`m`): a
    headless app replaying the recording at that moment, exported as SVG."""
    from fabrictui.app import make_app  # Textual: only when a picture is asked for
    from fabrictui.config import Settings
    from fabrictui.session.record.reader import Recording
    from fabrictui.session.record.replay import RecordedLab, ReplayDriver

    recording = Recording(path)
    try:
        driver = ReplayDriver(recording)
        driver.now = at
        settings = Settings(read_only=True, read_only_source="a replay", record=False)
        app = make_app(RecordedLab(recording), settings, clock=driver.clock, replay=driver)
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.5)  # drawn: panes, the strip, a tick
            screen = app.export_screenshot(title=f"fabrictui replay of {path.name}")
            await pilot.press("m")
            await pilot.pause(0.2)
            return screen, app.export_screenshot(title=f"fabrictui map, {path.name}")
    finally:
        recording.close()
