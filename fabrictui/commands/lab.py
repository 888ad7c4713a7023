"""`fabrictui lab up|status|down`: the rehearsal lab in network namespaces."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from fabrictui.lab import lab as rlab
from fabrictui.lab.kubeapi.versions import DEFAULT_VERSION, PROFILES
from fabrictui.lab.kubeapi.versions import profile as kube_profile
from fabrictui.lab.topology import TopologyError, build_topology


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="lab_command", required=True, metavar="{up,status,down}")
    up = sub.add_parser("up", help="build the lab (default: the reference lab of LAB.md)")
    _dir_option(up)
    up.add_argument("--spines", type=int, default=2, metavar="K", help="spines (default 2)")
    up.add_argument("--racks", type=int, default=2, metavar="N", help="racks/leaves (default 2)")
    up.add_argument(
        "--nodes-per-rack",
        type=int,
        default=2,
        metavar="M",
        help="workers per rack (default 2; rack 1 also holds the master)",
    )
    up.add_argument("--no-kube", action="store_true", help="do not start the lab's kube API")
    up.add_argument(
        "--kube-version",
        default=DEFAULT_VERSION,
        metavar="X.Y.Z",
        help="the Kubernetes the lab's API claims and serves as that version does: "
        f"{' or '.join(sorted(PROFILES))} (default {DEFAULT_VERSION}, the seed's)",
    )
    up.add_argument(
        "--bare-nodes",
        action="store_true",
        help="nodes as bare as the seed's fresh CentOS 7 boxes: no tcpdump",
    )
    up.add_argument(
        "--bgp-wait",
        type=float,
        default=rlab.BGP_WAIT_S,
        metavar="S",
        help=f"wait up to S seconds for every BGP session (default {rlab.BGP_WAIT_S:.0f})",
    )
    up.add_argument(
        "--telemetry",
        action="store_true",
        help="also start an FRR exporter per switch and a Prometheus scraping them "
        "(127.0.0.1 only; docs/telemetry.md)",
    )
    status = sub.add_parser("status", help="hosts, namespaces, daemons and BGP sessions")
    _dir_option(status)
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    down = sub.add_parser("down", help="remove everything the lab created")
    _dir_option(down)


def _dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        default=rlab.DEFAULT_DIR,
        metavar="DIR",
        help=f"lab directory (default ./{rlab.DEFAULT_DIR})",
    )


def run(args: argparse.Namespace) -> int:
    lab_dir = Path(args.dir)
    try:
        if args.lab_command == "up":
            return _up(args, lab_dir)
        if args.lab_command == "down":
            return _down(lab_dir)
        return _status(lab_dir, args)
    except rlab.LabError as exc:
        print(f"fabrictui lab: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `fabrictui lab status | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _up(args: argparse.Namespace, lab_dir: Path) -> int:
    try:
        topology = build_topology(args.spines, args.racks, args.nodes_per_rack)
    except TopologyError as exc:
        print(f"fabrictui lab: {exc}", file=sys.stderr)
        return 2
    try:
        kube_profile(args.kube_version)
    except ValueError as exc:
        print(f"fabrictui lab: --kube-version: {exc}", file=sys.stderr)
        return 2
    rlab.check_platform()
    existing = rlab.read_state(lab_dir.resolve())
    if existing is not None:
        raise rlab.LabAlreadyUp(
            f"a lab (id {existing.get('lab_id')}) is already up in {lab_dir.resolve()}; "
            f"run `fabrictui lab down --dir {lab_dir.resolve()}` first"
        )
    print(
        f"lab up in {lab_dir.resolve()}: {len(topology.switches)} switches, "
        f"{len(topology.nodes)} nodes"
    )
    try:
        result = rlab.up(
            lab_dir,
            topology,
            kube=not args.no_kube,
            log=print,
            bgp_wait_s=args.bgp_wait,
            kube_version=args.kube_version,
            bare_nodes=args.bare_nodes,
            telemetry_on=args.telemetry,
        )
    except (rlab.LabAlreadyUp, rlab.LabUnsupported):
        raise
    except (rlab.LabError, OSError, KeyboardInterrupt) as exc:
        print(f"fabrictui lab: up failed: {_one_line(exc)}; cleaning up", file=sys.stderr)
        rlab.down(lab_dir)
        return 130 if isinstance(exc, KeyboardInterrupt) else 2
    print(
        f"lab {result.lab_id} up in {result.seconds:.1f} s: BGP "
        f"{result.bgp_established}/{result.bgp_configured} leaf sessions Established "
        "with all routes; "
        f"kube API {result.kube}"
        + ("" if args.no_kube else f" (Kubernetes v{args.kube_version.lstrip('v')})")
    )
    resolved = lab_dir.resolve()
    print(f"  ssh -F {resolved}/ssh_config leaf1 sudo net show bgp summary")
    if result.prometheus:
        print(f"  Prometheus: {result.prometheus} (fabrictui reads BGP sessions from it)")
    if result.kube == "up":
        print(f"  kubectl --kubeconfig {resolved}/kubeconfig get nodes -o wide")
    print(f"  fabrictui lab down --dir {resolved}")
    kube_ok = args.no_kube or result.kube == "up"
    return 0 if kube_ok and result.bgp_established == result.bgp_configured else 1


def _down(lab_dir: Path) -> int:
    result = rlab.down(lab_dir)
    if result.lab_id is None:
        print(result.message)
        return 0
    print(
        f"lab {result.lab_id} down in {result.seconds:.1f} s: "
        f"{result.namespaces} namespaces, {result.processes} processes removed"
    )
    return 0


def _status(lab_dir: Path, args_json: argparse.Namespace | None = None) -> int:
    rlab.check_platform(tools=False)
    st = rlab.status(lab_dir)
    if st is None:
        print(f"no lab in {lab_dir.resolve()}")
        return 1
    if getattr(args_json, "json", False):
        print(json.dumps(_status_json(st), indent=2))
        return 0 if _healthy(st) else 1
    print(f"lab {st.lab_id} in {st.lab_dir}: {st.status}")
    rows = [("HOST", "ROLE", "NETNS", "SSH", "SSHD", "FRR", "BGP")]
    for h in st.hosts:
        bgp = (
            f"{h.bgp_established}/{h.bgp_configured}"
            if h.bgp_configured is not None
            else ("-" if h.frr_alive is None else "?")
        )
        rows.append(
            (
                h.name,
                h.role,
                "yes" if h.netns_present else "MISSING",
                f"127.0.0.1:{h.ssh_port}" if h.ssh_port else "-",
                _sshd(h),
                "-" if h.frr_alive is None else ("up" if h.frr_alive else "DOWN"),
                bgp,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if st.kube_alive is None:
        kube = "not started"
    elif st.kube_answers:
        kube = f"up on https://127.0.0.1:{st.kube_port}"
    else:
        kube = "DOWN" if not st.kube_alive else f"running but not answering on :{st.kube_port}"
    print(f"kube API: {kube}")
    if st.prometheus:
        print(f"Prometheus: {st.prometheus}")
    # a part that runs but does not answer (stopped, black-holed) is what `lab status`
    # exists to tell: said on stderr, exit 2 (docs/deadlines.md)
    hung = [
        f"{h.name}: sshd runs but sends no SSH banner on 127.0.0.1:{h.ssh_port} "
        f"within {rlab.STATUS_PROBE_S:g} s"
        for h in st.hosts
        if h.sshd_alive and not h.ssh_answers
    ]
    if st.kube_alive and not st.kube_answers:
        hung.append(
            f"kube API: runs but does not answer /version on 127.0.0.1:{st.kube_port} "
            f"within {rlab.STATUS_PROBE_S:g} s"
        )
    for line in hung:
        print(f"fabrictui lab status: not answering: {line}", file=sys.stderr)
    if hung:
        return 2
    return 0 if _healthy(st) else 1


def _healthy(st: rlab.LabStatus) -> bool:
    return all(
        h.netns_present
        and h.sshd_alive
        and h.frr_alive is not False
        and h.bgp_established == h.bgp_configured
        for h in st.hosts
    )


def _status_json(st: rlab.LabStatus) -> dict:
    return {
        "lab_id": st.lab_id,
        "dir": str(st.lab_dir),
        "status": st.status,
        "hosts": [dataclasses.asdict(h) for h in st.hosts],
        "kube_port": st.kube_port,
        "kube_answers": st.kube_answers,
        "prometheus": st.prometheus,
    }


def _sshd(host: rlab.HostStatus) -> str:
    if not host.sshd_alive:
        return "DOWN"
    return "up" if host.ssh_answers else "NOT ANSWERING"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
