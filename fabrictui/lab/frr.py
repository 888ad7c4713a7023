"""One FRR instance (zebra + bgpd) per switch namespace.

Each instance uses FRR's path space `-N <pathspace>`: its sockets, pid files and (here) its
configuration live in /var/run/frr/<pathspace>/, and `vtysh -N <pathspace> --config_dir
/var/run/frr` reaches it. The files live there rather than in the lab directory because the
daemons read them after dropping privileges to the `frr` user, who may not be able to enter
the lab directory (pytest's tmp dirs are 0700).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from fabrictui.lab import netns
from fabrictui.lab.topology import LabTopology, netns_name

FRR_SBIN = Path("/usr/lib/frr")
FRR_RUN = Path("/var/run/frr")
VTYSH = "/usr/bin/vtysh"
DAEMONS = ("zebra", "bgpd")


class FrrError(RuntimeError):
    pass


def pathspace(lab_id: str, switch: str) -> str:
    return f"ftl-{lab_id}-{switch}"


def run_dir(space: str) -> Path:
    return FRR_RUN / space


def render_zebra_conf(switch: str) -> str:
    return f"frr version 8\nhostname {switch}\nlog stdout informational\n"


def render_bgpd_conf(topology: LabTopology, switch: str, log_file: str = "") -> str:
    """bgpd configuration for one switch: eBGP to every link peer, leaves announce their
    server subnet. Short timers so sessions come up (and faults show) within seconds.
    Session changes are logged as Cumulus's FRR does by default (`bgp log-neighbor-changes`:
    why a deleted dynamic neighbour went down is only in the log), also to `log_file`, which
    `show logging` names, so a reader finds it as on a switch."""
    host = topology.host(switch)
    if not host.is_switch or host.asn is None:
        raise ValueError(f"{switch} is not a switch")
    lines = [
        "frr version 8",
        f"hostname {switch}",
        "log stdout informational",
        *([f"log file {log_file} informational"] if log_file else []),
        "!",
        f"router bgp {host.asn}",
        f" bgp router-id {host.router_id}",
        " bgp log-neighbor-changes",
        " no bgp ebgp-requires-policy",
        " no bgp network import-check",
        " bgp bestpath as-path multipath-relax",
        " bgp default show-hostname",
        " bgp default show-nexthop-hostname",
        " timers bgp 3 9",
    ]
    for neighbor in topology.bgp_neighbors(switch):
        lines += [
            f" neighbor {neighbor.peer_ip} remote-as {neighbor.peer_asn}",
            f" neighbor {neighbor.peer_ip} timers connect 2",
            f" neighbor {neighbor.peer_ip} advertisement-interval 0",
        ]
    lines += [" !", " address-family ipv4 unicast"]
    if host.server_subnet:
        lines.append(f"  network {host.server_subnet}")
    lines += ["  maximum-paths 64", " exit-address-family", "exit", "!", ""]
    return "\n".join(lines)


def write_configs(topology: LabTopology, lab_id: str, switch: str) -> Path:
    """Create /var/run/frr/<pathspace>/ owned by frr with zebra, bgpd and vtysh configs."""
    space = pathspace(lab_id, switch)
    directory = run_dir(space)
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "zebra.conf": render_zebra_conf(switch),
        "bgpd.conf": render_bgpd_conf(topology, switch, str(directory / "bgpd.log")),
        "vtysh.conf": "",
    }
    for name, text in files.items():
        (directory / name).write_text(text)
    try:
        shutil.chown(directory, "frr", "frr")
        for name in files:
            shutil.chown(directory / name, "frr", "frr")
    except (LookupError, PermissionError) as exc:
        raise FrrError(f"cannot hand {directory} to the frr user: {exc}") from exc
    return directory


def daemon_argv(lab_id: str, switch: str, daemon: str) -> list[str]:
    """The daemon's command line, run in the switch namespace, in the foreground."""
    space = pathspace(lab_id, switch)
    conf = str(run_dir(space) / f"{daemon}.conf")
    argv = [str(FRR_SBIN / daemon), "-N", space, "-f", conf, "-P", "0"]
    return netns.exec_argv(netns_name(lab_id, switch), argv)


def zebra_ready(lab_id: str, switch: str) -> bool:
    return (run_dir(pathspace(lab_id, switch)) / "zserv.api").exists()


def vtysh_argv(lab_id: str, switch: str, *commands: str) -> list[str]:
    argv = [VTYSH, "-N", pathspace(lab_id, switch), "--config_dir", str(FRR_RUN)]
    for command in commands:
        argv += ["-c", command]
    return argv


def bgp_summary_json(lab_id: str, switch: str, timeout: float = 5.0) -> dict[str, Any]:
    """`show bgp summary json` of a switch, straight over its vtysh socket."""
    try:
        done = subprocess.run(
            vtysh_argv(lab_id, switch, "show bgp summary json"),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise FrrError(f"vtysh on {switch} did not answer in {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise FrrError(f"vtysh on {switch} failed: {done.stderr.strip() or done.stdout.strip()}")
    try:
        data = json.loads(done.stdout or "{}")
    except json.JSONDecodeError as exc:
        raise FrrError(f"vtysh on {switch} printed no JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise FrrError(f"vtysh on {switch} printed unexpected JSON")
    return data


def established_counts(summary: dict[str, Any]) -> tuple[int, int]:
    """(established, configured) IPv4 unicast sessions in a `show bgp summary json`."""
    family = summary.get("ipv4Unicast") or {}
    peers = family.get("peers") or {}
    established = sum(1 for peer in peers.values() if peer.get("state") == "Established")
    return established, len(peers)


def converged_counts(summary: dict[str, Any], expected_prefixes: int) -> tuple[int, int]:
    """Like established_counts, but a session counts only once it has also delivered the
    `expected_prefixes` routes (the other racks' subnets): then traffic flows."""
    family = summary.get("ipv4Unicast") or {}
    peers = family.get("peers") or {}
    done = sum(
        1
        for peer in peers.values()
        if peer.get("state") == "Established" and (peer.get("pfxRcd") or 0) >= expected_prefixes
    )
    return done, len(peers)


def remove_run_dirs(lab_id: str) -> list[str]:
    """Delete every /var/run/frr/ftl-<lab_id>-* directory; returns what was removed."""
    removed: list[str] = []
    prefix = f"ftl-{lab_id}-"
    if not FRR_RUN.is_dir():
        return removed
    for entry in os.scandir(FRR_RUN):
        if entry.name.startswith(prefix) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed
