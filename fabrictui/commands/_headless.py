"""Shared plumbing of the headless commands (verify, deploy-calico, scale, ping):
read the settings as the TUI does, open the chosen lab, run one action on it
through the same guard and audit path as the TUI, turn lab failures into one
line on stderr and exit code 2, and ask before changing the lab.

A lab part that did not answer (a deadline passed: `fabrictui.deadlines`) ends the
command with exit code 2 and one line per part on stderr saying what was asked of which
part, even when the command could show what the other parts said."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
from collections.abc import Awaitable, Callable, Sequence

from fabrictui import audit, deadlines
from fabrictui.actions.progress import Progress
from fabrictui.backends import select
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.config import ConfigError, Settings, settings_for
from fabrictui.model import Verdict
from fabrictui.parsers import ParseError
from fabrictui.session.audited import ActionSpec, Refused, read_only_refusal, run_audited
from fabrictui.session.ending import run_command

Plan = Sequence[str] | Callable[[LabBackend], Awaitable[Sequence[str]]]

# The exit codes of the commands that judge the lab (verify, ping, trace), in one place:
# 0 everything passed, 1 something was seen to be wrong, 2 bad input or no part of the lab
# answered, 3 nothing was seen wrong but something could not be observed (issue 28).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_NOT_OBSERVED = 3
_EXIT_CODES = {
    Verdict.PASS: EXIT_OK,
    Verdict.FAIL: EXIT_FAILED,
    Verdict.NOT_OBSERVED: EXIT_NOT_OBSERVED,
}


def exit_code(verdict: Verdict) -> int:
    """The exit code of a command whose result has this verdict."""
    return _EXIT_CODES[verdict]


def error(prog: str, message: str) -> int:
    with contextlib.suppress(OSError):  # a terminal that went away hears nothing
        print(f"{prog}: {message}", file=sys.stderr)
    return EXIT_ERROR


def load_settings_or_stop(args: argparse.Namespace, prog: str, changes_lab: bool) -> Settings | int:
    """The settings, or the exit code to stop with. A broken config file stops a
    command that would change the lab (safety settings fail closed: a broken
    file never means "not read-only"); a read-only command goes on, warned."""
    try:
        return settings_for(getattr(args, "config", None), getattr(args, "read_only", False))
    except ConfigError as err:
        if changes_lab:
            return error(prog, f"{err} (not changing the lab with a broken config)")
        print(f"{prog}: warning: {err}; going on read-only", file=sys.stderr)
        return Settings(read_only=True, read_only_source=f"the config is broken: {err}")


def run_on_lab(
    args: argparse.Namespace,
    prog: str,
    body: Callable[[LabBackend], Awaitable[int]],
    target: str = "",
    plan: Plan = (),
    changes_lab: bool = False,
) -> int:
    """Open the lab the options name (never the demo lab unless `--demo` says so) and
    run `body` on it as one audited action:
    refused in read-only mode (from --read-only or any config file), confirmed
    first when it changes the lab (`plan` may be read from the lab), closed
    after. Exit code of body, or 2."""
    # the settings first: they set every client's deadlines (config.settings_for), which a
    # client reads when the lab opens it; then the lab, where a kubeconfig or lab the user
    # named that is wrong, or no lab at all, stops with one line before anything is started
    settings = load_settings_or_stop(args, prog, changes_lab)
    if isinstance(settings, int):
        return settings
    try:
        backend = select.open_backend(args)
    except (BackendError, ParseError) as err:
        return error(prog, str(err))
    action = prog.removeprefix("fabrictui ")

    async def main() -> int:
        deadlines.forget_unanswered()  # this command's own (tests run several in a process)
        lab = backend.info().name
        try:
            if changes_lab and settings.read_only:
                spec = ActionSpec(action, action, target, (), changes_lab=True)
                return error(prog, read_only_refusal(spec, lab, settings.read_only_source))
            await backend.start()
            steps = tuple(plan if isinstance(plan, Sequence) else await plan(backend))
            if changes_lab:
                # a daemon thread: Ctrl-C at the prompt must not wait for the answer
                stop = await deadlines.in_thread(
                    lambda: confirm(args, prog, list(steps)), None, "confirmation"
                )
                if stop is not None:
                    return stop
            spec = ActionSpec(action, action, target, steps, changes_lab)
            return await run_audited(spec, lab, lambda: body(backend))
        finally:
            await backend.close()

    try:
        return not_answered(prog, run_command(main()))
    except (BackendError, ParseError) as err:
        return error(prog, str(err))
    except TimeoutError:
        # which parts did not answer, when the deadlines named them before the whole ran out
        return not_answered(prog, error(prog, "the lab did not answer in time"))
    except Refused as err:
        return error(prog, str(err))
    except OSError as err:
        return error(prog, f"cannot write the audit log: {err}")
    finally:
        audit.flush()


def not_answered(prog: str, code: int) -> int:
    """`code`, after saying, once each, which parts did not answer and what they were asked.
    The result above is then incomplete: where it found nothing wrong (0) the exit code says
    that something was not observed (3); a failure (1) or an error (2) stays what it is."""
    missed = deadlines.unanswered()
    if not missed:
        return code
    for line in missed:
        print(f"{prog}: not answering: {line}", file=sys.stderr, flush=True)
    return EXIT_NOT_OBSERVED if code == EXIT_OK else code


def confirm(args: argparse.Namespace, prog: str, plan: list[str]) -> int | None:
    """None when the change may go ahead; else the exit code to stop with."""
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
    """Print the command's result; a reader that went away (`| head`, EPIPE) or a
    terminal that did (EIO) is not an error: the command has done its work."""
    try:
        print(text, flush=True)
    except OSError as err:
        if err.errno not in (errno.EPIPE, errno.EIO):
            raise
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
