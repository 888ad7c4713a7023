"""Parsers for the state a trace reads where the probe went dark, as the tools print it.

`ip route get`, `ip route show match`, `ip neigh show dev vxlan.calico`, `bridge fdb show dev
vxlan.calico`, `ip -br link` (iproute2 6.x, also 4.x/5.x: same columns), and FRR's
`show ip route PREFIX json`. Every parser raises `ParseError` (and nothing else) on text it
cannot read; empty output is valid (an empty table).
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import re
from dataclasses import dataclass

from fabrictui.parsers import ParseError

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
ROUTE_TYPES = ("blackhole", "unreachable", "prohibit", "throw")


@dataclass(frozen=True, slots=True)
class RouteLookup:
    """One `ip route get` answer: a route (dev, via) or the kernel's refusal."""

    dev: str | None = None
    via: str | None = None
    src: str | None = None
    error: str | None = None  # "Invalid argument" (a blackhole), "Network is unreachable", ...

    @property
    def ok(self) -> bool:
        return self.error is None and self.dev is not None

    def describe(self) -> str:
        if self.error:
            return f"RTNETLINK answers: {self.error}"
        via = f" via {self.via}" if self.via else ""
        return f"{via} dev {self.dev}".strip()


def parse_route_get(text: str) -> RouteLookup:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        raise ParseError("ip route get: empty output")
    for line in lines:
        if line.startswith("RTNETLINK answers:"):
            return RouteLookup(error=line.split(":", 1)[1].strip())
        if line.startswith("Error:"):
            return RouteLookup(error=line.split(":", 1)[1].strip())
    words = lines[0].split()
    if words[0] in ROUTE_TYPES:
        return RouteLookup(error=f"{words[0]} route")
    fields = _pairs(words[1:])
    if "dev" not in fields:
        raise ParseError(f"ip route get: no device in {lines[0]!r}")
    return RouteLookup(fields["dev"], fields.get("via"), fields.get("src"))


def _pairs(words: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in itertools.pairwise(words):
        if key in ("dev", "via", "src", "proto", "scope", "metric") and key not in out:
            out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class RouteEntry:
    prefix: str  # "10.65.76.192/26", "default" as 0.0.0.0/0
    kind: str  # "unicast", "blackhole", "unreachable", ...
    dev: str | None
    via: str | None
    line: str

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.prefix)


def parse_route_show(text: str) -> list[RouteEntry]:
    """`ip route show match ADDR`: one route a line."""
    entries = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        words = line.split()
        kind = "unicast"
        if words[0] in ROUTE_TYPES or words[0] in ("local", "broadcast", "multicast"):
            kind, words = words[0], words[1:]
        if not words:
            raise ParseError(f"ip route: no prefix in {line!r}")
        prefix = "0.0.0.0/0" if words[0] == "default" else words[0]
        try:
            prefix = str(ipaddress.IPv4Network(prefix, strict=False))
        except ValueError:
            raise ParseError(f"ip route: bad prefix in {line!r}") from None
        fields = _pairs(words[1:])
        entries.append(RouteEntry(prefix, kind, fields.get("dev"), fields.get("via"), line))
    return entries


def longest_match(entries: list[RouteEntry], address: str) -> RouteEntry | None:
    addr = ipaddress.IPv4Address(address)
    hits = [e for e in entries if addr in e.network]
    return max(hits, key=lambda e: e.network.prefixlen, default=None)


@dataclass(frozen=True, slots=True)
class Neighbour:
    ip: str
    lladdr: str | None
    state: str  # PERMANENT, REACHABLE, FAILED, INCOMPLETE, ...


