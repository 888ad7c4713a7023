"""A stand-in for Cumulus NCLU on the lab's FRR switches: `net show bgp summary [json]`,
`net show bgp neighbor PEER` (FRR's text, as NCLU prints it), and the BGP configuration
BGP mode applies: `net add|del bgp ...` (staged, as NCLU stages them) then `net commit`
(one vtysh run under `router bgp <AS>`).

Installed on each switch as the `net` shim, so the backend code path written for Cumulus
VX runs unchanged against the rehearsal lab.

    python -m fabrictui.lab.nclu --pathspace PS --config-dir DIR show bgp summary [json]
    python -m fabrictui.lab.nclu --pathspace PS add bgp listen range 10.0.101.0/24 peer-group G
    python -m fabrictui.lab.nclu --pathspace PS commit
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

FAMILIES = ("ipv4 unicast", "ipv6 unicast", "l2vpn evpn")
VTYSH = "/usr/bin/vtysh"


def section(title: str, body: str) -> str:
    """One NCLU section: the command, a `=` underline, then the device's text."""
    return f"{title}\n{'=' * len(title)}\n{body.rstrip()}\n"


def strip_frr_family_banner(text: str) -> str:
    """FRR 8 starts a family summary with a blank line and `IPv4 Unicast Summary (VRF
    default):`; NCLU's sections start at `BGP router identifier`."""
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and lines[0].rstrip().endswith("Summary (VRF default):"):
        lines.pop(0)
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


def nclu_text(family_texts: dict[str, str]) -> str:
    """`net show bgp summary`: one section per address family, blank line between."""
    parts = []
    for family in FAMILIES:
        body = strip_frr_family_banner(family_texts.get(family, "")) or "% No BGP neighbors found"
        parts.append(section(f"show bgp {family} summary", body))
    return "\n".join(parts)


def nclu_json(family_json: dict[str, Any]) -> dict[str, Any]:
    """`net show bgp summary json`: families keyed as NCLU spells them, null when empty.
    `family_json` maps family to FRR's `show bgp <family> summary json` (not wrapped)."""
    out: dict[str, Any] = {}
    for family in FAMILIES:
        value = family_json.get(family)
        out[family] = value if isinstance(value, dict) and value.get("peers") else None
    return out


Runner = Callable[[str], str]


def vtysh_runner(pathspace: str, config_dir: str) -> Runner:
    def run(command: str) -> str:
        done = subprocess.run(
            [VTYSH, "-N", pathspace, "--config_dir", config_dir, "-c", command],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip() or f"vtysh failed: {command}")
        return done.stdout

    return run


# FRR's names for the families in `show bgp summary` (text banner, JSON key)
FRR_FAMILIES = {
    "ipv4 unicast": ("IPv4 Unicast", "ipv4Unicast"),
    "ipv6 unicast": ("IPv6 Unicast", "ipv6Unicast"),
    "l2vpn evpn": ("L2VPN EVPN", "l2VpnEvpn"),
}


def split_frr_summary(text: str) -> dict[str, str]:
    """Cut FRR 8's all-family `show bgp summary` at its `<Family> Summary (VRF default):`
    banners; families without neighbours are simply absent."""
    by_banner = {banner: family for family, (banner, _) in FRR_FAMILIES.items()}
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.endswith("Summary (VRF default):"):
            family = by_banner.get(stripped.removesuffix(" Summary (VRF default):"))
            current = out.setdefault(family, []) if family else None
            continue
        if current is not None:
            current.append(line)
    return {family: "\n".join(lines).strip("\n") for family, lines in out.items()}


def bgp_summary(run: Runner, as_json: bool) -> str:
    """One vtysh call: FRR's all-family summary, re-cut into NCLU's per-family form."""
    if as_json:
        text = run("show bgp summary json")
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"vtysh printed no JSON: {exc}") from exc
        families = {family: data.get(key) for family, (_, key) in FRR_FAMILIES.items()}
        return json.dumps(nclu_json(families), indent=4) + "\n"
    return nclu_text(split_frr_summary(run("show bgp summary")))


