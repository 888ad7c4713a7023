"""What a pod's resolver says: `getent hosts NAME` (libc, in nearly every image), `dig`
(where an image has it) and the pod's /etc/resolv.conf (docs/dns.md).

getent prints `ADDRESS<blanks>NAME [ALIAS...]` per address and nothing when the name does
not resolve (exit 2: it does not say whether the server said NXDOMAIN, SERVFAIL or nothing);
dig prints the answer's header (`status: NXDOMAIN`), its sections and `;; Query time`, or
`;; connection timed out; no servers could be reached`."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from fabrictui.parsers import ParseError

MAX_LINES = 10_000  # a resolver's answer is a few lines; more is not one


def _address(text: str, what: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ParseError(f"{what}: {text[:60]!r} is not an IP address") from None


def _lines(text: str, what: str) -> list[str]:
    if "\x00" in text:
        raise ParseError(f"{what}: binary data, not text")
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ParseError(f"{what}: {len(lines)} lines, more than a resolver prints")
    return lines


@dataclass(frozen=True, slots=True)
class HostsEntry:
    address: str
    name: str
    aliases: tuple[str, ...] = ()


def parse_getent_hosts(text: str) -> tuple[HostsEntry, ...]:
    """The entries of `getent hosts NAME`'s output (none: the name did not resolve)."""
    found = []
    for number, line in enumerate(_lines(text, "getent hosts"), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2:
            raise ParseError(f"getent hosts: line {number} has an address and no name")
        found.append(HostsEntry(_address(fields[0], f"getent hosts line {number}"),
                                fields[1], tuple(fields[2:])))  # fmt: skip
    return tuple(found)


HEADER = re.compile(r";; ->>HEADER<<- opcode: (\w+), status: (\w+), id: (\d+)")
QUERY_TIME = re.compile(r";; Query time: (\d{1,9}) msec")
SERVER = re.compile(r";; SERVER: ([0-9A-Fa-f.:]+)#(\d{1,5})")
TIMED_OUT = ("connection timed out", "communications error")
RECORD_TYPES = ("A", "AAAA")


@dataclass(frozen=True, slots=True)
class DigAnswer:
    status: str | None  # NOERROR, NXDOMAIN, SERVFAIL, REFUSED ...; None: no answer came
    addresses: tuple[str, ...] = ()
    name: str | None = None  # the name the answer is for (after the search list)
    query_ms: int | None = None
    server: str | None = None

    @property
    def timed_out(self) -> bool:
        return self.status is None


def parse_dig(text: str) -> DigAnswer:
    """dig's answer: its status, the A/AAAA addresses of the answer section, the query time
    and the server that answered; a timeout is an answer without a status."""
    lines = _lines(text, "dig")
    header = next((m for m in map(HEADER.search, lines) if m), None)
    if header is None:
        if any(t in line for line in lines for t in TIMED_OUT):
            return DigAnswer(None)
        raise ParseError("dig: no answer header and no timeout in its output")
    addresses: list[str] = []
    name = None
    in_answer = False
    for line in lines:
        if line.startswith(";; ANSWER SECTION"):
            in_answer = True
            continue
        if in_answer and (not line.strip() or line.startswith(";")):
            in_answer = False
            continue
        if in_answer:
            fields = line.split()
            if len(fields) < 5:
                raise ParseError(f"dig: answer line {line[:60]!r} has fewer than 5 fields")
            if fields[3] in RECORD_TYPES:
                addresses.append(_address(fields[4], "dig answer"))
                name = name or fields[0].rstrip(".")
    took = next((m for m in map(QUERY_TIME.search, lines) if m), None)
    server = next((m for m in map(SERVER.search, lines) if m), None)
    return DigAnswer(
        header.group(2),
        tuple(addresses),
        name,
        int(took.group(1)) if took else None,
        _address(server.group(1), "dig server") if server else None,
    )


@dataclass(frozen=True, slots=True)
class ResolvConf:
    nameservers: tuple[str, ...]
    search: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    def option(self, name: str) -> str | None:
        """`ndots:5` -> "5" for "ndots"; "" for a flag; None when absent."""
        for option in reversed(self.options):  # the last one counts, as in libc
            key, _, value = option.partition(":")
            if key == name:
                return value
        return None

    def candidates(self, name: str) -> list[str]:
        """The names libc's resolver asks for `name`, in order: as it is first when it has
        at least `ndots` dots (1 unless set), then with each search domain; a name ending
        in a dot only as it is."""
        if name.endswith("."):
            return [name.rstrip(".")]
        try:
            ndots = int(self.option("ndots") or 1)
        except ValueError:
            ndots = 1
        searched = [f"{name}.{domain.rstrip('.')}" for domain in self.search]
        if name.count(".") >= ndots:
            return [name, *searched]
        return [*searched, name]


def parse_resolv_conf(text: str) -> ResolvConf:
    """/etc/resolv.conf as libc reads it: `nameserver`, `search` (the last one counts; a
    `domain` line is a one-element search), `options`; comments and other lines ignored."""
    nameservers: list[str] = []
    search: tuple[str, ...] = ()
    options: list[str] = []
    for number, line in enumerate(_lines(text, "resolv.conf"), 1):
        fields = line.split()
        if not fields or fields[0][0] in "#;":
            continue
        key, values = fields[0], fields[1:]
        if key in ("nameserver", "search", "domain", "options") and not values:
            raise ParseError(f"resolv.conf: line {number}: {key} without a value")
        if key == "nameserver":
            nameservers.append(_address(values[0], f"resolv.conf line {number}"))
        elif key in ("search", "domain"):
            search = tuple(values)
        elif key == "options":
            options += values
    return ResolvConf(tuple(nameservers), search, tuple(options))
