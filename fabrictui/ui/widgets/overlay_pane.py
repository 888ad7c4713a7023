from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Log, Static

from fabrictui.capture.format import shorten_name
from fabrictui.render.frames import frame_lines
from fabrictui.render.transit import transit_lines, transit_summary
from fabrictui.session.overlay import DisplayBatch
from fabrictui.session.state import LabState
from fabrictui.ui.widgets.pane import Pane


class FrameLog(Log):
    """Decoded frames, newest at the bottom. `Log` rather than `RichLog`: it takes
    batched lines about thirty times faster, which is what keeps keys responsive
    under a flood (FORMATS.md)."""


# The pane's title by Calico's mode (`LabState.calico_mode`): what its frames are.
VXLAN_TITLE = "Overlay (VXLAN)"
BGP_TITLE = "Pod traffic (native, BGP mode)"


class OverlayPane(Pane):
    DEFAULT_CSS = """
    OverlayPane #overlay-counters { height: 3; color: $text-muted; }
    OverlayPane FrameLog { height: 1fr; }
    OverlayPane #transit-view { height: 1fr; display: none; }
    OverlayPane.-transit #transit-view { display: block; }
    OverlayPane.-transit FrameLog { display: none; }
    """

    def __init__(self, state: LabState, max_lines: int = 2000, **kwargs) -> None:
        title = BGP_TITLE if state.calico_mode == "bgp" else VXLAN_TITLE
        super().__init__(state, title, 4, id="pane-overlay", **kwargs)
        self.max_lines = max_lines
        self._last_counters = Text()

    def waiting_text(self) -> str:
        nodes = len(self.state.capture_nodes)
        if nodes:
            what = "pod traffic" if self.state.calico_mode == "bgp" else "VXLAN frames"
            return f"capturing on {nodes} node{'s' if nodes != 1 else ''}, no {what} yet"
        return super().waiting_text()

    def compose(self) -> ComposeResult:
        yield Static("no frames yet", id="overlay-counters")
        yield FrameLog(max_lines=self.max_lines, id="frame-log", auto_scroll=True)
        with VerticalScroll(id="transit-view"):  # focusable: arrows and pages scroll it
            yield Static(id="transit-table")

    def show_batch(self, batch: DisplayBatch, names: Mapping[str, str]) -> None:
        lines: list[str] = []
        if batch.skipped:
            lines.append(f"… {batch.skipped} frames not drawn (display rate limit; all counted)")
        needle = self.text_filter.lower()
        for frame in batch.frames:
            shown = frame_lines([frame], names, self.size.width)
            if not needle or any(needle in line.lower() for line in shown):
                lines.extend(shown)
        if lines:
            self.query_one(FrameLog).write_lines(lines)

    def note(self, line: str) -> None:
        self.query_one(FrameLog).write_line(line)

    def show_counters(self) -> None:
        overlay = self.state.overlay
        snapshot = overlay.snapshot(self.state.clock())
        names = self.state.names_by_ip()
        paused, skipped, palette = overlay.paused, overlay.skipped_total, self.palette
        # the mode is polled by the bgp feed; this runs once a second, so the title follows
        bgp = self.state.calico_mode == "bgp"
        title = f"{self.number} {BGP_TITLE if bgp else VXLAN_TITLE}"
        points = self.state.capture_points  # nodes without tcpdump: seen at their leaf port
        if points:
            title += " · at leaf ports: " + ", ".join(
                f"{node} ({point.split(' facing ')[0]})" for node, point in sorted(points.items())
            )
        if self.border_title != title:
            self.border_title = title
        text = Text()
        if paused:
            text.append("PAUSED ", style=palette.warn)
        text.append(f"{snapshot.rate:,.1f} frames/s  total {snapshot.total:,}")
        if snapshot.native:  # plain IP pod traffic: what BGP mode carries, no warning
            text.append(f"  native {snapshot.native:,}")
        if snapshot.other:
            other = "other" if bgp else "not VXLAN"
            text.append(f" ({other} {snapshot.other:,})", style=palette.warn)
        if skipped:
            text.append(f"  not drawn {skipped:,}", style=palette.muted)
        if overlay.slowed:
            # every frame received is counted, but the node's tcpdump may drop
            # frames while we read at the decoder's pace: say so
            text.append("  decoder at capacity: capture read slower", style=palette.warn)
        second = [f"vni {vni}: {n:,}" for vni, n in sorted(snapshot.per_vni.items())]
        transit = transit_summary(overlay.transit, names)
        if second or transit:
            text.append("\n" + ", ".join(second))
            if transit:
                text.append("  " if second else "")
                text.append(transit, style=palette.bad if overlay.transit.lost else None)
        if snapshot.per_pair:
            top = sorted(snapshot.per_pair.items(), key=lambda item: -item[1])[:3]
            # native pairs are pods (`nginx-…-z9pl9`, as the frame lines show them), VXLAN
            # pairs nodes: by address, so a migration's mix reads right
            pods = self.state.pod_node_addresses()

            def label(ip: str) -> str:
                name = names.get(ip, ip)
                return shorten_name(name) if ip in pods else name

            pairs = ", ".join(f"{label(a)}>{label(b)}: {n:,}" for (a, b), n in top)
            text.append(f"\n{pairs}", style=palette.muted)
        counters = self.query_one("#overlay-counters", Static)
        if text != self._last_counters:
            self._last_counters = text
            counters.update(text, layout=False)  # fixed height: no relayout of the screen

    # -- the transit view (`f`): the frames' two sightings matched, per node pair -----

    @property
    def showing_transit(self) -> bool:
        return self.has_class("-transit")

    def toggle_transit(self) -> bool:
        """Swap the frame lines for the transit table and back; True when shown."""
        self.toggle_class("-transit")
        self.show_transit()
        return self.showing_transit

    def show_transit(self) -> None:
        if not self.showing_transit:
            return
        state = self.state
        lines = transit_lines(
            state.overlay.transit, state.names_by_ip(), self.palette, state.capture_points
        )
        self.query_one("#transit-table", Static).update(Text("\n").join(lines))

    def focus_content(self) -> None:
        if self.showing_transit:
            self.query_one("#transit-view").focus()
        else:
            self.query_one(FrameLog).focus()
