"""The search for the largest "don't fragment" ping that crosses: the full size first (the
pod MTU's), then, when it dies, a small one (a path that carries nothing is not an MTU
fault), then bisection between the two. An MTU someone reported (a router's frag-needed, or
the kernel's path MTU learnt from one) is tried first: two probes confirm it instead of ten.
Pure: the probing is the caller's function."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fabrictui.actions.mtu.result import ICMP_IP_HEADERS, SizeProbe

SMALL = 56  # ping's default payload: what the ping checks already send
MAX_PROBES = 20  # bisecting 0..65507 takes 16; a bound whatever answers come

ProbeOf = Callable[[int], Awaitable[SizeProbe]]


@dataclass(frozen=True, slots=True)
class Outcome:
    largest_ok: int | None
    smallest_dead: int | None
    probes: tuple[SizeProbe, ...]
    not_probed: str | None = None
    reported_mtu: int | None = None
    reported_by: str | None = None


async def search(probe: ProbeOf, full: int, why_unprobed: Callable[[], str]) -> Outcome:
    """Largest payload up to `full` whose DF ping crosses, and the smallest that does not.
    `why_unprobed`: what to say when no probe could go out."""
    probes: list[SizeProbe] = []
    reported: tuple[int, str] | None = None

    async def ask(size: int) -> SizeProbe:
        nonlocal reported
        answer = await probe(size)
        probes.append(answer)
        if answer.too_big_mtu is not None and (reported is None or answer.too_big_from != "local"):
            reported = (answer.too_big_mtu, answer.too_big_from or "local")
        return answer

    def outcome(largest: int | None, dead: int | None, unprobed: str | None = None) -> Outcome:
        mtu, by = reported if reported is not None else (None, None)
        return Outcome(largest, dead, tuple(probes), unprobed, mtu, by)

    first = await ask(full)
    if not first.probed:
        return outcome(None, None, why_unprobed())
    if first.crossed:
        return outcome(full, None)
    small = await ask(min(SMALL, full))
    if not small.probed:
        return outcome(None, full, why_unprobed())
    if not small.crossed:
        return outcome(None, small.size)  # nothing crosses: not a question of size
    low, high = small.size, full
    tried: set[int] = set()  # reported MTUs already tried: each is worth one look
    while high - low > 1 and len(probes) < MAX_PROBES:
        hint = None if reported is None else reported[0] - ICMP_IP_HEADERS
        use = hint is not None and low < hint < high and hint not in tried
        size = hint if use and hint is not None else (low + high) // 2
        tried.add(size)
        answer = await ask(size)
        if not answer.probed:
            break
        if answer.crossed:
            low = size
        else:
            high = size
        if use and answer.crossed and size + 1 < high:  # one more just above settles it
            above = await ask(size + 1)
            if not above.probed:
                break
            low, high = (size + 1, high) if above.crossed else (low, size + 1)
    return outcome(low, high)
