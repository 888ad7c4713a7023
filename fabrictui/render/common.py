"""Pure model -> cells/lines functions for the panes and screens.

No widgets and no I/O: each function takes model objects, a `Palette` and a
time, and returns Rich Text, so it is tested without a running app.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rich.text import Text

from fabrictui.intent.bgp_sessions import SessionAnalysis, peer_label
from fabrictui.model import (
    CheckResult,
    Host,
    KubeNode,
    KubePod,
    PingResult,
    SwitchReading,
    VmState,
    is_native,
    pod_suffix,
)
from fabrictui.parsers.calico import CalicoPeer


@dataclass(frozen=True, slots=True)
class Palette:
    """Rich styles for states, taken from the theme's variables."""

    good: str = "green"
    warn: str = "yellow"
    bad: str = "bold red"
    muted: str = "bright_black"
    badge: str = "bold black on yellow"
    cross_rack: str = "magenta"

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> Palette:
        def colour(name: str, fallback: str) -> str:
            value = variables.get(name, fallback)
            # Textual spells terminal colours ansi_red; Rich spells them red
            return value.removeprefix("ansi_").replace("bright_black", "bright_black")

        good = colour("state-good", "green")
        return cls(
            good=good,
            warn=colour("state-warn", "yellow"),
            bad=f"bold {colour('state-bad', 'red')}",
            muted=colour("state-muted", "bright_black"),
            badge=f"bold black on {colour('badge-demo', 'yellow')}",
            cross_rack=colour("cross-rack", "magenta"),
        )


def age(seconds: float) -> str:
    """kubectl's age format: 45s, 12m, 5h, 20h, 3d."""
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


WAITING = "waiting for first answer"


def freshness(
    fetched_at: float | None, now: float, stale_after: float, waiting: str = WAITING
) -> tuple[str, bool]:
    """`updated 3s ago` and whether the data counts as stale (`waiting` before any answer)."""
    if fetched_at is None:
        return waiting, False
    ago = max(0.0, now - fetched_at)
    stale = ago > stale_after
    text = f"updated {age(ago)} ago"
    return (f"STALE: {text}" if stale else text), stale


# -- VMs -----------------------------------------------------------------------------

VM_COLUMNS = ("Name", "Role", "Rack", "State", "Provider", "SSH")


def vm_state_style(state: VmState, palette: Palette) -> str:
    if state is VmState.RUNNING:
        return palette.good
    if state in (VmState.NOT_CREATED, VmState.UNKNOWN):
        return palette.muted
    if state in (VmState.POWEROFF, VmState.SAVED):
        return palette.warn
    return palette.bad


def host_row(host: Host, palette: Palette) -> tuple[Text, ...]:
    return (
        Text(host.name),
        Text(host.role.value),
        Text("-" if host.rack is None else str(host.rack)),
        Text(host.state.value, style=vm_state_style(host.state, palette)),
        Text(host.provider, style=palette.muted),
        Text(host.ssh_endpoint or "-", style=palette.muted),
    )


# -- Fabric --------------------------------------------------------------------------


def fabric_lines(
    readings: Mapping[str, SwitchReading],
    analysis: SessionAnalysis,
    palette: Palette,
    text_filter: str = "",
    announced: Mapping[str, tuple[str, ...]] | None = None,
) -> list[Text]:
    """The fabric pane: a header per switch, a line per peer, flags for
    missing and unexpected sessions. Like `net show bgp sum`, condensed.
    Dynamic neighbours (the nodes in BGP mode) come after the switch's own
    peers, grouped under it, each with the blocks it announces (`announced`:
    host -> its pod blocks)."""
    lines: list[Text] = []
    by_switch: dict[str, list] = {}
    for verdict in analysis.verdicts:
        by_switch.setdefault(verdict.switch, []).append(verdict)
    missing: dict[str, list[str]] = {}
    for switch, peer in analysis.missing:
        missing.setdefault(switch, []).append(peer)
    needle = text_filter.lower()
    for switch in sorted(readings):
        reading = readings[switch]
        block: list[Text] = []
        header = Text()
        header.append(switch, style="bold")
        if reading.summary is not None:
            summary = reading.summary
            verdicts = by_switch.get(switch, [])
            up = sum(1 for v in verdicts if v.peer.established)
            header.append(f"  rid {summary.router_id}", style=palette.muted)
            header.append(f"  AS {summary.local_as if summary.local_as is not None else '?'}")
            count_style = palette.good if up == len(verdicts) and verdicts else palette.bad
            header.append(f"  {up}/{len(verdicts)} Established", style=count_style)
            block.append(header)
            static = [v for v in verdicts if not v.dynamic]
            dynamic = [v for v in verdicts if v.dynamic]
            for v in static:
                block.append(_peer_line(v, palette))
            if dynamic:
                block += _dynamic_lines(dynamic, palette, announced or {})
            for peer in missing.get(switch, []):
                line = Text("  ")
                line.append(f"MISSING  no session to {peer}", style=palette.bad)
                block.append(line)
        else:
            error = (reading.error or "no answer").removeprefix(f"{switch}: ")
            header.append(f"  {error}", style=palette.bad)
            block.append(header)
        if needle and not any(needle in line.plain.lower() for line in block):
            continue
        lines.extend(block)
    return lines


