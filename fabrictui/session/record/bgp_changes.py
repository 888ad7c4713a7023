"""BGP session changes in a recording (issue 26): every time a session's state changed, as
the recorded fabric polls saw it, for the report's "session changes around the moment".

Nothing new is written for this: the recording already holds every switch's summary at
every poll (`fabric` events, and the whole fabric in each `snapshot`); a change is a
(switch, neighbour) whose state differs from the poll before, a session that appeared
(a node's dynamic neighbour coming up) or one that is gone (FRR deletes a dynamic neighbour
whose session ended). The time is the poll's, so a change is placed within one poll.

A session that went down carries its reason where the app read it then (`bgpreset` events,
`session/bgp_resets.py`: the switch's reason and the NOTIFICATION in RFC words).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from fabrictui.model import SwitchReading
from fabrictui.session.record.reader import Recording

GONE = "(gone)"  # a neighbour the switch no longer lists
REASON_WITHIN = 30.0  # a reset read this close to a change is that change's
NEW = "(new)"  # a neighbour the switch did not list before


@dataclass(frozen=True, slots=True)
class SessionChange:
    t: float
    switch: str
    neighbor: str
    hostname: str | None
    before: str  # the state at the poll before, NEW when it was not listed
    after: str  # GONE when it is no longer listed
    reason: str = ""  # why it went down, as read then ("" when not read)

    @property
    def went_down(self) -> bool:
        return self.before == "Established" and self.after != "Established"


def _states(fabric: dict[str, SwitchReading]) -> dict[tuple[str, str], tuple[str, str | None]]:
    states: dict[tuple[str, str], tuple[str, str | None]] = {}
    for switch, reading in fabric.items():
        if reading.summary is None:
            continue  # not read this time: nothing is known of its sessions
        for peer in reading.summary.peers:
            states[(switch, peer.neighbor)] = (peer.state, peer.hostname)
    return states


def session_changes(recording: Recording, t0: float, t1: float) -> list[SessionChange]:
    """The changes seen between t0 and t1, in order (the polls before t0 set the start)."""
    known: dict[tuple[str, str], tuple[str, str | None]] = {}
    read: set[str] = set()  # switches whose sessions are known
    changes: list[SessionChange] = []
    resets: list[tuple[float, str, str, str]] = []  # (t, switch, peer, words)
    for event in recording.events:
        if event.t > t1 + REASON_WITHIN:
            break
        if event.kind == "bgpreset" and event.t >= t0 - REASON_WITHIN:
            data = event.data
            if isinstance(data, list) and len(data) == 4:
                resets.append((event.t, str(data[0]), str(data[1]), str(data[3])))
            continue
        if event.t > t1 or event.kind not in ("fabric", "snapshot"):
            continue
        data: Any = event.data
        fabric = data.get("fabric", {}) if event.kind == "snapshot" else data
        if not isinstance(fabric, dict):
            continue
        now = _states(fabric)
        answered = {s for s, r in fabric.items() if r.summary is not None}
        for key, (state, hostname) in now.items():
            before = known.get(key)
            if before is None and key[0] not in read:
                continue  # the first reading of this switch: a start, not a change
            was = before[0] if before else NEW
            if was != state and event.t >= t0:
                changes.append(SessionChange(event.t, key[0], key[1], hostname, was, state))
        for key, (state, hostname) in known.items():
            if key[0] in answered and key not in now and event.t >= t0:
                changes.append(SessionChange(event.t, key[0], key[1], hostname, state, GONE))
        for key in [k for k in known if k[0] in answered and k not in now]:
            del known[key]
        known.update(now)
        read |= answered
    return [_with_reason(c, resets) for c in changes]


def _with_reason(change: SessionChange, resets: list[tuple[float, str, str, str]]) -> SessionChange:
    if not change.went_down:
        return change
    near = [
        (abs(t - change.t), words)
        for t, switch, peer, words in resets
        if (switch, peer) == (change.switch, change.neighbor) and abs(t - change.t) <= REASON_WITHIN
    ]
    if not near:
        return change
    return replace(change, reason=min(near)[1])
