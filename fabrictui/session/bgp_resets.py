"""Why a session went down, read when the fabric poll sees it leave Established and kept
in the recording (issue 26): a `bgpreset` event, [switch, peer, state, words], where the
words are the switch's reason and the NOTIFICATION in RFC words
(`actions.drill.session.reset_words`). The report lists it beside the session's change
(`session/record/bgp_changes.py`).

Read inside the fabric poll, before its readings are handed on, so it needs no task of its
own and ends with the poll: at most `MAX_READS` sessions a poll, each within
`READ_SECONDS` (a switch that does not answer costs the poll that much once). A lab that
cannot read a neighbour's detail gets its words recorded instead. The detail read is
recorded whole beside it (`bgpdetail`, session/record/neighbors.py): the replay's session
detail shows it. A session the switch stopped listing (FRR deletes a dynamic neighbour whose
session ended) has its reason read from the switch's FRR log instead (`went_away`).
"""

from __future__ import annotations

import asyncio

from fabrictui.actions.drill.session import logged_words, reset_words
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.model import SwitchReading
from fabrictui.session.record.neighbors import KIND as DETAIL_KIND
from fabrictui.session.record.neighbors import neighbor_record
from fabrictui.session.state import LabState

KIND = "bgpreset"
READ_SECONDS = 3.0
MAX_READS = 8


def _sessions(
    readings: dict[str, SwitchReading], established_only: bool = False
) -> set[tuple[str, str]]:
    """(switch, neighbour) of every session the switches' answers list (Established only)."""
    return {
        (switch, p.neighbor)
        for switch, r in readings.items()
        if r.summary is not None
        for p in r.summary.peers
        if p.established or not established_only
    }


def went_down(
    before: dict[str, SwitchReading], after: dict[str, SwitchReading]
) -> list[tuple[str, str]]:
    """(switch, neighbour) of every session Established before and listed, not
    Established, now (one that is no longer listed has no detail to read)."""
    up_before = _sessions(before, established_only=True)
    return [
        (switch, p.neighbor)
        for switch, r in after.items()
        if r.summary is not None
        for p in r.summary.peers
        if not p.established and (switch, p.neighbor) in up_before
    ]


def went_away(
    before: dict[str, SwitchReading], after: dict[str, SwitchReading]
) -> list[tuple[str, str]]:
    """(switch, neighbour) of every session Established before that the switch, answering
    now, no longer lists: a dynamic neighbour FRR deleted when its session ended (only its
    log says why)."""
    listed = _sessions(after)
    answered = {switch for switch, r in after.items() if r.summary is not None}
    return sorted(
        k for k in _sessions(before, established_only=True) if k[0] in answered and k not in listed
    )


async def record_resets(
    backend: LabBackend,
    state: LabState,
    before: dict[str, SwitchReading],
    after: dict[str, SwitchReading],
) -> None:
    async def one(switch: str, peer: str) -> None:
        try:
            async with asyncio.timeout(READ_SECONDS):
                neighbor = await backend.bgp_neighbor(switch, peer)
        except (BackendError, TimeoutError) as err:
            state.note(KIND, [switch, peer, "", f"not read: {err or 'no answer in time'}"])
            return
        state.note(KIND, [switch, peer, neighbor.state, reset_words(neighbor)])
        # the whole detail read for it, so a replay shows its timers and counters too
        state.note(DETAIL_KIND, [switch, peer, neighbor_record(neighbor)])

    async def gone(switch: str, peer: str) -> None:
        try:
            async with asyncio.timeout(READ_SECONDS):
                logged = await backend.bgp_neighbor_logged(switch, peer)
        except (BackendError, TimeoutError):
            return  # no log to read (a lab without one): the change is recorded without why
        if logged is not None and logged.state == "Down":
            state.note(KIND, [switch, peer, "", logged_words(logged)])

    pairs = went_down(before, after)[:MAX_READS]
    away = went_away(before, after)[: MAX_READS - len(pairs)]
    if pairs or away:
        await asyncio.gather(
            *(one(switch, peer) for switch, peer in pairs),
            *(gone(switch, peer) for switch, peer in away),
        )
