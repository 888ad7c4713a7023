"""`fabrictui` with no subcommand: the full-screen app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def run(args: argparse.Namespace) -> int:
    from fabrictui.backends.base import BackendError
    from fabrictui.backends.select import open_backend
    from fabrictui.config import ConfigError, settings_for

    try:
        settings = settings_for(args.config, args.read_only)
        # the demo lab only when no option names a lab (it says so: DEMO badge, a hint)
        backend = open_backend(args, demo_by_default=True)
    except (ConfigError, BackendError) as err:
        print(f"fabrictui: {err}", file=sys.stderr)
        return 2
    if args.theme:
        settings.theme = args.theme
    if getattr(args, "no_record", False):
        settings.record = False
    if getattr(args, "calico_manifest", None):
        settings.calico_manifest = Path(args.calico_manifest).expanduser()
    from fabrictui.app import make_app
    from fabrictui.session.ending import ExitDeadline

    # from the moment the app starts ending, the process is gone within the deadline
    app = make_app(backend, settings, deadline=ExitDeadline(backend.info().name))
    app.run()
    return app.return_code or 0
