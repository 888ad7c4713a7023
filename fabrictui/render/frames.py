"""The overlay pane's frames, one line each or two on a narrow screen."""

from __future__ import annotations

from collections.abc import Mapping

from fabrictui.model import (
    is_native,
)
from fabrictui.render.common import short_name

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
