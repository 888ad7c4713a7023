"""`fabrictui deploy-calico [--mode vxlan|bgp]`: apply Calico and wait until every node is
Ready; in BGP mode then peer every node with its leaf (docs/bgp-scenario.md). On a cluster
already in the other mode it is the migration, measured by a continuous ping. With
`--manifest FILE` the lab's own manifest is applied instead, through the same plan,
confirmation, audit and read-only rules."""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path

from fabrictui.actions.change.bgp_mode import deploy_mode, plan_deploy_mode
from fabrictui.backends.base import LabBackend
from fabrictui.commands._headless import add_yes, emit, error, print_progress, run_on_lab
from fabrictui.commands.options import add_lab_selection
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
        default=None,
        help="vxlan: the overlay (default); bgp: nodes peer with their leaf, no encapsulation",
    )
    parser.add_argument(
        "--manifest",
        type=Path,
        metavar="FILE",
        help="apply this manifest (the lab's own calico.yaml, IPPools, BGPPeers...) as it is, "
        "instead of the bundled Calico; checked whole against the server first",
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
    if args.manifest is not None and args.mode is not None:
        return error(PROG, "--manifest is applied as it is: its mode is what it says, not --mode")
    mode = args.mode or "vxlan"

    async def plan(backend: LabBackend) -> list[str]:
        return await plan_deploy_mode(backend, mode, args.pool, args.manifest)

    async def body(backend: LabBackend) -> int:
        result = await deploy_mode(
            backend, print_progress, mode, args.pool, args.timeout, args.manifest
        )
        emit(f"{backend.info().describe()}\n{result.summary}")
        return 0 if result.ok else 1

    target = f"cluster, pool {args.pool}, {mode} mode"
    if args.manifest is not None:
        target = f"cluster, manifest {args.manifest}"
    return run_on_lab(args, PROG, body, target=target, plan=plan, changes_lab=True)
