"""A switch's interfaces as `INTERFACES_SCRIPT` prints them -> `Interface`s (issue 26).

The script reads the kernel's own files under /sys/class/net, which every Linux switch has
(Cumulus 3.7 to 5, plain FRR hosts, the rehearsal lab's namespaces) whatever its iproute2
can print: one line per interface, nine fields separated by spaces:

    swp51 up 1000 9216 0 0 0 0 2

name, operstate (`up`, `down`, `lowerlayerdown`, `unknown`, ...), speed in Mb/s (`-` when the
kernel has none: a virtual or down link), MTU, rx_errors, tx_errors, rx_dropped, tx_dropped,
carrier_changes (`-` where the kernel has no such file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fabrictui.parsers import ParseError

__all__ = ["INTERFACES_SCRIPT", "Interface", "parse_interfaces"]

# A constant script (no names pasted in); `speed` fails with EINVAL on a link without one.
INTERFACES_SCRIPT = (
    "cd /sys/class/net || exit 1; for n in *; do "
    'r() { v=$(cat "$n/$1" 2>/dev/null) && [ -n "$v" ] && echo "$v" || echo -; }; '
    'printf "%s %s %s %s %s %s %s %s %s\\n" "$n" "$(r operstate)" "$(r speed)" "$(r mtu)" '
    '"$(r statistics/rx_errors)" "$(r statistics/tx_errors)" "$(r statistics/rx_dropped)" '
    '"$(r statistics/tx_dropped)" "$(r carrier_changes)"; done'
)
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@:-]{0,31}", re.ASCII)
_STATE = re.compile(r"[a-z]{1,20}", re.ASCII)
_NUMBER = re.compile(r"-1|\d{1,20}", re.ASCII)


@dataclass(frozen=True, slots=True)
class Interface:
    name: str
    state: str  # the kernel's operstate: up, down, lowerlayerdown, unknown, ...
    speed_mbps: int | None  # None: the kernel gives none (virtual, down)
    mtu: int | None
    rx_errors: int | None
    tx_errors: int | None
    rx_dropped: int | None
    tx_dropped: int | None
    carrier_changes: int | None

    @property
    def errors(self) -> int:
        return sum(v or 0 for v in (self.rx_errors, self.tx_errors))


def _number(cell: str, what: str) -> int | None:
    if cell == "-":
        return None
    if not _NUMBER.fullmatch(cell):
        raise ParseError(f"{what}: {cell[:30]!r} is not a number")
    value = int(cell)
    return None if value < 0 else value  # speed -1: "unknown" on some drivers


def parse_interfaces(text: str) -> list[Interface]:
    if not isinstance(text, str):
        raise ParseError(f"interface list must be text, not {type(text).__name__}")
    found: list[Interface] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        cells = raw.split()
        if not cells:
            continue
        what = f"line {lineno}"
        if len(cells) != 9:
            raise ParseError(f"{what}: {len(cells)} fields, not 9: {raw.strip()[:60]!r}")
        name, state = cells[0], cells[1]
        if not _NAME.fullmatch(name):
            raise ParseError(f"{what}: {name[:40]!r} is not an interface name")
        if not _STATE.fullmatch(state) and state != "-":
            raise ParseError(f"{what}: {state[:20]!r} is not an operstate")
        numbers = [_number(c, what) for c in cells[2:]]
        found.append(Interface(name, state, *numbers))
    if not found:
        raise ParseError("no interfaces listed")
    return found