def _dynamic_lines(
    verdicts: list, palette: Palette, announced: Mapping[str, tuple[str, ...]]
) -> list[Text]:
    up = sum(1 for v in verdicts if v.peer.established and not v.peer.policy_blocked)
    title = Text("  dynamic neighbours (listen range): ", style=palette.muted)
    title.append(
        f"{up}/{len(verdicts)} up", style=palette.good if up == len(verdicts) else palette.bad
    )
    lines = [title]
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
        lines.append(line)
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


NODE_COLUMNS = ("Name", "Status", "Roles", "Version", "Internal-IP", "Age", "Calico blocks")
# most telling columns first: at 80 columns the ones on the right scroll out of view
POD_COLUMNS = ("Name", "Status", "IP", "Node", "Ready", "Namespace", "Restarts", "Age")
POD_NAME_WIDTH = 24


def middle_ellipsis(text: str, width: int) -> str:
    """Keep both ends: pod names differ in their last characters."""
    if len(text) <= width:
        return text
    keep_end = max(6, width // 3)
    return text[: width - keep_end - 1] + "…" + text[-keep_end:]


def node_row(node: KubeNode, now: float, palette: Palette) -> tuple[Text, ...]:
    return (
        Text(node.name),
        Text(node.status, style=palette.good if node.ready else palette.bad),
        Text(",".join(node.roles) or "<none>"),
        Text(node.version),
        Text(node.internal_ip),
        Text(age(now - node.created)),
        Text(" ".join(node.calico_blocks) or "-", style=palette.muted),
    )


def pod_status_style(pod: KubePod, palette: Palette) -> str:
    if pod.running:
        return palette.good
    if pod.status in ("Pending", "ContainerCreating", "PodInitializing", "Terminating"):
        return palette.warn
    if pod.status in ("Completed", "Succeeded"):
        return palette.muted
    return palette.bad


def pod_row(pod: KubePod, now: float, palette: Palette) -> tuple[Text, ...]:
    return (
        Text(middle_ellipsis(pod.name, POD_NAME_WIDTH)),
        Text(pod.status, style=pod_status_style(pod, palette)),
        Text(pod.ip or "<none>"),
        Text(pod.node or "<none>"),
        Text(pod.ready_text),
        Text(pod.namespace, style=palette.muted),
        Text(str(pod.restarts), style=palette.warn if pod.restarts else ""),
        Text(age(now - pod.created)),
    )


# -- Ping matrix and checks -------------------------------------------------------------


def ping_cell(result: PingResult | None, cross_rack: bool, palette: Palette) -> Text:
    if result is None:
        return Text("…", style=palette.muted)
    marker = "x" if cross_rack else "="
    if result.error:
        return Text(f"{marker} error", style=palette.bad)
    if result.ok:
        rtt = f"{result.rtt_avg_ms:.2f}ms" if result.rtt_avg_ms is not None else "ok"
        return Text(f"{marker} {rtt}", style=palette.good)
    return Text(f"{marker} {result.loss_pct:.0f}% loss", style=palette.bad)


def check_lines(checks: Iterable[CheckResult], palette: Palette) -> list[Text]:
    lines: list[Text] = []
    for index, check in enumerate(checks, start=1):
        line = Text(f"{index}. ")
        line.append(
            "PASS" if check.passed else "FAIL", style=palette.good if check.passed else palette.bad
        )
        line.append(f"  {check.name}", style="bold")
        lines.append(line)
        if check.cause and not check.passed:
            lines.append(Text(f"     cause: {check.cause}", style=palette.bad))
        lines.extend(Text(f"     {item}", style=palette.muted) for item in check.evidence)
    return lines


# -- Overlay ---------------------------------------------------------------------------


def short_name(name: str) -> str:
    """Pods by their random suffix (`z9pl9`), nodes by their full name."""
    if name.startswith(("k8s-", "spine", "leaf")):
        return name
    return pod_suffix(name)


# one frame per line needs about 175 columns with names; narrower views get two
TWO_LINE_BELOW = 175


def frame_lines(frames, names: Mapping[str, str], width: int) -> list[str]:
    """Overlay lines for a view `width` columns wide."""
    from fabrictui.capture.format import frame_to_line

    if width >= TWO_LINE_BELOW:
        return [frame_to_line(frame, names) for frame in frames]
    lines: list[str] = []
    for frame in frames:
        lines.extend(frame_two_lines(frame, names))
    return lines


def frame_two_lines(frame, names: Mapping[str, str]) -> list[str]:
    """tcpdump's layout for narrow panes: outer frame, then the inner one indented. A
    native frame (plain IP pod traffic, BGP mode) has no outer frame: where it was
    captured, then the packet as a VXLAN frame's inner line shows it."""
    from fabrictui.capture.format import describe_inner, format_time, native_where

    stamp = format_time(frame.time)
    native = is_native(frame)
    if not frame.is_vxlan and not native:
        return [f"{stamp} not VXLAN: {frame.note or 'unknown frame'}"]

    def who(ip: str, with_ip: bool) -> str:
        name = names.get(ip)
        if name is None:
            return ip
        return f"{short_name(name)}({ip})" if with_ip else name

    if native:
        outer = f"{stamp} {native_where(frame)}"
    else:
        nodes = f"{who(frame.outer_src, False)} > {who(frame.outer_dst, False)}"
        outer = f"{stamp} {nodes} vni {frame.vni}"
    # "echo req" keeps a pod-to-pod line inside 76 columns, the 80x24 pane's width
    summary = describe_inner(frame).replace("echo request", "echo req")
    inner = f"  {who(frame.inner_src, True)} > {who(frame.inner_dst, True)} {summary}"
    return [outer, inner]
