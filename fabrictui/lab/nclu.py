"""A stand-in for Cumulus NCLU's `net show bgp summary [json]` on the lab's FRR switches.

Installed on each switch as the `net` shim, so the backend code path written for Cumulus
VX runs unchanged against the rehearsal lab. Only the BGP summary is provided.

    python -m fabrictui.lab.nclu --pathspace PS --config-dir DIR show bgp summary [json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
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


def main(argv: Sequence[str] | None = None, run: Runner | None = None) -> int:
    parser = argparse.ArgumentParser(prog="net", add_help=False)
    parser.add_argument("--pathspace", required=True)
    parser.add_argument("--config-dir", default="/var/run/frr")
    parser.add_argument("words", nargs="*")
    args = parser.parse_args(argv)
    words = list(args.words)
    as_json = bool(words) and words[-1] == "json"
    if as_json:
        words = words[:-1]
    if words[:3] not in (["show", "bgp", "summary"], ["show", "bgp", "sum"]) or len(words) != 3:
        print(f"ERROR: Command not found.\n\n    net {' '.join(args.words)}", file=sys.stderr)
        print("(this lab's net shim knows only: net show bgp summary [json])", file=sys.stderr)
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
