"""The path trace on screen: pick two pods, then the path as a vertical list of observation
points (host, interface, what was seen, time offset, ECMP branch), the first point where the
probe was expected and missing highlighted with its cause and evidence beside it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Label, Static

from fabrictui.actions.trace.model import Hop, HopState, TraceResult
from fabrictui.actions.trace.svcsteps import ServiceStep, StepState
from fabrictui.model import Verdict
from fabrictui.render.checks import verdict_style
from fabrictui.render.common import Palette

WIDE = 120  # from this width on, what was seen sits on the point's own line

MARKS = {
    HopState.SEEN: "●",
    HopState.MISSING: "✗",
    HopState.PASSED: "○",
    HopState.UNOBSERVED: "?",
    HopState.NOT_REACHED: "·",
    HopState.NOT_TAKEN: " ",
}


def _style(hop: Hop, palette: Palette) -> str:
    return {
        HopState.SEEN: palette.good,
        HopState.MISSING: palette.bad,
        HopState.UNOBSERVED: palette.warn,
    }.get(hop.state, palette.muted)


def trace_text(result: TraceResult, palette: Palette, width: int = 80) -> Text:
    """The trace as lines: the points in path order (the other ECMP branch left out), the
    lost point marked, its cause and evidence right under it. Narrower than `WIDE`, what was
    seen goes on the lines under the point. Pure: tested without a UI."""
    c = result.correlation
    lost = c.lost_at
    lines: list[Text] = dns_text(result, palette) + service_text(result, palette)
    cause_shown = False
    for direction in dict.fromkeys(h.point.direction for h in result.hops):
        hops = [
            h for h in result.hops
            if h.point.direction == direction and h.state is not HopState.NOT_TAKEN
        ]  # fmt: skip
        if all(h.state is HopState.NOT_REACHED for h in hops):
            lines.append(Text(f"{direction}: never sent (the request did not arrive)",
                              style=palette.muted))  # fmt: skip
            continue
        lines.append(Text(direction, style="bold underline"))
        for hop in hops:
            p = hop.point
            here = lost is not None and p.step == lost.step and p.direction == lost.direction
            style = palette.bad if here else _style(hop, palette)
            head = Text(f"{'▶' if here else MARKS[hop.state]} ", style=style)
            head.append(f"{p.host:<15} {p.interface:<16}", style="bold" if here else "")
            head.append(f"{hop.offset_text():>11}", style=palette.muted)
            if p.branch:
                head.append(f" via {p.branch}", style=palette.cross_rack)
            s = hop.sighting
            detail = [s.inner_text(), s.outer_text()] if s is not None else [hop.what()]
            detail_style = palette.muted if hop.seen else style
            if width >= WIDE:
                head.append("  " + "  ".join(d for d in detail if d), style=detail_style)
                lines.append(head)
            else:
                lines.append(head)
                lines.extend(Text(f"    {d}", style=detail_style) for d in detail if d)
            if here and not cause_shown:
                cause_shown = True
                lines.extend(_cause_lines(result, palette))
    stopped = result.stopped_at is not None
    if not cause_shown and not stopped and (result.cause or result.evidence):
        lines.extend(_cause_lines(result, palette))
    for note in result.notes:
        lines.append(Text(f"note: {note}", style=palette.warn))
    return Text("\n").join(lines)


STEP_MARKS = {
    StepState.OK: "●",
    StepState.FAIL: "✗",
    StepState.UNOBSERVED: "?",
    StepState.SKIPPED: "·",
}


def step_text(step: ServiceStep, palette: Palette) -> list[Text]:
    """One step (dns, or one to a Service) as a line, and what shows it under it."""
    style = {StepState.OK: palette.good, StepState.FAIL: palette.bad,
             StepState.UNOBSERVED: palette.warn}.get(step.state, palette.muted)  # fmt: skip
    line = Text(f"{STEP_MARKS[step.state]} {step.step:<16} ", style=style)
    line.append(step.text, style=style if step.state is StepState.FAIL else "")
    return [line, *(Text(f"    {e}", style=palette.muted) for e in step.evidence)]


def dns_text(result: TraceResult, palette: Palette) -> list[Text]:
    """The name's lookup from the source pod (when --to was a DNS name), first of all."""
    dns = result.dns
    if dns is None:
        return []
    lines = [Text(f"resolving {dns.name} through the cluster DNS", style="bold underline")]
    lines += step_text(dns.step, palette)
    if result.stopped_at == "DNS":
        lines.extend(_cause_lines(result, palette))
    return lines


def service_text(result: TraceResult, palette: Palette) -> list[Text]:
    """The steps to a Service (when the trace went to one), above the pod path."""
    svc = result.service
    if svc is None:
        return []
    lines = [Text(f"through {svc.label}", style="bold underline")]
    for step in svc.steps:
        lines += step_text(step, palette)
    if svc.endpoint:
        lines.append(Text(f"then the way to endpoint {svc.endpoint} ({svc.endpoint_ip})",
                          style=palette.muted))  # fmt: skip
    elif result.cause:
        lines.extend(_cause_lines(result, palette))
    return lines


