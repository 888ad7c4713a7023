"""`fabrictui replay [FILE|latest]`: a recording in the same TUI, read-only,
with a REPLAY badge, the recorded time in the header, a timeline strip and
keys to move through it (docs/replay.md)."""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "recording", nargs="?", default="latest", help="a recording file, or latest (default)"
    )
    parser.add_argument("--at", metavar="TIME", help="start at HH:MM[:SS], or 12m from the start")
    parser.add_argument("--config", metavar="FILE", help="config file (default: user config dir)")
    parser.add_argument("--theme", help="theme name (see themes/), e.g. fabric-dark")


def run(args: argparse.Namespace) -> int:
    from fabrictui.config import ConfigError, Settings, settings_for
    from fabrictui.session.record import RecordingError
    from fabrictui.session.record.replay import (
        RecordedLab,
        ReplayDriver,
        open_recording,
        parse_moment,
    )

    try:
        recording = open_recording(args.recording)
    except RecordingError as err:
        print(f"fabrictui replay: {err}", file=sys.stderr)
        return 2
    if recording.damage:
        print(f"fabrictui replay: {recording.damage}", file=sys.stderr)
    try:
        settings = settings_for(args.config, True)
    except ConfigError as err:
        print(f"fabrictui replay: warning: {err}; default settings", file=sys.stderr)
        settings = Settings(read_only=True)
    # a recording cannot change a lab: every such action is refused with this reason
    settings.read_only_source = f"a replay of {recording.path.name} (a recording changes no lab)"
    settings.record = False
    if args.theme:
        settings.theme = args.theme
    driver = ReplayDriver(recording)
    if args.at:
        moment = parse_moment(args.at, driver.end, driver.start)
        if moment is None:
            print(f"fabrictui replay: not a time: {args.at!r}", file=sys.stderr)
            return 2
        driver.now = moment
    from fabrictui.app import make_app

    app = make_app(RecordedLab(recording), settings, clock=driver.clock, replay=driver)
    app.run()
    recording.close()
    return app.return_code or 0
