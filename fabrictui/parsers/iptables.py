"""`iptables-save -c` -> the rules with their packet and byte counters.

Each rule line reads `[packets:bytes] -A CHAIN match... -j TARGET`; tables open with
`*name` and close with `COMMIT`; chain lines (`:NAME POLICY [p:b]`) and comments are
skipped. A line that is none of these is a ParseError naming it."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from fabrictui.parsers import ParseError

_COUNTED = re.compile(r"^\[(\d{1,20}):(\d{1,20})\]\s+-A\s+(\S+)(.*)$")  # counters are u64


@dataclass(frozen=True, slots=True)
class IptRule:
    table: str
    chain: str
    packets: int
    bytes: int
    spec: str  # the rule's matches and target, as iptables-save wrote them
    comment: str = ""  # the `-m comment --comment` text, if any
    target: str = ""


def parse_iptables_save(text: str) -> list[IptRule]:
    rules: list[IptRule] = []
    table = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line == "COMMIT" or line.startswith(":"):
            continue
        if line.startswith("*"):
            table = line[1:]
            continue
        m = _COUNTED.match(line)
        if m is None:
            raise ParseError(f"iptables-save line {number}: not a counted rule: {line[:60]!r}")
        try:
            words = shlex.split(m.group(4))
        except ValueError:
            raise ParseError(f"iptables-save line {number}: unbalanced quotes") from None
        comment = target = ""
        for i, word in enumerate(words[:-1]):
            if word == "--comment":
                comment = words[i + 1]
            elif word in ("-j", "-g"):
                target = words[i + 1]
        rules.append(
            IptRule(table, m.group(3), int(m.group(1)), int(m.group(2)),
                    m.group(4).strip(), comment, target)
        )  # fmt: skip
    return rules
