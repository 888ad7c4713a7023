"""`fabrictui logs POD [-n NS] [-c CONTAINER] [--previous] [--tail N] [--follow]`: a
container's log, as `kubectl logs` prints it; the API's refusal in its own words.

The output is the log itself, as `kubectl logs` prints it (no lab line first: it is data to
pipe on). Never all in memory: without --tail the newest lines the backend bounds a read to; with
--follow each line is printed as it comes, until the pod goes or the command is ended.
Exit 0 when the log was read, 2 when the pod is not found, the API refuses (a container
waiting to start, no previous instance, a wrong container) or does not answer."""

from __future__ import annotations

import argparse

from fabrictui.backends.base import LabBackend
from fabrictui.commands._headless import EXIT_OK, emit, error, run_on_lab
from fabrictui.commands.options import add_lab_selection

PROG = "fabrictui logs"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pod", help="the pod's name")
    parser.add_argument("-n", "--namespace", default="default", help="its namespace")
    parser.add_argument("-c", "--container", help="the container (default: the pod's only one)")
    parser.add_argument(
        "--previous", action="store_true", help="the log of the container's previous instance"
    )
    parser.add_argument("--tail", type=int, metavar="N", help="only the last N lines")
    parser.add_argument(
        "-f", "--follow", action="store_true", help="go on printing lines as they are written"
    )
    add_lab_selection(parser)


def run(args: argparse.Namespace) -> int:
    if args.tail is not None and args.tail < 0:
        return error(PROG, f"--tail must be 0 or more, not {args.tail}")
    if args.follow and args.previous:
        return error(PROG, "--follow and --previous do not go together (a previous instance ended)")

    async def body(backend: LabBackend) -> int:
        if args.follow:
            async for line in backend.follow_pod_log(
                args.namespace, args.pod, args.container, args.tail
            ):
                emit(line)
            return EXIT_OK
        lines = await backend.pod_log(
            args.namespace, args.pod, args.container, args.previous, args.tail
        )
        if lines:
            emit("\n".join(lines))
        return EXIT_OK

    return run_on_lab(args, PROG, body, target=f"{args.namespace}/{args.pod}")