# NCLU's `net add bgp <words>` words that FRR spells with a leading `bgp`
_BGP_PREFIXED = {"listen", "bestpath", "router-id", "cluster-id", "deterministic-med"}


def frr_line(verb: str, words: Sequence[str]) -> str:
    """`add bgp listen range X peer-group G` -> `bgp listen range X peer-group G` (under
    `router bgp`); `del ...` -> `no ...`."""
    line = " ".join(words)
    if words and words[0] in _BGP_PREFIXED:
        line = f"bgp {line}"
    return f"no {line}" if verb == "del" else line


def pending_path(config_dir: str, pathspace: str) -> Path:
    return Path(config_dir) / pathspace / "nclu-pending"


def commit(run_config: Callable[[list[str]], str], run: Runner, pending: Path) -> str:
    """Apply the staged lines in one vtysh run under `router bgp <the switch's AS>`."""
    lines = pending.read_text().splitlines() if pending.exists() else []
    if not lines:
        return "net commit: nothing to commit\n"
    data = json.loads(run("show bgp summary json") or "{}")
    asn = (data.get("ipv4Unicast") or {}).get("as")
    if asn is None:
        raise RuntimeError("no BGP instance to configure")
    said = run_config(["configure terminal", f"router bgp {asn}", *lines, "end"])
    if said.strip():
        raise RuntimeError(said.strip().splitlines()[0])
    pending.unlink()
    return f"net commit: {len(lines)} changes committed\n"


def vtysh_config_runner(pathspace: str, config_dir: str) -> Callable[[list[str]], str]:
    def run(lines: list[str]) -> str:
        argv = [VTYSH, "-N", pathspace, "--config_dir", config_dir]
        for line in lines:
            argv += ["-c", line]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        return done.stdout + done.stderr

    return run


def configure(args: argparse.Namespace, words: list[str], run: Runner | None) -> int:
    pending = pending_path(args.config_dir, args.pathspace)
    try:
        if words[0] in ("add", "del"):
            if len(words) < 3 or words[1] != "bgp":
                raise RuntimeError("this lab's net shim configures only `net add|del bgp ...`")
            with pending.open("a") as out:
                out.write(frr_line(words[0], words[2:]) + "\n")
            return 0
        runner = run or vtysh_runner(args.pathspace, args.config_dir)
        sys.stdout.write(
            commit(vtysh_config_runner(args.pathspace, args.config_dir), runner, pending)
        )
        return 0
    except (RuntimeError, OSError, ValueError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None, run: Runner | None = None) -> int:
    parser = argparse.ArgumentParser(prog="net", add_help=False)
    parser.add_argument("--pathspace", required=True)
    parser.add_argument("--config-dir", default="/var/run/frr")
    parser.add_argument("words", nargs="*")
    args = parser.parse_args(argv)
    words = list(args.words)
    if words and words[0] in ("add", "del", "commit"):
        return configure(args, words, run)
    as_json = bool(words) and words[-1] == "json"
    if as_json:
        words = words[:-1]
    if words[:3] == ["show", "bgp", "neighbor"] and len(words) == 4:
        # NCLU prints its FRR's `show ip bgp neighbors PEER` text (Cumulus 3.7 serves no
        # JSON for it: issue 26's drill-down reads this text)
        runner = run or vtysh_runner(args.pathspace, args.config_dir)
        try:
            sys.stdout.write(runner(f"show bgp neighbors {words[3]}"))
        except RuntimeError as exc:  # vtysh's own words (`% No such neighbor ...`)
            print(str(exc), file=sys.stderr)
            return 1
        return 0
    if words[:3] not in (["show", "bgp", "summary"], ["show", "bgp", "sum"]) or len(words) != 3:
        print(f"ERROR: Command not found.\n\n    net {' '.join(args.words)}", file=sys.stderr)
        print(
            "(this lab's net shim knows: net show bgp summary [json], net show bgp neighbor"
            " PEER, net add|del bgp ...,"
            " net commit)",
            file=sys.stderr,
        )
        return 1
    runner = run or vtysh_runner(args.pathspace, args.config_dir)
    try:
        sys.stdout.write(bgp_summary(runner, as_json))
    except RuntimeError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
