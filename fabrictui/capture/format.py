"""`VxlanFrame` -> JSON-ready dict or one text line, as `fabrictui capture` and the
overlay pane print them. Pure.

Times are printed in UTC (`HH:MM:SS.ffffff`) unless `local_time=True`, so the
same capture prints the same way on every machine and in tests.
"""

from __future__ import annotations

import time as _time
from collections.abc import Mapping
from typing import Any

from fabrictui.model import VxlanFrame, is_native

_ICMP_NAMES = {
    0: "echo reply",
    3: "unreachable",
    4: "source quench",
    5: "redirect",
    8: "echo request",
    11: "time exceeded",
    12: "parameter problem",
    13: "time stamp request",
    14: "time stamp reply",
}
_ICMP6_NAMES = {
    1: "unreachable",
    2: "packet too big",
    3: "time exceeded",
    128: "echo request",
    129: "echo reply",
    133: "router solicitation",
    134: "router advertisement",
    135: "neighbor solicitation",
    136: "neighbor advertisement",
}

#: Every field of `VxlanFrame`, in model order: the keys of `frame_to_json`.
JSON_KEYS: tuple[str, ...] = VxlanFrame._fields


def frame_to_json(frame: VxlanFrame) -> dict[str, Any]:
    """Every field of the frame under its model name (`time` in epoch seconds)."""
    return dict(zip(JSON_KEYS, frame, strict=True))


def format_time(t: float, local_time: bool = False) -> str:
    """`HH:MM:SS.ffffff` like tcpdump, in UTC unless `local_time`."""
    micros = round(t * 1_000_000)
    sec, frac = divmod(micros, 1_000_000)
    if local_time:
        tm = _time.localtime(sec)
        return f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}.{frac:06d}"
    day_sec = sec % 86400
    return f"{day_sec // 3600:02d}:{day_sec // 60 % 60:02d}:{day_sec % 60:02d}.{frac:06d}"


def shorten_name(name: str, limit: int = 16) -> str:
    """`nginx-…-z9pl9` for `nginx-deployment-55457b9d87-z9pl9`: first and last dash
    parts of a long name, which is what tells pods of one deployment apart."""
    if len(name) <= limit or "-" not in name:
        return name
    first, _, rest = name.partition("-")
    last = rest.rsplit("-", 1)[-1]
    return f"{first}-…-{last}"


def describe_inner(frame: VxlanFrame) -> str:
    """The inner packet's protocol summary: `ICMP echo request id 592 seq 1`,
    `TCP 51234 > 80`, `UDP 53 > 40000`, `ARP`, ... plus any decoding note (a native
    frame's note describes the whole packet, not a decoding problem: left out)."""
    return _describe_inner(frame, None)


def _describe_inner(frame: VxlanFrame, id_seq: str | None) -> str:
    """`id_seq`, when given, stands in for ` id N seq M` (see `line_template`)."""
    proto = frame.proto
    if proto in ("ICMP", "ICMP6"):
        names = _ICMP_NAMES if proto == "ICMP" else _ICMP6_NAMES
        if frame.icmp_type is None:
            text = proto
        else:
            text = f"{proto} {names.get(frame.icmp_type, f'type {frame.icmp_type}')}"
        if frame.icmp_id is not None:
            text += id_seq if id_seq is not None else f" id {frame.icmp_id} seq {frame.icmp_seq}"
    elif proto in ("TCP", "UDP") and frame.inner_sport is not None:
        text = f"{proto} {frame.inner_sport} > {frame.inner_dport}"
    elif proto.isdigit():
        text = f"ip-proto-{proto}"
    else:
        text = proto or "?"
    if frame.note and frame.is_vxlan:
        text += f" [{frame.note}]"
    return text


def _endpoint(ip: str, names: Mapping[str, str] | None, limit: int) -> str:
    if names:
        name = names.get(ip)
        if name:
            return f"{shorten_name(name, limit)}({ip})"
    return ip


def native_where(frame: VxlanFrame) -> str:
    """What stands where a VXLAN line has its outer frame: `native on NODE` (the capture
    point), or `native` when it is not known."""
    return f"native on {frame.node}" if frame.node else "native"


def _pair(frame: VxlanFrame, names: Mapping[str, str] | None, limit: int) -> str:
    """The inner packet's `source > destination`."""
    src, dst = frame.inner_src, frame.inner_dst
    return f"{_endpoint(src, names, limit)} > {_endpoint(dst, names, limit)}"


def frame_to_line(
    frame: VxlanFrame,
    names: Mapping[str, str] | None = None,
    *,
    local_time: bool = False,
    name_limit: int = 16,
) -> str:
    """One line as the overlay pane shows it, e.g.

    `08:57:12.688881 k8s-node-l2-1(10.0.102.101) > k8s-node-l1-2(10.0.101.102) vni 4096
    nginx-…-z9pl9(10.68.86.129) > nginx-…-nnzz5(10.65.76.193) ICMP echo request id 592 seq 1`
    (one line). `names` maps IP -> node or pod name; without it bare IPs show.
    A native frame (plain IP pod traffic, BGP mode) shows where it was captured, when
    known, then the packet as the inner part of a VXLAN line shows it:
    `08:57:12.688881 native on k8s-node-l2-1  nginx-…-z9pl9(10.68.86.129) >
    nginx-…-nnzz5(10.65.76.193) ICMP echo request id 592 seq 1`.
    """
    return f"{format_time(frame.time, local_time)} {_line_body(frame, names, name_limit, None)}"


#: Stands in for ` id N seq M` while a template is built; no frame field holds a NUL.
_ID_SEQ_MARK = "\0id-seq\0"


def line_template(
    frame: VxlanFrame, names: Mapping[str, str] | None = None, *, name_limit: int = 16
) -> str:
    """`frame_to_line` after the time stamp and its space, as a %-template: ` id %d seq %d`
    where the ICMP id and sequence number go (when the frame has them), every other `%`
    doubled. All frames of one flow share it, so a printer formats the template with
    (id, seq) instead of building the whole line for every frame."""
    body = _line_body(frame, names, name_limit, _ID_SEQ_MARK)
    return body.replace("%", "%%").replace(_ID_SEQ_MARK, " id %d seq %d")


def _line_body(
    frame: VxlanFrame, names: Mapping[str, str] | None, name_limit: int, id_seq: str | None
) -> str:
    if not frame.is_vxlan:
        if is_native(frame):
            pair = _pair(frame, names, name_limit)
            return f"{native_where(frame)}  {pair} {_describe_inner(frame, id_seq)}"
        return f"not VXLAN: {frame.note or 'unknown frame'}"
    outer = (
        f"{_endpoint(frame.outer_src, names, name_limit)} > "
        f"{_endpoint(frame.outer_dst, names, name_limit)} vni {frame.vni}"
    )
    if frame.flags != 0x08:
        outer += f" flags 0x{frame.flags or 0:02x}"
    if frame.inner_src:
        inner = f"{_pair(frame, names, name_limit)} {_describe_inner(frame, id_seq)}"
    else:
        inner = f"{frame.inner_src_mac or '?'} > {frame.inner_dst_mac or '?'} " + _describe_inner(
            frame, id_seq
        )
    return f"{outer}  {inner}"