def parse_neigh(text: str) -> dict[str, Neighbour]:
    """`ip neigh show dev DEV`: `IP lladdr MAC STATE` (or `IP STATE` when unresolved)."""
    out: dict[str, Neighbour] = {}
    for raw in text.splitlines():
        words = raw.split()
        if not words:
            continue
        try:
            ipaddress.ip_address(words[0])
        except ValueError:
            raise ParseError(f"ip neigh: not an address in {raw.strip()!r}") from None
        lladdr = None
        if "lladdr" in words:
            i = words.index("lladdr")
            if i + 1 >= len(words) or not _MAC.match(words[i + 1].lower()):
                raise ParseError(f"ip neigh: bad lladdr in {raw.strip()!r}")
            lladdr = words[i + 1].lower()
        state = words[-1] if words[-1].isupper() else ""
        out[words[0]] = Neighbour(words[0], lladdr, state)
    return out


def parse_fdb(text: str) -> dict[str, list[str]]:
    """`bridge fdb show dev DEV`: MAC -> the VTEP addresses (`dst`) it is sent to."""
    out: dict[str, list[str]] = {}
    for raw in text.splitlines():
        words = raw.split()
        if not words:
            continue
        mac = words[0].lower()
        if not _MAC.match(mac):
            raise ParseError(f"bridge fdb: not a MAC in {raw.strip()!r}")
        dsts = out.setdefault(mac, [])
        if "dst" in words:
            i = words.index("dst")
            if i + 1 < len(words):
                dsts.append(words[i + 1])
    return out


@dataclass(frozen=True, slots=True)
class LinkState:
    name: str
    state: str  # UP, DOWN, LOWERLAYERDOWN, UNKNOWN
    flags: tuple[str, ...]

    @property
    def up(self) -> bool:
        # UNKNOWN is what loopbacks and tunnels without carrier report while working
        return self.state in ("UP", "UNKNOWN") and "UP" in self.flags

    def describe(self) -> str:
        return f"{self.name} {self.state} <{','.join(self.flags)}>"


def parse_brief_links(text: str) -> dict[str, LinkState]:
    """`ip -br link`: `NAME[@PEER] STATE MAC <FLAGS>`."""
    out: dict[str, LinkState] = {}
    for raw in text.splitlines():
        words = raw.split()
        if not words:
            continue
        if len(words) < 2:
            raise ParseError(f"ip -br link: short line {raw.strip()!r}")
        name = words[0].split("@", 1)[0]
        flags: tuple[str, ...] = ()
        last = words[-1]
        if last.startswith("<") and last.endswith(">"):
            flags = tuple(f for f in last[1:-1].split(",") if f)
        out[name] = LinkState(name, words[1], flags)
    return out


@dataclass(frozen=True, slots=True)
class FrrRoute:
    prefix: str
    protocol: str
    selected: bool
    nexthops: tuple[tuple[str | None, str | None, bool], ...]  # (ip, interface, active)

    def describe(self) -> str:
        hops = ", ".join(
            f"via {ip or '-'} {iface or ''}".strip() + ("" if active else " (inactive)")
            for ip, iface, active in self.nexthops
        )
        return f"{self.prefix} {self.protocol}" + (f" {hops}" if hops else "")


def parse_frr_route_json(text: str) -> list[FrrRoute]:
    """FRR `show ip route ADDR json`: {prefix: [route, ...]}; `{}` when there is none."""
    try:
        data = json.loads(text or "{}")
    except json.JSONDecodeError as err:
        raise ParseError(f"show ip route json: {err}") from None
    if not isinstance(data, dict):
        raise ParseError("show ip route json: not an object")
    routes = []
    for prefix, entries in data.items():
        if not isinstance(entries, list):
            raise ParseError(f"show ip route json: {prefix} is not a list")
        for entry in entries:
            if not isinstance(entry, dict):
                raise ParseError(f"show ip route json: bad entry under {prefix}")
            hops = []
            listed = entry.get("nexthops")
            for nh in listed if isinstance(listed, list) else []:
                if isinstance(nh, dict):
                    hops.append(
                        (nh.get("ip"), nh.get("interfaceName"), bool(nh.get("active", False)))
                    )
            routes.append(
                FrrRoute(
                    str(entry.get("prefix", prefix)),
                    str(entry.get("protocol", "?")),
                    bool(entry.get("selected", False)),
                    tuple(hops),
                )
            )
    return routes
