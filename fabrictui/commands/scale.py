"""`fabrictui scale --replicas N`: create the demo workload if missing, scale it, wait."""

from __future__ import annotations

import argparse

from fabrictui.actions.change.plans import plan_scale_on
from fabrictui.actions.change.scale import scale_workload
from fabrictui.backends.base import DemoWorkload, LabBackend
from fabrictui.commands._headless import add_yes, emit, error, print_progress, run_on_lab
from fabrictui.commands.options import add_lab_selection

PROG = "fabrictui scale"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--namespace", default="space1", help="namespace (default space1)")
    parser.add_argument(
        "--deployment", default="nginx-deployment", help="deployment (default nginx-deployment)"
    )
    parser.add_argument("--replicas", type=int, required=True, metavar="N", help="replicas")
    parser.add_argument(
        "--timeout", type=float, default=120.0, metavar="S", help="give up after S seconds"
    )
    parser.add_argument(
        "--wait-for-nodes",
        action="store_true",
        help="when no node is Ready, wait (up to --timeout) instead of failing at once",
    )
    add_yes(parser)
    add_lab_selection(parser)


def run(args: argparse.Namespace) -> int:
    if args.replicas < 0:
        return error(PROG, "--replicas must be 0 or more")
    if args.timeout <= 0:
        return error(PROG, "--timeout must be positive")
    workload = DemoWorkload(namespace=args.namespace, deployment=args.deployment)

    async def plan(backend: LabBackend) -> list[str]:
        return await plan_scale_on(backend, args.replicas, workload)

    async def body(backend: LabBackend) -> int:
        result = await scale_workload(
            backend, print_progress, args.replicas, workload, args.timeout, args.wait_for_nodes
        )
        lines = [backend.info().describe(), result.summary]
        emit("\n".join([*lines, *(f"  {line}" for line in result.details)]))
        return 0 if result.ok else 1

    target = f"{workload.namespace}/{workload.deployment} replicas={args.replicas}"
    return run_on_lab(args, PROG, body, target=target, plan=plan, changes_lab=True)
