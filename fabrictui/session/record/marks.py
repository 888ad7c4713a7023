"""What the timeline strip marks: when things changed, and which changes were
bad (sessions down, pods restarting, nodes not ready, failed checks, sources
failing), so the operator can jump to the moment it broke.

The recorder's writer thread finds the marks as it writes (it holds the
objects already) and stores them in the `marks` table, so opening a long
recording reads them instead of decoding every event again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from fabrictui.session.record.reader import Recording

HEALTHY_POD = frozenset({"Running", "Completed", "Succeeded"})
MARKED = frozenset({"fabric", "node", "pod", "failed", "log", "gap", "verify", "trace"})


@dataclass(frozen=True, slots=True)
class Mark:
    t: float
    level: str  # "bad", "good" or "change"
    text: str


class Marker:
    """Turns events, in order, into marks (it remembers what it needs: the
    sessions up before, each pod's restarts)."""

    def __init__(self) -> None:
        self.up_before: int | None = None
        self.restarts: dict[str, int] = {}

    def see(self, t: float, kind: str, data: Any) -> Mark | None:
        if kind == "fabric":
            peers = [p for r in data.values() if r.summary for p in r.summary.peers]
            up = sum(p.state == "Established" for p in peers)
            before, self.up_before = self.up_before, up
            if before is not None and up != before:
                level = "bad" if up < before else "good"
                return Mark(t, level, f"BGP: {up} of {len(peers)} sessions up")
        elif kind == "node" and data.obj is not None:
            node = data.obj
            if data.type == "DELETED":
                return Mark(t, "bad", f"node {node.name} deleted")
            return Mark(t, "change" if node.ready else "bad",
                        f"node {node.name} {'Ready' if node.ready else 'NotReady'}")  # fmt: skip
        elif kind == "pod" and data.obj is not None:
            pod = data.obj
            before = self.restarts.get(pod.key, pod.restarts)
            self.restarts[pod.key] = pod.restarts
            if data.type == "DELETED":
                self.restarts.pop(pod.key, None)
                return Mark(t, "change", f"pod {pod.key} deleted")
            if pod.restarts > before or pod.status not in HEALTHY_POD:
                return Mark(t, "bad", f"pod {pod.key} {pod.status}, {pod.restarts} restarts")
            if data.type == "ADDED":
                return Mark(t, "change", f"pod {pod.key} added")
        elif kind == "pod":  # a relist: the baseline of restarts
            self.restarts = {p.key: p.restarts for p in data.items}
        elif kind == "failed":
            return Mark(t, "bad", f"{data[0]}: {data[1]}")
        elif kind == "log" and data[0] == "error":
            return Mark(t, "bad", data[1])
        elif kind == "verify" and not all(c.passed for c in data):
            failed = sum(1 for c in data if not c.passed and c.observed)
            if not failed:  # nothing seen wrong: what could not be seen is not "bad"
                unseen = sum(1 for c in data if not c.passed)
                return Mark(t, "change", f"verify: {unseen} of {len(data)} checks not observed")
            return Mark(t, "bad", f"verify: {failed} of {len(data)} checks failed")
        elif kind == "trace" and not data.delivered and not data.probed:
            return Mark(t, "change", f"trace {data.source} -> {data.target}: no probe went out")
        elif kind == "trace" and not data.delivered:
            why = f": {data.cause}" if data.cause else ""
            return Mark(t, "bad", f"trace {data.source} -> {data.target} not delivered{why}")
        elif kind == "gap":
            return Mark(t, "bad", f"frames not recorded: {data}")
        return None


def marks(recording: Recording) -> list[Mark]:
    """The marks the recorder stored (up to any damage)."""
    found: list[Mark] = []
    try:
        for row in recording._conn.execute("SELECT t, level, text FROM marks ORDER BY id"):
            found.append(Mark(*row))
    except sqlite3.DatabaseError:
        pass  # the damage is said where the events are read
    return found
