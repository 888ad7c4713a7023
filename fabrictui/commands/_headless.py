"""Shared plumbing of the headless commands (verify, deploy-calico, scale, ping):
open the chosen lab, run one coroutine on it, turn lab failures into one line
on stderr and exit code 2, and ask before changing the lab."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable

from fabrictui import audit
from fabrictui.actions.progress import Progress
from fabrictui.backends import select
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.parsers import ParseError


def error(prog: str, message: str) -> int:
    print(f"{prog}: {message}", file=sys.stderr)
    return 2


def run_on_lab(
    args: argparse.Namespace,
    prog: str,
    body: Callable[[LabBackend], Awaitable[int]],
    target: str = "",
    calls: list[str] | None = None,
) -> int:
    """Open the lab the options name, run `body` on it under an audit record,
    close it. Exit code of body, or 2."""

    async def main() -> int:
        backend = select.open_backend(args)
        action = prog.removeprefix("fabrictui ")
        entry = audit.start(action, backend.info().name, target, calls or [])
        try:
            await backend.start()
            code = await body(backend)
        except BaseException as err:
            cancelled = isinstance(err, KeyboardInterrupt | asyncio.CancelledError)
            entry.finish("cancelled" if cancelled else "failed", str(err) or type(err).__name__)
            raise
        finally:
            await backend.close()
        entry.finish("ok" if code == 0 else "failed", f"exit code {code}")
        return code

    try:
        return asyncio.run(main())
    except (BackendError, ParseError) as err:
        return error(prog, str(err))
    except TimeoutError:
        return error(prog, "the lab did not answer in time")
    except OSError as err:
        return error(prog, f"cannot write the audit log: {err}")


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
