"""The overlay pane's transit view (`f`): per node pair, how long frames took
across the fabric and how many never arrived, and the busiest flows under each.
Pure: a `TransitSnapshot` and the name index in, Rich Text out."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from fabrictui.capture.format import shorten_name
from fabrictui.capture.transit import (
    LOST_AFTER,
    MAX_WIRE_FRAME,
    PairTransit,
    TransitSnapshot,
)
from fabrictui.render.common import Palette

NO_PAIRS = (
    "no frame seen on both sides yet: a frame is matched when the captures of both "
    "the node it left and the node it reached see it"
)
EXPLAINED = (
    "one-way: the receiving node's capture time minus the sending node's; ⇄: frames "
    "go both ways, so the two nodes' clock offset cancels (NTP's way). lost: seen "
    f"leaving, not seen arriving within {LOST_AFTER:g}-{LOST_AFTER * 1.5:g} s."
)


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f} ms" if abs(value) < 10 else f"{value:.1f} ms"


def transit_lines(
    snapshot: TransitSnapshot,
    names: Mapping[str, str],
    palette: Palette,
    points: Mapping[str, str] | None = None,
) -> list[Text]:
    """`points`: node -> the switch port its frames were captured at (no tcpdump on it):
    those nodes' times are the leaf's, and the table says so."""
    lines = [Text(f"{'from → to':<34}{'one-way':>13}{'arrived':>10}{'lost':>8}", style="bold")]
    if not snapshot.pairs:
        lines.append(Text(NO_PAIRS, style=palette.muted))
    for pair in snapshot.pairs:
        lines.append(_pair_line(pair, names, palette))
        for flow in pair.flows:
            if not flow.inner_src:  # beyond the cap, or not IP inside: counted together
                label = "  (other flows)"
            else:
                src = shorten_name(names.get(flow.inner_src, flow.inner_src))
                dst = shorten_name(names.get(flow.inner_dst, flow.inner_dst))
                label = f"  {src} → {dst}"
            line = Text(f"{label:<34.34}{ms(flow.one_way_ms):>13}{flow.arrived:>10,}")
            line.append(f"{flow.lost:>8,}", style=palette.bad if flow.lost else None)
            line.stylize(palette.muted)
            lines.append(line)
    if snapshot.waiting:
        lines.append(Text(f"{snapshot.waiting:,} sightings waiting for their other half"))
    if snapshot.untracked:
        lines.append(
            Text(
                f"{snapshot.untracked:,} sightings not matched: too many were waiting, or the "
                "other node's capture ended",
                style=palette.warn,
            )
        )
    if snapshot.oversize:
        lines.append(
            Text(
                f"{snapshot.oversize:,} frames over {MAX_WIRE_FRAME} bytes not matched: "
                "segmentation offload cuts them differently on the two nodes",
                style=palette.muted,
            )
        )
    for node, point in sorted((points or {}).items()):
        lines.append(Text(f"{node}: times measured at {point} (no tcpdump on the node)"))
    lines.append(Text(EXPLAINED, style=palette.muted))
    return lines


def _pair_line(pair: PairTransit, names: Mapping[str, str], palette: Palette) -> Text:
    label = f"{names.get(pair.src, pair.src)} → {names.get(pair.dst, pair.dst)}"
    both = pair.corrected_ms is not None
    line = Text(f"{label:<34.34}{ms(pair.best_ms):>11}{' ⇄' if both else '  '}")
    line.append(f"{pair.arrived:>10,}")
    line.append(f"{pair.lost:>8,}", style=palette.bad if pair.lost else palette.good)
    if pair.unmatched:
        line.append(f"  +{pair.unmatched:,} unmatched", style=palette.muted)
    if both and pair.offset_ms is not None and abs(pair.offset_ms) >= 0.05:
        line.append(f"  clock {pair.offset_ms:+.2f} ms", style=palette.muted)
    return line


def transit_summary(snapshot: TransitSnapshot, names: Mapping[str, str]) -> str:
    """A few words for the counters: the fabric's one-way median, and where frames
    got lost (the worst pair); "" before any frame was seen on both sides."""
    timed = sorted(p.best_ms for p in snapshot.pairs if p.best_ms is not None)
    if not timed:
        return ""
    text = f"one-way {ms(timed[len(timed) // 2])}"
    lossy = sorted((p for p in snapshot.pairs if p.lost), key=lambda p: -p.lost)
    if not lossy:
        return text + ", none lost"
    worst = lossy[0]
    return (
        f"{text}, LOST {snapshot.lost:,}: "
        f"{names.get(worst.src, worst.src)}→{names.get(worst.dst, worst.dst)}"
    )
