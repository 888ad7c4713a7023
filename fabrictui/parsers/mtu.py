"""What a path MTU probe prints -> the size that failed and the MTU someone reported.

A "don't fragment" ping (`ping -M do -s SIZE`, iputils) that is too big for some link is
not an error of the probe: it is the answer. Its words, on stdout and stderr together:

    PING 10.244.2.5 (10.244.2.5) 1450(1478) bytes of data.
    From 10.0.1.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)     (a router said so)
    ping: local error: message too long, mtu=1400                    (the sending kernel:
                                                                      its interface, or a
                                                                      path MTU it learnt)
    ping: sendmsg: Message too long          (iputils without the MTU; busybox: sendto)

`parse_too_big` gives a `TooBig` (None when the probe says nothing of size). `parse_link_mtus`
reads `ip -o link` (one line per interface, `mtu N` among its words) into name -> MTU.
Anything that is not such text is a ParseError.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from fabrictui.model import PingResult
from fabrictui.parsers import ParseError

__all__ = [
    "MAX_MTU", "MIN_MTU", "TooBig", "note_too_big", "parse_link_mtus", "parse_too_big",
]  # fmt: skip

MIN_MTU = 68  # IPv4's smallest (RFC 791)
MAX_MTU = 65535  # an IPv4 packet's largest: more is not a path MTU anyone reports
MAX_LINK_MTU = 1 << 20  # an interface may say more (lo: 65536); beyond this it is not text

_HEADER = re.compile(
    r"PING \S+ ?\(\S+?\)(?::? (?P<size>\d{1,6})(?:\((?P<packet>\d{1,6})\))? (?:data )?bytes)?",
    re.ASCII,
)
_FRAG_NEEDED = re.compile(
    r"From (?P<src>[^\s:]+?):? (?:icmp_seq|icmp_req|seq)=\d{1,18} "
    r"Frag needed and DF set \(mtu = (?P<mtu>\S+?)\)",
    re.ASCII,
)
_LOCAL = re.compile(r"local error: [Mm]essage too long, mtu ?= ?(?P<mtu>\S+)", re.ASCII)
_SEND = re.compile(r"(?:sendmsg|sendto|send): Message too long", re.ASCII)
_STATS = re.compile(r"\d{1,18} packets transmitted", re.ASCII)
_LINK = re.compile(r"^\s*\d{1,9}: (?P<name>[^\s:@]+)(?:@[^\s:]*)?: <[^>]*>(?P<rest>.*)$", re.ASCII)
_LINK_MTU = re.compile(r"\bmtu (?P<mtu>\S+)", re.ASCII)


@dataclass(frozen=True, slots=True)
class TooBig:
    """A probe refused for its size."""

    size: int | None  # the payload asked for (`-s`), from the PING line
    packet: int | None  # the IP packet it made (payload + 28)
    mtu: int | None  # the MTU reported, when the words carry one
    reporter: str  # "local" (the sending kernel) or the address of the router that said so

    @property
    def by_router(self) -> bool:
        return self.reporter != "local"


def _mtu(value: str, lineno: int, most: int = MAX_MTU) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 8:
        raise ParseError(f"line {lineno}: MTU {value[:20]!r} is not a number")
    mtu = int(value)
    if not MIN_MTU <= mtu <= most:
        raise ParseError(f"line {lineno}: MTU {mtu} is outside {MIN_MTU}..{most}")
    return mtu


def parse_too_big(text: str) -> TooBig | None:
    """The first "too big" answer in a ping's output (see the module docstring); None when
    the ping says nothing of size; ParseError when the text is not a ping's at all."""
    if not isinstance(text, str):
        raise ParseError(f"ping output must be text, not {type(text).__name__}")
    size = packet = None
    seen_ping = False
    found: TooBig | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = _HEADER.search(line)
        if header and not seen_ping:
            seen_ping = True
            if header.group("size"):
                size = int(header.group("size"))
            if header.group("packet"):
                packet = int(header.group("packet"))
            continue
        if _STATS.search(line):
            seen_ping = True
        if found is not None:
            continue
        frag = _FRAG_NEEDED.search(line)
        if frag:
            found = TooBig(size, packet, _mtu(frag.group("mtu"), lineno), frag.group("src"))
            continue
        local = _LOCAL.search(line)
        if local:
            found = TooBig(size, packet, _mtu(local.group("mtu").rstrip(","), lineno), "local")
            continue
        if _SEND.search(line):
            found = TooBig(size, packet, None, "local")
    if found is None and not seen_ping:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        raise ParseError(f"not ping output: no PING line, statistics or size error {first[:60]!r}")
    if found is not None and (found.size, found.packet) != (size, packet):
        found = TooBig(size, packet, found.mtu, found.reporter)  # the PING line came later
    return found


def parse_link_mtus(text: str) -> dict[str, int]:
    """`ip -o link` -> interface name -> MTU. Continuation lines (`link/ether ...` of the
    multi-line form) are skipped; an interface line without a readable MTU is a ParseError."""
    if not isinstance(text, str):
        raise ParseError(f"ip link output must be text, not {type(text).__name__}")
    mtus: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        link = _LINK.match(raw)
        if link is None:
            continue
        found = _LINK_MTU.search(link.group("rest"))
        if found is None:
            raise ParseError(f"line {lineno}: interface {link.group('name')} without an MTU")
        mtus[link.group("name")] = _mtu(found.group("mtu"), lineno, MAX_LINK_MTU)
    if not mtus:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        raise ParseError(f"not `ip link` output: no interface line ({first[:60]!r})")
    return mtus


def note_too_big(result: PingResult, text: str) -> PingResult:
    """`result` with the "too big" answer `text` carries, if any (its MTU and reporter)."""
    try:
        found = parse_too_big(text)
    except ParseError:
        return result
    if found is None:
        return result
    return dataclasses.replace(result, too_big_mtu=found.mtu, too_big_from=found.reporter)
