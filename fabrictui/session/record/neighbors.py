"""A session's neighbour detail in a recording (issue 26): `bgpdetail` events, [switch,
peer, the BgpNeighbor as plain data], written beside `bgpreset` when the fabric poll reads
why a session went down (session/bgp_resets.py), so a replay shows the timers, counters and
NOTIFICATION of that moment.

Plain data (dicts, lists, numbers, text), not a tagged class: `decode` refuses a type it
does not know, and a fabrictui older than this event would then stop reading a recording
at the first one; plain data it decodes and skips (its replay ignores kinds it does not
know). A field added to BgpNeighbor later is None in an older recording's."""

from __future__ import annotations

import dataclasses
from typing import Any

from fabrictui.parsers.bgp.neighbor import BfdState, BgpNeighbor, FamilyPrefixes, Notification

KIND = "bgpdetail"


def neighbor_record(neighbor: BgpNeighbor) -> dict[str, Any]:
    return dataclasses.asdict(neighbor)


def _build(cls: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: {type(data).__name__}, not a record")
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{name: data.get(name) for name in names})


def neighbor_from_record(data: Any) -> BgpNeighbor:
    """The BgpNeighbor `neighbor_record` wrote; ValueError when it is not one."""
    if not isinstance(data, dict):
        raise ValueError("a neighbour detail that is not a record")
    fields = dict(data)
    note = fields.get("notification")
    fields["notification"] = None if note is None else _build(Notification, note)
    bfd = fields.get("bfd")
    fields["bfd"] = None if bfd is None else _build(BfdState, bfd)
    fields["families"] = tuple(_build(FamilyPrefixes, f) for f in fields.get("families") or ())
    fields["messages"] = tuple(tuple(m) for m in fields.get("messages") or ())
    fields["admin_shutdown"] = bool(fields.get("admin_shutdown"))
    fields["state"] = str(fields.get("state") or "?")
    fields["peer"] = str(fields.get("peer") or "?")
    return _build(BgpNeighbor, fields)
