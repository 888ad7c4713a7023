"""The options that choose a lab, shared by the TUI and every headless command. Here, below
the command line, so that the commands do not import `cli` (which imports them): only
argparse, so `fabrictui --version` stays import-light."""

from __future__ import annotations

import argparse


def add_lab_selection(parser: argparse.ArgumentParser) -> None:
    """The options that choose a lab, shared by the TUI and the headless commands."""
    group = parser.add_argument_group("lab selection")
    group.add_argument(
        "--demo",
        nargs="?",
        const="fresh",
        choices=["fresh", "ready", "ready-bgp"],
        help="use the built-in demo lab (fresh: before Calico; ready: after the seed's steps;"
        " ready-bgp: then switched to Calico BGP peering with the leaves)",
    )
    group.add_argument("--seed", type=int, default=1, help="demo lab random seed (default 1)")
    group.add_argument(
        "--demo-fault", action="append", metavar="ID",
        help="start the demo lab with this fault of its palette (e.g. mtu:leaf1:swp51); repeat",
    )  # fmt: skip
    group.add_argument("--lab", metavar="DIR", help="a Vagrant project or rehearsal lab directory")
    group.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig for the cluster")
    group.add_argument("--context", help="kubeconfig context")
    group.add_argument("--jump", metavar="USER@HOST[:PORT]", help="ssh jump host")
    group.add_argument(
        "--prometheus", metavar="URL",
        help="read BGP sessions and interfaces from this Prometheus (`off`: over SSH;"
        " docs/telemetry.md)",
    )  # fmt: skip
    group.add_argument("--config", metavar="FILE", help="config file (default: user config dir)")
    group.add_argument(
        "--read-only", action="store_true", help="refuse every action that changes the lab"
    )
