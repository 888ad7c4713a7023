"""`ping` output (iputils and busybox) -> `PingStats`.

Reads what `ping -c N target` prints, on stdout or stdout+stderr together:
replies, `From ... Destination Host Unreachable` lines, the statistics block
(`N packets transmitted, M received, +E errors, +D duplicates, P% packet
loss`) and the rtt line (`rtt min/avg/max/mdev` from iputils, `round-trip
min/avg/max` from busybox; absent at 100% loss).

Output cut short before the statistics block (the seed's interrupted ping)
still gives a result: transmitted is the highest sequence number seen,
received the number of distinct replies, and the rtt figures come from the
replies. A ping that failed before sending (`ping: unknown host`, `ping: bad
address`) gives a result with `error` set and nothing transmitted. Text with
none of these is a ParseError.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from fabrictui.model import PingResult
from fabrictui.parsers import ParseError

__all__ = ["PingReply", "PingStats", "parse_ping_output"]

_NUM = r"\d{1,18}"
_FLOAT = r"\d{1,12}(?:\.\d{1,9})?"
_HEADER = re.compile(r"PING (\S+?) ?\((\S+?)\)[: ]", re.ASCII)
_REPLY = re.compile(
    rf"(?P<size>{_NUM}) bytes from (?P<src>\S+?)(?: \((?P<addr>[^()\s]+)\))?:?\s+"
    rf"(?:icmp_seq|icmp_req|seq)=(?P<seq>{_NUM})\s+ttl=(?P<ttl>{_NUM})"
    rf"(?:\s+time[=<](?P<time>{_FLOAT})\s*ms)?(?P<dup>\s+\(DUP!\))?",
    re.ASCII,
)
_FROM_ERROR = re.compile(
    rf"From (?P<src>\S+?):? (?:icmp_seq|icmp_req|seq)=(?P<seq>{_NUM}) (?P<msg>.+)", re.ASCII
)
_TRANSMITTED = re.compile(
    rf"(?P<tx>{_NUM}) packets transmitted, (?P<rx>{_NUM}) (?:packets )?received"
    rf"(?:, \+(?P<dup>{_NUM}) duplicates)?(?:, \+(?P<corrupt>{_NUM}) corrupted)?"
    rf"(?:, \+(?P<err>{_NUM}) errors)?(?:, \+(?P<dup2>{_NUM}) duplicates)?"
    rf", (?P<loss>{_FLOAT})% packet loss(?:, time (?P<time>{_NUM})ms)?",
    re.ASCII,
)
_RTT = re.compile(
    rf"(?:rtt|round-trip) min/avg/max(?:/(?:mdev|stddev))? = "
    rf"(?P<min>{_FLOAT})/(?P<avg>{_FLOAT})/(?P<max>{_FLOAT})(?:/(?P<mdev>{_FLOAT}))? ms",
    re.ASCII,
)
_FAILURE = re.compile(r"(?:ping|PING): (?P<msg>.{1,200})")


@dataclass(frozen=True, slots=True)
class PingReply:
    seq: int
    ttl: int
    time_ms: float | None
    source: str
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class PingStats:
    target: str | None  # the address ping resolved, from the PING line
    transmitted: int
    received: int
    rtt_min_ms: float | None
    rtt_avg_ms: float | None
    rtt_max_ms: float | None
    ttl: int | None  # ttl of the first reply
    replies: tuple[PingReply, ...] = ()
    errors: int = 0  # iputils "+N errors" (unreachable, send failures)
    duplicates: int = 0
    unreachable: tuple[str, ...] = ()  # "From 10.0.102.1 icmp_seq=1 Destination Host Unreachable"
    error: str | None = None  # ping failed before sending anything
    complete: bool = True  # False when the statistics block is missing

    @property
    def loss_pct(self) -> float:
        if self.transmitted == 0:
            return 100.0
        return 100.0 * (self.transmitted - self.received) / self.transmitted

    def as_result(self, source_pod: str, target_ip: str | None = None) -> PingResult:
        """The model's PingResult for a ping run from `source_pod`."""
        return PingResult(
            source_pod=source_pod,
            target_ip=target_ip or self.target or "",
            transmitted=self.transmitted,
            received=self.received,
            rtt_min_ms=self.rtt_min_ms,
            rtt_avg_ms=self.rtt_avg_ms,
            rtt_max_ms=self.rtt_max_ms,
            ttl=self.ttl,
            error=self.error,
        )


def _int(value: str | None) -> int:
    return int(value) if value else 0


