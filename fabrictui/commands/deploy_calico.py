"""`fabrictui deploy-calico [--mode vxlan|bgp]`: apply Calico and wait until every node is
Ready; in BGP mode then peer every node with its leaf (docs/bgp-scenario.md). On a cluster
already in the other mode it is the migration, measured by a continuous ping."""

from __future__ import annotations

import argparse
import ipaddress

from fabrictui.actions.change.bgp_mode import deploy_mode, plan_deploy_mode
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
    parser.add_argument(
        "--mode",
        choices=["vxlan", "bgp"],
        default="vxlan",
        help="vxlan: the overlay (default); bgp: nodes peer with their leaf, no encapsulation",
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

    async def plan(backend: LabBackend) -> list[str]:
        return await plan_deploy_mode(backend, args.mode, args.pool)

    async def body(backend: LabBackend) -> int:
        result = await deploy_mode(backend, print_progress, args.mode, args.pool, args.timeout)
        emit(f"{backend.info().describe()}\n{result.summary}")
        return 0 if result.ok else 1

    target = f"cluster, pool {args.pool}, {args.mode} mode"
    return run_on_lab(args, PROG, body, target=target, plan=plan, changes_lab=True)
