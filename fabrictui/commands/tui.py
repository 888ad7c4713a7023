"""`fabrictui` with no subcommand: the full-screen app."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    from fabrictui.backends.base import BackendError
    from fabrictui.backends.select import open_backend
    from fabrictui.config import ConfigError, load_settings

    try:
        settings = load_settings(_path(args.config))
        backend = open_backend(args)
    except (ConfigError, BackendError) as err:
        print(f"fabrictui: {err}", file=sys.stderr)
        return 2
    if args.theme:
        settings.theme = args.theme
    if args.read_only:
        settings.read_only = True
    from fabrictui.app import make_app

    make_app(backend, settings).run()
    return 0


def _path(value: str | None):
    from pathlib import Path

    return Path(value) if value else None
