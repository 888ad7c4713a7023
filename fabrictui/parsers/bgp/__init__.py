"""BGP summaries -> `BgpSummary`.

One entry point, `parse_bgp_summary`, takes whatever a switch printed:

- FRR `show bgp summary` text of any release since 4.0 (7.5 added PfxSnt,
  8.0 added Desc, `wide` adds LocalAS), with one section per address family;
- Cumulus NCLU `net show bgp summary` text (sections titled
  `show bgp ipv4 unicast summary` with a `====` underline), column-aligned or
  with runs of whitespace collapsed (as in copy-pasted web pages);
- FRR JSON, wrapped per family (`show bgp summary json`) or not
  (`show bgp ipv4 unicast summary json`), and NCLU JSON (`"ipv4 unicast"`
  keys, `null` for a family without neighbours).

Cumulus 5 NVUE (`nv show vrf default router bgp neighbor`, text or `-o json`)
is recognised and refused with a hint: its columns and JSON shape change
between releases (5.12 changed the JSON), while `sudo vtysh -c 'show bgp vrf
default summary json'` prints FRR JSON on every Cumulus release.

Input whose first non-space character is `{` is JSON, anything else is text.

Merging families: the IPv4 unicast section (or a section without a family
title, which is what `show bgp ipv4 unicast summary` prints) gives the router
id and local AS; its peers come first, then peers of the other families that
are not already listed (by neighbor).

No neighbours at all (`{}`, `% No BGP neighbors found`) is an answer, not an
error: a summary with no peers. When nothing says which router answered, the
router id is the empty string and the local AS is None.

State normalisation, the same for text and JSON: a prefix count in
State/PfxRcd means `Established` with that count; `(Policy)` and `NoNeg` mean
the session is Established but exchanges nothing for this family
(prefixes_received None); every other state keeps its device spelling in FRR
capitalisation (`Active`, `Idle (Admin)`). prefixes_received is None unless
the session is Established.

Modules: `text` (printed summaries), `json_summary` (JSON), `values` (what both
share: states, AS numbers, counters, neighbours, uptimes, merging families).
"""

from __future__ import annotations

from fabrictui.model import BgpSummary
from fabrictui.parsers import ParseError
from fabrictui.parsers.bgp.json_summary import parse_json
from fabrictui.parsers.bgp.neighbor import BgpNeighbor, no_such_neighbor
from fabrictui.parsers.bgp.neighbor.from_json import parse_neighbors_json
from fabrictui.parsers.bgp.neighbor.from_text import parse_neighbors_text
from fabrictui.parsers.bgp.text import parse_text
from fabrictui.parsers.bgp.values import parse_bgp_uptime_seconds

__all__ = ["parse_bgp_neighbors", "parse_bgp_summary", "parse_bgp_uptime_seconds"]


def parse_bgp_summary(text: str) -> BgpSummary:
    """Parse a BGP summary in any of the supported forms (see module docstring)."""
    if not isinstance(text, str):
        raise ParseError(f"BGP summary must be text, not {type(text).__name__}")
    start = text.lstrip()
    if not start:
        raise ParseError("empty BGP summary")
    if start[0] == "{":
        return parse_json(start)
    if start[0] == "[":
        raise ParseError("BGP summary JSON is a list, not an object")
    return parse_text(text)


def parse_bgp_neighbors(text: str) -> list[BgpNeighbor]:
    """`show bgp neighbors [PEER]` as FRR's JSON or text (NCLU's `net show bgp neighbor`
    prints FRR's text): `parsers.bgp.neighbor`. [] when the device says there is no such
    neighbour (`no_such_neighbor` gives its words)."""
    if not isinstance(text, str):
        raise ParseError(f"BGP neighbor detail must be text, not {type(text).__name__}")
    start = text.lstrip()
    if not start:
        raise ParseError("empty BGP neighbor detail")
    if no_such_neighbor(start) is not None:
        return []
    if start[0] == "{":
        return parse_neighbors_json(start)
    if start[0] == "[":
        raise ParseError("BGP neighbor JSON is a list, not an object")
    return parse_neighbors_text(text)
