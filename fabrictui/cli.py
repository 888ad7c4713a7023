"""Command line entry point.

Kept import-light: `fabrictui --version` and `--help` must not pull in
Textual, kubernetes or asyncssh. Subcommands live in `fabrictui.commands.<name>`
and are imported only when chosen; each module offers
`configure(parser)` and `run(args) -> int` (exit code: 0 good, 1 a check
failed, 2 bad input or unreachable lab).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from fabrictui import __version__
from fabrictui.commands.options import add_lab_selection

# subcommand -> (module under fabrictui.commands, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "verify": ("verify", "run the lab checks and print a report"),
    "capture": ("capture", "decode VXLAN frames from a pcap file or a node"),
    "deploy-calico": (
        "deploy_calico",
        "apply Calico (VXLAN overlay, or --mode bgp) and wait for Ready nodes",
    ),
    "scale": ("scale", "scale the demo nginx deployment"),
    "ping": ("ping", "pod-to-pod ping mesh"),
    "trace": ("trace", "one probe's path between two pods: where it stopped, and why"),
    "mtu": ("mtu", "the path MTU between two pods: largest DF ping that crosses, where it dies"),
    "routes": ("routes", "switch routes to node subnets and pod blocks, and what is missing"),
    "map": ("map", "the fabric map: spines, leaves, racks and nodes with their states"),
    "install-tcpdump": (
        "install_tcpdump",
        "install tcpdump on a node with its package manager (asks first)",
    ),
    "lab": ("lab", "the rehearsal lab in network namespaces (up, status, down)"),
    "audit": ("audit", "show the audit log of actions"),
    "record": ("recordings.record", "record a lab without a screen, for replay and reports"),
    "replay": ("recordings.replay", "replay a recording in the TUI (FILE or latest)"),
    "report": ("recordings.report", "a report of a recording at one moment, as Markdown or HTML"),
    "describe": ("drill.describe", "what is known about a pod, node, session, switch or vm"),
    "logs": ("drill.logs", "a pod's container log (--previous, --tail, --follow)"),
    "events": ("drill.events", "the cluster's events, Warning first, newest first"),
    "bgp": ("fabric.bgp", "every switch's BGP sessions, over SSH or from Prometheus (--at TIME)"),
}


# the commands that talk to a lab: a signal or a lost terminal ends them cleanly, in
# bounded time (`session.ending.end_headless`); `lab` and `replay` keep their own ways
ENDS_WITH_ITS_TERMINAL = (
    "verify", "capture", "deploy-calico", "scale", "ping", "trace", "routes", "record", "mtu",
    "map", "describe", "logs", "events", "bgp",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fabrictui",
        description=(
            "One screen for a leaf-spine BGP fabric, its Kubernetes cluster and the Calico "
            "VXLAN overlay. With no lab found, starts the built-in demo lab."
        ),
        epilog="subcommands: " + ", ".join(SUBCOMMANDS) + " (fabrictui SUBCOMMAND --help for each)",
    )
    parser.add_argument("--version", action="version", version=f"fabrictui {__version__}")
    add_lab_selection(parser)
    parser.add_argument("--theme", help="theme name (see themes/), e.g. fabric-dark")
    parser.add_argument(
        "--no-record", action="store_true", help="do not record this session (docs/replay.md)"
    )
    parser.add_argument(
        "--calico-manifest",
        metavar="FILE",
        help="D applies this manifest (the lab's own calico.yaml) instead of the bundled Calico",
    )
    return parser


def build_subcommand_parser(name: str) -> tuple[argparse.ArgumentParser, object]:
    module_name, help_text = SUBCOMMANDS[name]
    module = importlib.import_module(f"fabrictui.commands.{module_name}")
    parser = argparse.ArgumentParser(prog=f"fabrictui {name}", description=help_text)
    module.configure(parser)
    return parser, module


# asyncssh still imports DSA key support, and the cryptography library warns about it on
# stderr at every start: words about a library's insides, before the command's own line
warnings.filterwarnings("ignore", message="DSA is deprecated", module="asyncssh")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        parser, module = build_subcommand_parser(argv[0])
        args = parser.parse_args(argv[1:])
        if argv[0] not in ENDS_WITH_ITS_TERMINAL:
            try:
                return int(module.run(args))
            except KeyboardInterrupt:
                return 130
        from fabrictui.session.ending import end_headless

        with end_headless(f"fabrictui {argv[0]}") as deadline:
            try:
                return int(module.run(args))
            except KeyboardInterrupt:
                return deadline.code or 130
            except BaseException as err:  # asyncio's CancelledError, without importing asyncio
                if deadline.code is None or type(err).__name__ != "CancelledError":
                    raise
                return deadline.code  # SIGHUP / SIGTERM / a lost terminal (end_headless)
    args = build_parser().parse_args(argv)
    from fabrictui.commands import tui  # deferred: pulls in Textual

    return tui.run(args)


def run() -> None:
    """The `fabrictui` command: `main`, then the end of the process (tests call `main`)."""
    from fabrictui.deadlines import end_process

    end_process(main())


if __name__ == "__main__":
    run()