def _float(value: str, what: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ParseError(f"{what}: {value!r} is not a finite number")
    return number


def parse_ping_output(text: str) -> PingStats:
    """Parse iputils or busybox ping output (see the module docstring)."""
    if not isinstance(text, str):
        raise ParseError(f"ping output must be text, not {type(text).__name__}")
    target: str | None = None
    replies: list[PingReply] = []
    unreachable: list[str] = []
    unreachable_seqs: list[int] = []
    stats: re.Match[str] | None = None
    rtt: re.Match[str] | None = None
    failure: str | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        header = _HEADER.match(line)
        if header:
            if target is not None:
                raise ParseError(f"line {lineno}: a second PING line (two pings in one output?)")
            target = header.group(2)
            continue
        reply = _REPLY.match(line)
        if reply:
            time = reply.group("time")
            replies.append(
                PingReply(
                    seq=int(reply.group("seq")),
                    ttl=int(reply.group("ttl")),
                    time_ms=_float(time, f"line {lineno}") if time else None,
                    source=reply.group("addr") or reply.group("src"),
                    duplicate=reply.group("dup") is not None,
                )
            )
            continue
        from_error = _FROM_ERROR.match(line)
        if from_error:
            unreachable.append(line[:200])
            unreachable_seqs.append(int(from_error.group("seq")))
            continue
        statistics = _TRANSMITTED.match(line)
        if statistics:
            if stats is not None:
                raise ParseError(f"line {lineno}: a second statistics line")
            stats = statistics
            continue
        rtt_line = _RTT.match(line)
        if rtt_line:
            rtt = rtt_line
            continue
        fail = _FAILURE.match(line)
        if fail and failure is None:
            failure = fail.group("msg").strip()
        # Other lines ("--- x ping statistics ---", "pipe 4", kubectl notes): skip.

    if target is None and stats is None and not replies:
        if failure is not None:
            return PingStats(
                target=None,
                transmitted=0,
                received=0,
                rtt_min_ms=None,
                rtt_avg_ms=None,
                rtt_max_ms=None,
                ttl=None,
                error=failure,
                complete=False,
            )
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        raise ParseError(f"not ping output: no PING line, reply or statistics ({first[:60]!r})")

    first_ttl = replies[0].ttl if replies else None
    distinct = {r.seq for r in replies if not r.duplicate}
    if stats is None:
        # Cut short: estimate from what was printed.
        times = [r.time_ms for r in replies if r.time_ms is not None and not r.duplicate]
        seqs = [r.seq for r in replies] + unreachable_seqs
        # iputils counts from 1, busybox from 0.
        first_seq = 0 if 0 in seqs else 1
        transmitted = max(max(seqs, default=first_seq - 1) - first_seq + 1, len(distinct))
        return PingStats(
            target=target,
            transmitted=transmitted,
            received=len(distinct),
            rtt_min_ms=min(times) if times else None,
            rtt_avg_ms=round(sum(times) / len(times), 3) if times else None,
            rtt_max_ms=max(times) if times else None,
            ttl=first_ttl,
            replies=tuple(replies),
            errors=len(unreachable),
            duplicates=sum(r.duplicate for r in replies),
            unreachable=tuple(unreachable),
            error=failure if not replies else None,
            complete=False,
        )

    transmitted = int(stats.group("tx"))
    received = int(stats.group("rx"))
    if received > transmitted:
        raise ParseError(f"statistics say {received} received of {transmitted} transmitted")
    if len(distinct) > received:
        raise ParseError(f"{len(distinct)} replies listed but statistics say {received} received")
    rtt_min = rtt_avg = rtt_max = None
    if rtt is not None:
        rtt_min = _float(rtt.group("min"), "rtt min")
        rtt_avg = _float(rtt.group("avg"), "rtt avg")
        rtt_max = _float(rtt.group("max"), "rtt max")
        if not rtt_min <= rtt_avg <= rtt_max:
            raise ParseError(f"rtt min/avg/max {rtt_min}/{rtt_avg}/{rtt_max} are out of order")
        if received == 0:
            raise ParseError("an rtt line although nothing was received")
    return PingStats(
        target=target,
        transmitted=transmitted,
        received=received,
        rtt_min_ms=rtt_min,
        rtt_avg_ms=rtt_avg,
        rtt_max_ms=rtt_max,
        ttl=first_ttl,
        replies=tuple(replies),
        errors=_int(stats.group("err")),
        duplicates=_int(stats.group("dup")) + _int(stats.group("dup2")),
        unreachable=tuple(unreachable),
        error=None,
        complete=True,
    )
