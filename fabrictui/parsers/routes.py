"""FRR / Cumulus `show ip route` (text or JSON) -> `Route`s.

Text, as `vtysh -c 'show ip route'` and NCLU `net show route` print it: the
`Codes:` legend (skipped), optional titles (`show ip route` with a `====`
underline, `IPv4 unicast VRF default:`), then one line per route:

    B>* 10.0.102.0/24 [20/0] via 172.16.0.0, swp51, weight 1, 00:13:08
      *                      via 172.16.0.4, swp52, weight 1, 00:13:08
    C>* 10.0.101.0/24 is directly connected, swp1, 00:13:08

The first letter is the protocol, `>` selected, `*` installed in the FIB (on
a next hop's line: that next hop is in the FIB); an indented line starting
with `via` / `is directly connected` (after an optional `*`) is one more next
hop of the route above (ECMP). Next hops may be link-local IPv6 on a swp port
even for IPv4 routes (unnumbered fabrics); `inactive` marks one that is not
used; `unreachable (blackhole)` is a route without next hops.

JSON (first non-space character `{`): `show ip route json`, prefix -> list of
route objects (`protocol`, `selected`, `installed`, `distance`, `metric`,
`uptime`, `nexthops` with `ip`, `interfaceName`, `active`, `directlyConnected`),
optionally one level deeper per VRF (`vrf all`). Absent booleans are false, as
FRR leaves them out.

A device's own error (`% ...`) is a ParseError quoting it.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

from fabrictui.parsers import ParseError, json_bool

__all__ = ["NextHop", "Route", "parse_routes"]

PROTOCOLS = {
    "K": "kernel",
    "C": "connected",
    "L": "local",
    "S": "static",
    "R": "rip",
    "O": "ospf",
    "I": "isis",
    "B": "bgp",
    "E": "eigrp",
    "N": "nhrp",
    "T": "table",
    "v": "vnc",
    "V": "vnc-direct",
    "A": "babel",
    "D": "sharp",
    "F": "pbr",
    "f": "openfabric",
    "Z": "frr",
}
_JSON_PROTOCOL = re.compile(r"[a-z][a-z0-9-]{0,20}", re.ASCII)
_ROUTE = re.compile(r"([A-Za-z])([>*qrtob=]{0,6})\s+(\S+)\s+(.*)")
_NEXT = re.compile(r"([>*qrtob=]{0,6})\s*((?:via|is directly connected|unreachable).*)")
_DIST = re.compile(r"\[(\d{1,5})/(\d{1,10})\]", re.ASCII)
_IFACE = re.compile(r"[A-Za-z][A-Za-z0-9_.@:-]{0,63}", re.ASCII)
_UPTIME = re.compile(r"\d{2}:\d{2}:\d{2}|(?:\d{1,4}[ywdhms]){1,4}", re.ASCII)
_TITLES = re.compile(r"show (?:ip )?route.*|=+|Codes:.*|.* - .*", re.IGNORECASE)
_VRF_TITLE = re.compile(r"(?:IPv4 unicast )?VRF \S+:", re.IGNORECASE)
_NEXTHOP_WORDS = {"onlink", "inactive", "(recursive)", "(blackhole)", "(ICMP", "unreachable)"}


@dataclass(frozen=True, slots=True)
class NextHop:
    ip: str | None  # None when directly connected
    interface: str | None  # None for a recursive next hop
    active: bool = True
    # Resolved through the next hops listed after it (BGP's iBGP-style next hop).
    recursive: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str  # normalised: "10.64.12.0/26"
    protocol: str  # "bgp", "connected", "kernel", "static", ...
    selected: bool
    installed: bool
    nexthops: tuple[NextHop, ...]
    distance: int | None = None
    metric: int | None = None
    uptime: str = ""

    @property
    def ecmp(self) -> int:
        """How many next hops carry traffic: active ones, a recursive one counting
        through the hops that resolve it."""
        return sum(1 for hop in self.nexthops if hop.active and not hop.recursive)


def _prefix(value: str, what: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ParseError(f"{what}: {value[:50]!r} is not a prefix") from None


def _address(value: str, what: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ParseError(f"{what}: next hop {value[:50]!r} is not an address") from None


def _iface(value: str, what: str) -> str:
    if not _IFACE.fullmatch(value):
        raise ParseError(f"{what}: {value[:40]!r} is not an interface name")
    return value


def _text_nexthop(body: str, what: str) -> NextHop | None:
    """`via 172.16.0.0, swp51, weight 1, 00:13:08`, `is directly connected, swp1,
    00:13:08`, `unreachable (blackhole), 00:00:05` (None: no next hop)."""
    cells = [cell.strip() for cell in body.split(",")]
    head = cells[0]
    rest = [c for c in cells[1:] if c and not c.startswith("weight ") and not _UPTIME.fullmatch(c)]
    words = head.split()
    if not words:
        raise ParseError(f"{what}: a route without a next hop")
    if head.startswith("unreachable"):
        return None
    if head == "is directly connected":
        if len(rest) != 1:
            raise ParseError(f"{what}: a connected route needs one interface")
        words = rest[0].split()
        inactive = "inactive" in words[1:]
        return NextHop(None, _iface(words[0], what), active=not inactive)
    if words[0] != "via" or len(words) < 2:
        raise ParseError(f"{what}: {head[:40]!r} is not a next hop")
    extra = words[2:]
    iface = None
    if rest:
        if len(rest) != 1:
            raise ParseError(f"{what}: a next hop with {len(rest)} interfaces")
        iface_words = rest[0].split()
        iface = _iface(iface_words[0], what)
        extra += iface_words[1:]
    unknown = [w for w in extra if w not in _NEXTHOP_WORDS]
    if unknown:
        raise ParseError(f"{what}: unknown next hop flag {unknown[0][:30]!r}")
    return NextHop(
        _address(words[1], what),
        iface,
        active="inactive" not in extra,
        recursive="(recursive)" in extra,
    )


def _parse_text(text: str) -> list[Route]:
    routes: list[Route] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        what = f"line {lineno}"
        line = raw.strip()
        if not line:
            continue
        if line.startswith("%"):
            raise ParseError(f"{what}: the device answered {line[:120]!r}")
        if raw[:1].isspace():
            nxt = _NEXT.fullmatch(line)
            if nxt:
                if not routes:
                    raise ParseError(f"{what}: a next hop before any route")
                hop = _text_nexthop(nxt.group(2), what)
                if hop is not None:
                    last = routes[-1]
                    routes[-1] = Route(
                        last.prefix,
                        last.protocol,
                        last.selected,
                        last.installed,
                        (*last.nexthops, hop),
                        last.distance,
                        last.metric,
                        last.uptime,
                    )
                continue
        match = _ROUTE.fullmatch(line)
        if match and not raw[:1].isspace() and "/" in match.group(3):
            code, flags, prefix, body = match.groups()
            protocol = PROTOCOLS.get(code)
            if protocol is None:
                raise ParseError(f"{what}: unknown route code {code!r}")
            distance = metric = None
            dist = _DIST.match(body)
            if dist:
                distance, metric = int(dist.group(1)), int(dist.group(2))
                body = body[dist.end() :].strip()
            hop = _text_nexthop(body, what)
            uptime = body.rsplit(",", 1)[-1].strip()
            routes.append(
                Route(
                    prefix=_prefix(prefix, what),
                    protocol=protocol,
                    selected=">" in flags,
                    installed="*" in flags,
                    nexthops=(hop,) if hop is not None else (),
                    distance=distance,
                    metric=metric,
                    uptime=uptime if _UPTIME.fullmatch(uptime) else "",
                )
            )
            continue
        if _VRF_TITLE.fullmatch(line):
            continue
        if _TITLES.fullmatch(line) and not routes:
            continue  # the legend and titles come before the routes
        raise ParseError(f"{what}: not a route line: {line[:60]!r}")
    return routes


def _json_int(obj: dict[str, Any], key: str, what: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        raise ParseError(f"{what}: {key} {str(value)[:20]!r} is not a small number")
    return value


def _json_nexthop(data: Any, what: str) -> NextHop | None:
    if not isinstance(data, dict):
        raise ParseError(f"{what}: a next hop is {type(data).__name__}, not an object")
    if json_bool(data, "blackhole", what) or json_bool(data, "unreachable", what):
        return None
    ip = data.get("ip")
    iface = data.get("interfaceName")
    if ip is not None and not isinstance(ip, str):
        raise ParseError(f"{what}: next hop ip is {type(ip).__name__}, not text")
    if iface is not None and not isinstance(iface, str):
        raise ParseError(f"{what}: interfaceName is {type(iface).__name__}, not text")
    if json_bool(data, "directlyConnected", what):
        ip = None
    if ip is None and iface is None:
        raise ParseError(f"{what}: a next hop with neither ip nor interface")
    return NextHop(
        _address(ip, what) if ip is not None else None,
        _iface(iface, what) if iface is not None else None,
        active=json_bool(data, "active", what),
        recursive=json_bool(data, "recursive", what),
    )


def _json_route(key: str, data: Any, what: str) -> Route:
    if not isinstance(data, dict):
        raise ParseError(f"{what}: a route is {type(data).__name__}, not an object")
    protocol = data.get("protocol")
    if not isinstance(protocol, str) or not _JSON_PROTOCOL.fullmatch(protocol):
        raise ParseError(f"{what}: protocol {str(protocol)[:30]!r} is not a protocol name")
    hops_data = data.get("nexthops", [])
    if not isinstance(hops_data, list):
        raise ParseError(f"{what}: nexthops is {type(hops_data).__name__}, not a list")
    hops = tuple(h for h in (_json_nexthop(d, what) for d in hops_data) if h is not None)
    uptime = data.get("uptime", "")
    if not isinstance(uptime, str) or not (uptime == "" or _UPTIME.fullmatch(uptime)):
        raise ParseError(f"{what}: uptime {str(uptime)[:30]!r} is not an uptime")
    return Route(
        prefix=_prefix(key, what),
        protocol=protocol,
        selected=json_bool(data, "selected", what),
        installed=json_bool(data, "installed", what),
        nexthops=hops,
        distance=_json_int(data, "distance", what),
        metric=_json_int(data, "metric", what),
        uptime=uptime,
    )


def _parse_json(text: str) -> list[Route]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise ParseError(f"route JSON does not parse: {str(err)[:120]}") from None
    if not isinstance(data, dict):
        raise ParseError(f"route JSON is {type(data).__name__}, not an object")
    tables = [data]
    if data and all(isinstance(v, dict) for v in data.values()):
        tables = list(data.values())  # `vrf all`: VRF name -> table
    routes: list[Route] = []
    for table in tables:
        for key, entries in table.items():
            what = f"prefix {key[:50]!r}"
            if not isinstance(entries, list):
                raise ParseError(f"{what}: is {type(entries).__name__}, not a list of routes")
            routes.extend(_json_route(key, entry, what) for entry in entries)
    return routes


def parse_routes(text: str) -> list[Route]:
    """Parse `show ip route` text or JSON (see module docstring)."""
    if not isinstance(text, str):
        raise ParseError(f"route output must be text, not {type(text).__name__}")
    start = text.lstrip()
    if start.startswith("{"):
        return _parse_json(start)
    if start.startswith("["):
        raise ParseError("route JSON is a list, not an object")
    return _parse_text(text)
