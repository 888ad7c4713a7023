"""Shared plumbing of the headless commands (verify, deploy-calico, scale, ping):
open the chosen lab, run one coroutine on it, turn lab failures into one line
on stderr and exit code 2, and ask before changing the lab."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable

from fabrictui.actions.progress import Progress
from fabrictui.backends import select
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.parsers import ParseError


def error(prog: str, message: str) -> int:
    print(f"{prog}: {message}", file=sys.stderr)
    return 2


def run_on_lab(
    args: argparse.Namespace, prog: str, body: Callable[[LabBackend], Awaitable[int]]
) -> int:
    """Open the lab the options name, run `body` on it, close it. Exit code of body, or 2."""

    async def main() -> int:
        backend = select.open_backend(args)
        try:
            await backend.start()
            return await body(backend)
        finally:
            await backend.close()

    try:
        return asyncio.run(main())
    except (BackendError, ParseError) as err:
        return error(prog, str(err))
    except TimeoutError:
        return error(prog, "the lab did not answer in time")


def confirm(args: argparse.Namespace, prog: str, plan: list[str]) -> int | None:
    """None when the change may go ahead; else the exit code to stop with."""
    if getattr(args, "read_only", False):
        return error(prog, "refused: running read-only (--read-only)")
    if getattr(args, "yes", False):
        return None
    if not sys.stdin.isatty():
        return error(prog, "refusing to change the lab without --yes (stdin is not a terminal)")
    for line in plan:
        print(line)
    try:
        answer = input("Proceed? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        return None
    print("cancelled", file=sys.stderr)
    return 2


def emit(text: str) -> None:
    """Print the command's result; a reader that went away (`| head`) is not an error."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def print_progress(progress: Progress) -> None:
    """Progress lines for a terminal or a log: on stderr, so stdout stays the result."""
    mark = {"ok": "ok", "warning": "!", "error": "x"}.get(progress.level, "-")
    print(f"{mark} {progress.message}", file=sys.stderr, flush=True)


def add_yes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-y", "--yes", action="store_true", help="do not ask for confirmation (scripts)"
    )
