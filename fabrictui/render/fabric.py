"""The fabric pane: each switch's BGP sessions against the ones the lab's shape expects, and in
BGP mode each node's BIRD sessions."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from rich.text import Text

from fabrictui.intent.bgp_sessions import SessionAnalysis, peer_label
from fabrictui.model import (
    SwitchReading,
)
from fabrictui.parsers.calico import CalicoPeer
from fabrictui.render.common import Palette


@dataclass(frozen=True, slots=True)
class FabricRow:
    """One line of the fabric pane and what it is about, for Enter (actions.drill): a switch's
    header is ("switch", SWITCH), a session's line ("session", "SWITCH/PEER", the peer as the
    switch names it); titles and flags are about nothing (None)."""

    text: Text
    key: tuple[str, str] | None = None


def fabric_lines(
    readings: Mapping[str, SwitchReading],
    analysis: SessionAnalysis,
    palette: Palette,
    text_filter: str = "",
    announced: Mapping[str, tuple[str, ...]] | None = None,
    now: float | None = None,
) -> list[Text]:
    """The fabric pane's lines (fabric_rows without what each is about)."""
    rows = fabric_rows(readings, analysis, palette, text_filter, announced, now)
    return [row.text for row in rows]


def fabric_rows(
    readings: Mapping[str, SwitchReading],
    analysis: SessionAnalysis,
    palette: Palette,
    text_filter: str = "",
    announced: Mapping[str, tuple[str, ...]] | None = None,
    now: float | None = None,
) -> list[FabricRow]:
    """The fabric pane: a header per switch, a line per peer, flags for
    missing and unexpected sessions. Like `net show bgp sum`, condensed.
    Dynamic neighbours (the nodes in BGP mode) come after the switch's own
    peers, grouped under it, each with the blocks it announces (`announced`:
    host -> its pod blocks)."""
    lines: list[FabricRow] = []
    by_switch: dict[str, list] = {}
    for verdict in analysis.verdicts:
        by_switch.setdefault(verdict.switch, []).append(verdict)
    missing: dict[str, list[str]] = {}
    for switch, peer in analysis.missing:
        missing.setdefault(switch, []).append(peer)
    needle = text_filter.lower()
    for switch in sorted(readings):
        reading = readings[switch]
        block: list[FabricRow] = []
        me = ("switch", switch)
        header = Text()
        header.append(switch, style="bold")
        if reading.source != "ssh":  # which source, and how old its sample is
            age = max(0, round((now or time.time()) - reading.fetched_at))
            header.append(f"  [{reading.source}, sample {age} s old]", style=palette.muted)
        if reading.summary is not None:
            summary = reading.summary
            verdicts = by_switch.get(switch, [])
            up = sum(1 for v in verdicts if v.peer.established)
            header.append(f"  rid {summary.router_id}", style=palette.muted)
            header.append(f"  AS {summary.local_as if summary.local_as is not None else '?'}")
            count_style = palette.good if up == len(verdicts) and verdicts else palette.bad
            header.append(f"  {up}/{len(verdicts)} Established", style=count_style)
            block.append(FabricRow(header, me))
            static = [v for v in verdicts if not v.dynamic]
            dynamic = [v for v in verdicts if v.dynamic]
            for v in static:
                block.append(FabricRow(_peer_line(v, palette), _session(switch, v)))
            if dynamic:
                block += _dynamic_rows(switch, dynamic, palette, announced or {})
            for peer in missing.get(switch, []):
                line = Text("  ")
                line.append(f"MISSING  no session to {peer}", style=palette.bad)
                # by the host's name: the describer finds the address the switch would list
                block.append(FabricRow(line, ("session", f"{switch}/{peer}")))
        else:
            error = (reading.error or "no answer").removeprefix(f"{switch}: ")
            # the telemetry failed, not the switch: said as a warning, never as sessions down
            telemetry = reading.source == "prometheus"
            header.append(f"  {error}", style=palette.warn if telemetry else palette.bad)
            block.append(FabricRow(header, me))
        if needle and not any(needle in row.text.plain.lower() for row in block):
            continue
        lines.extend(block)
    return lines


def _session(switch: str, verdict) -> tuple[str, str]:
    # the peer as the switch names it (address or interface): what `describe session` reads
    return ("session", f"{switch}/{verdict.peer.neighbor}")


def _dynamic_rows(
    switch: str, verdicts: list, palette: Palette, announced: Mapping[str, tuple[str, ...]]
) -> list[FabricRow]:
    up = sum(1 for v in verdicts if v.peer.established and not v.peer.policy_blocked)
    title = Text("  dynamic neighbours (listen range): ", style=palette.muted)
    title.append(
        f"{up}/{len(verdicts)} up", style=palette.good if up == len(verdicts) else palette.bad
    )
    lines = [FabricRow(title)]
    for v in verdicts:
        peer = v.peer
        label = f"{v.peer_host}({peer.neighbor})" if v.peer_host else peer.neighbor
        state = "(Policy)" if peer.policy_blocked else peer.state
        good = peer.established and not peer.policy_blocked
        # no uptime here: a node's line carries its blocks and must fit an 80-column pane
        line = Text("   *")
        line.append(f"{label:<29}", style=None if v.expected else palette.warn)
        line.append(f" {peer.remote_as if peer.remote_as is not None else '?':>10}")
        line.append(f" {state:<11}", style=palette.good if good else palette.bad)
        blocks = announced.get(v.peer_host or "", ()) if good else ()
        if blocks:
            line.append(" → " + ", ".join(blocks), style=palette.muted)
        if not v.expected:
            line.append("  UNEXPECTED", style=palette.warn)
        lines.append(FabricRow(line, _session(switch, v)))
    return lines


def _peer_line(verdict, palette: Palette) -> Text:
    peer = verdict.peer
    style = palette.good if peer.established else palette.bad
    line = Text("  ")
    line.append(f"{peer_label(peer):<24}", style=None if verdict.expected else palette.warn)
    line.append(f" {peer.remote_as if peer.remote_as is not None else '?':>6}")
    line.append(f" {peer.state:<12}", style=style)
    line.append(f" {peer.uptime:>9}")
    pfx = "-" if peer.prefixes_received is None else str(peer.prefixes_received)
    line.append(f" {pfx:>4}")
    if not verdict.expected:
        line.append("  UNEXPECTED", style=palette.warn)
    return line


# -- Kubernetes ---------------------------------------------------------------------


def node_bgp_lines(
    statuses: Mapping[str, tuple[CalicoPeer, ...] | str], palette: Palette
) -> list[Text]:
    """Per node, its BGP status as `calicoctl node status` shows it (BGP mode)."""
    if not statuses:
        return []
    head = f"{'BGP (calicoctl node status)':<28} {'PEER ADDRESS':<15} {'PEER TYPE':<17} "
    lines = [Text(head + f"{'STATE':<6} {'SINCE':<10} INFO", style="bold")]
    for node in sorted(statuses):
        status = statuses[node]
        if isinstance(status, str):
            line = Text(f"{node:<28} ")
            line.append(status.removeprefix(f"{node}: "), style=palette.bad)
            lines.append(line)
            continue
        if not status:
            lines.append(Text(f"{node:<28} no BGP peers", style=palette.bad))
        for i, peer in enumerate(status):
            line = Text(f"{node if i == 0 else '':<28} {peer.address:<15} {peer.peer_type:<17} ")
            good = peer.established
            line.append(f"{peer.state:<6}", style=palette.good if good else palette.bad)
            line.append(f" {peer.since:<10} ")
            line.append(peer.info, style=None if good else palette.bad)
            lines.append(line)
    return lines
