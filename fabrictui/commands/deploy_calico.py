"""`fabrictui deploy-calico`: apply Calico (VXLAN) and wait until every node is Ready."""

from __future__ import annotations

import argparse
import ipaddress

from fabrictui.actions.deploy import deploy_calico
from fabrictui.actions.plans import plan_deploy_calico
from fabrictui.backends.base import LabBackend
from fabrictui.cli import add_lab_selection
from fabrictui.commands._headless import add_yes, emit, error, print_progress, run_on_lab
from fabrictui.constants import POD_POOL

PROG = "fabrictui deploy-calico"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pool", default=POD_POOL, metavar="CIDR", help=f"pod pool (default {POD_POOL})"
    )
    parser.add_argument(
        "--timeout", type=float, default=180.0, metavar="S", help="give up after S seconds"
    )
    add_yes(parser)
    add_lab_selection(parser)


def run(args: argparse.Namespace) -> int:
    try:
        ipaddress.IPv4Network(args.pool)
    except ValueError as err:
        return error(PROG, f"--pool {args.pool}: {err}")
    if args.timeout <= 0:
        return error(PROG, "--timeout must be positive")
    plan = plan_deploy_calico(args.pool)

    async def body(backend: LabBackend) -> int:
        result = await deploy_calico(backend, print_progress, args.pool, args.timeout)
        emit(result.summary)
        return 0 if result.ok else 1

    return run_on_lab(
        args, PROG, body, target=f"cluster, pool {args.pool}", plan=plan, changes_lab=True
    )
