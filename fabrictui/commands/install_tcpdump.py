"""`fabrictui install-tcpdump --node NODE`: the seed's own fix, one command away.

The seed ran `sudo yum install -y tcpdump` on its CentOS 7 node before capturing. This
installs tcpdump with the node's package manager (yum or apt-get, from its
/etc/os-release): it changes the node, so it shows the command and asks first (or takes
--yes), is written to the audit log, and is refused in read-only mode. fabrictui never
needs it: a node without tcpdump is captured at the leaf port facing it.
"""

from __future__ import annotations

import argparse
import shlex

from fabrictui.backends.base import LabBackend
from fabrictui.commands._headless import add_yes, emit, error, run_on_lab
from fabrictui.commands.options import add_lab_selection

PROG = "fabrictui install-tcpdump"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--node", required=True, metavar="NODE", help="the node to install on")
    add_yes(parser)
    add_lab_selection(parser)


def run(args: argparse.Namespace) -> int:
    from fabrictui.backends.real.backend import RealLabBackend
    from fabrictui.backends.real.probes.capture_point import install_plan, install_program

    def real(backend: LabBackend) -> RealLabBackend | None:
        ok = isinstance(backend, RealLabBackend) and args.node in backend.pool.targets
        return backend if ok else None

    async def plan(backend: LabBackend) -> list[str]:
        lab = real(backend)
        if lab is None:
            return [f"{args.node}: not a node this lab reaches over SSH: nothing to install"]
        argv = await install_plan(lab.pool, args.node, "tcpdump")
        return [f"on {args.node}: sudo {shlex.join(argv)}"]

    async def body(backend: LabBackend) -> int:
        lab = real(backend)
        if lab is None:
            return error(PROG, f"{args.node}: not a node this lab reaches over SSH")
        argv = await install_plan(lab.pool, args.node, "tcpdump")
        emit(f"{args.node}: {await install_program(lab.pool, args.node, argv)}")
        return 0

    return run_on_lab(args, PROG, body, target=args.node, plan=plan, changes_lab=True)
