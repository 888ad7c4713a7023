"""What is known about one object (a pod, a node, a BGP session, a switch, a VM), as one
shape for every kind: titled sections of label/value rows and free lines (events, messages,
a probe's own words), and the other objects it names. The TUI's detail screen, `fabrictui
describe` and its JSON all draw from a Detail, so a field reads the same in each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class DetailLink:
    """Another object this one names (a readiness message's BGP peer, a pod's node): the
    detail screen opens it, `describe` prints how to ask for it."""

    kind: str  # a key of actions.drill.DESCRIBERS: pod, node, session, switch, vm
    name: str  # as `fabrictui describe KIND NAME` takes it (a session is SWITCH/PEER)
    namespace: str | None = None
    why: str = ""  # "readiness names peer 10.0.101.1"


@dataclass(frozen=True, slots=True)
class DetailSection:
    title: str
    rows: tuple[tuple[str, str], ...] = ()  # (label, value), in the order they are read
    lines: tuple[str, ...] = ()  # free text under the rows, each line as its source wrote it
    severity: str = "normal"  # normal | warn | bad: how the section's title stands out


@dataclass(frozen=True, slots=True)
class Detail:
    kind: str
    name: str
    namespace: str | None = None
    sections: tuple[DetailSection, ...] = ()
    links: tuple[DetailLink, ...] = ()
    source: str = ""  # where it was read: "API", "leaf1 vtysh", "recording at 12:01:07"
    problems: tuple[str, ...] = field(default=())  # what could not be read, in its own words

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "source": self.source,
            "sections": [
                {
                    "title": s.title,
                    "rows": {label: value for label, value in s.rows},
                    "lines": list(s.lines),
                    "severity": s.severity,
                }
                for s in self.sections
            ],
            "links": [
                {"kind": x.kind, "name": x.name, "namespace": x.namespace, "why": x.why}
                for x in self.links
            ],
            "problems": list(self.problems),
        }


def detail_text(detail: Detail) -> str:
    """Plain text, as `kubectl describe` lays it out: labels aligned within a section."""
    head = f"{detail.kind} {detail.namespace + '/' if detail.namespace else ''}{detail.name}"
    out = [head + (f"  ({detail.source})" if detail.source else "")]
    for problem in detail.problems:
        out.append(f"  not read: {problem}")
    for section in detail.sections:
        out.append("")
        out.append(f"{section.title}:")
        width = max((len(label) for label, _ in section.rows), default=0)
        out.extend(f"  {label + ':':<{width + 1}} {value}" for label, value in section.rows)
        out.extend(f"  {line}" for line in section.lines)
    if detail.links:
        out.append("")
        out.append("See also:")
        for link in detail.links:
            ns = f" -n {link.namespace}" if link.namespace else ""
            why = f"  ({link.why})" if link.why else ""
            out.append(f"  fabrictui describe {link.kind} {link.name}{ns}{why}")
    return "\n".join(out) + "\n"
