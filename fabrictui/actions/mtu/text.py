"""A path MTU result as lines of text: what `fabrictui mtu` prints under the lab's line and
what the TUI's MTU screen shows, written once."""

from __future__ import annotations

from fabrictui.actions.mtu.result import ICMP_IP_HEADERS, MtuResult
from fabrictui.model import Verdict


def result_lines(result: MtuResult) -> list[str]:
    lines = [f"path MTU {result.source} -> {result.target} ({result.target_ip})"]
    how = "read from its interface" if result.pod_mtu_read else "not read, the mode's usual"
    lines.append(f"  pod MTU {result.pod_mtu} ({how}); mode {result.mode or 'unknown'}")
    for p in result.probes:
        said = ""
        if p.too_big_mtu is not None:
            said = f"  too big: mtu {p.too_big_mtu} said by {p.too_big_from}"
        state = "crossed" if p.crossed else ("not probed" if not p.probed else "died")
        lines.append(f"  DF ping -s {p.size:<5} ({p.packet} bytes): {state}{said}")
    if result.largest_ok is not None:
        lines.append(
            f"  largest that crossed: -s {result.largest_ok} "
            f"({result.largest_ok + ICMP_IP_HEADERS}-byte packets)"
        )
    if result.smallest_dead is not None:
        lines.append(
            f"  smallest that died:   -s {result.smallest_dead} "
            f"({result.smallest_dead + ICMP_IP_HEADERS}-byte packets)"
        )
    verdict = result.verdict
    if verdict is Verdict.FAIL:
        lines.append(f"  where: {result.where()}")
    if verdict is Verdict.NOT_OBSERVED:
        lines.append(f"  not observed: {result.not_probed or 'no echo crossed at any size'}")
    lines += [f"  note: {n}" for n in result.notes]
    lines.append(f"{verdict.value.upper().replace('_', ' ')}: {result.advice()}")
    return lines