def _cause_lines(result: TraceResult, palette: Palette) -> list[Text]:
    out = []
    if result.cause:
        out.append(Text(f"  ⮑ {result.cause}", style=palette.bad))
    for line in result.evidence:
        out.append(Text(f"     {line}", style=palette.muted if result.cause else palette.good))
    return out


def trace_title(result: TraceResult) -> str:
    c = result.correlation
    who = f"{result.source.split('/')[-1]} → {result.target.split('/')[-1]}"
    if result.dns is not None:
        who = f"{result.source.split('/')[-1]} → {result.dns.label}"
        if result.stopped_at == "DNS":
            state = str(result.verdict).upper()
            return f"Trace {who}: {state} at DNS" + (f": {result.cause}" if result.cause else "")
    svc = result.service
    if svc is not None:
        who = f"{who if result.dns is not None else result.source.split('/')[-1]} → {svc.label}"
        if svc.endpoint is None:
            state = "OK" if result.verdict is Verdict.PASS else str(result.verdict).upper()
            return f"Trace {who}: {state}" + (f": {result.cause}" if result.cause else "")
        who += f" → {svc.endpoint.split('/')[-1]}"
    if result.delivered:
        via = f" through {c.branch}" if c.branch else ""
        unseen = f"; NOT OBSERVED at {', '.join(result.unobserved)}" if result.unobserved else ""
        return f"Trace {who}: delivered{via}, reply back ({result.ping_text}){unseen}"
    if result.verdict is Verdict.NOT_OBSERVED:
        return f"Trace {who}: NOT OBSERVED: no probe went out ({result.ping_text})"
    lost = c.lost_at
    where = f": lost at {lost.host} {lost.interface} ({lost.direction})" if lost else ""
    return f"Trace {who}: NOT delivered{where}"


class TracePickScreen(ModalScreen[tuple[str, str] | None]):
    """Source and destination: enter accepts, esc cancels."""

    DEFAULT_CSS = """
    TracePickScreen { align: center middle; }
    TracePickScreen > Vertical {
        width: 72; max-width: 95%; height: auto; border: thick $primary;
        background: $surface; padding: 0 1;
    }
    TracePickScreen #pick-error { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="trace.pick.cancel")]

    def __init__(self, source: str, target: str, what: str = "Trace") -> None:
        super().__init__(id="trace-pick")
        self.source = source
        self.target = target
        self.what = what  # the path MTU action asks for its pair here too, pods only

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{self.what} from pod ([NS/]POD):")
            yield Input(value=self.source, id="trace-from")
            yield Label(
                "to pod, address, Service or DNS name ([NS/]POD, IP,\n"
                "[svc/][NS/]SERVICE[:PORT], dns/NAME[:PORT] or a name like svc.ns):"
                if self.what == "Trace"
                else "to pod ([NS/]POD):"
            )
            yield Input(value=self.target, id="trace-to")
            yield Static("", id="pick-error")

    def on_mount(self) -> None:
        self.query_one("#trace-to", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        source = self.query_one("#trace-from", Input).value.strip()
        target = self.query_one("#trace-to", Input).value.strip()
        if not source or not target:
            self.query_one("#pick-error", Static).update("give both a source and a destination")
            return
        self.dismiss((source, target))

    def action_cancel(self) -> None:
        self.dismiss(None)


class TraceScreen(Screen[None]):
    DEFAULT_CSS = """
    TraceScreen #trace-title { text-style: bold; background: $panel; padding: 0 1; }
    TraceScreen #trace-cause { height: auto; padding: 0 1; }
    TraceScreen VerticalScroll { padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q", "close", "Close", id="trace.close")]

    def __init__(self, title: str, palette: Palette) -> None:
        super().__init__(id="trace")
        self.trace_title = title
        self.palette = palette
        self.result: TraceResult | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.trace_title, id="trace-title")
        yield Static("", id="trace-cause")
        with VerticalScroll():
            yield Static(Text(""), id="trace-body")
        yield Footer()

    def progress(self, message: str) -> None:
        if self.result is None:
            self.query_one("#trace-body", Static).update(Text(message))

    def show(self, result: TraceResult) -> None:
        self.result = result
        title = Text(trace_title(result), style=verdict_style(result.verdict, self.palette))
        self.query_one("#trace-title", Static).update(title)
        if result.cause:
            self.query_one("#trace-cause", Static).update(
                Text(f"✗ {result.cause}", style=self.palette.bad)
            )
        self._draw()
        lines = trace_text(result, self.palette, self.size.width).plain.split("\n")
        lost = next((i for i, line in enumerate(lines) if line.startswith("▶")), None)
        if lost is not None:  # the point where it went dark, in view with what precedes it
            self.call_after_refresh(
                self.query_one(VerticalScroll).scroll_to, y=max(0, lost - 4), animate=False
            )

    def fail(self, message: str) -> None:
        self.query_one("#trace-title", Static).update(Text(message, style=self.palette.bad))

    def _draw(self) -> None:
        if self.result is not None:
            body = trace_text(self.result, self.palette, self.size.width)
            self.query_one("#trace-body", Static).update(body)

    def on_resize(self) -> None:
        self._draw()

    def action_close(self) -> None:
        self.dismiss(None)
