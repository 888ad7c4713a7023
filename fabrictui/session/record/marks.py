"""What the timeline strip marks: when things changed, and which changes were
bad (sessions down, pods restarting, nodes not ready, failed checks, sources
failing), so the operator can jump to the moment it broke."""

from __future__ import annotations

from dataclasses import dataclass

from fabrictui.session.record.reader import Recording

HEALTHY_POD = frozenset({"Running", "Completed", "Succeeded"})


@dataclass(frozen=True, slots=True)
class Mark:
    t: float
    level: str  # "bad", "good" or "change"
    text: str


def marks(recording: Recording) -> list[Mark]:
    found: list[Mark] = []
    up_before: int | None = None
    restarts: dict[str, int] = {}
    for event in recording.events:
        kind = event.kind
        if kind not in ("fabric", "node", "pod", "failed", "log", "gap"):
            continue
        data = event.data
        if kind == "fabric":
            peers = [p for r in data.values() if r.summary for p in r.summary.peers]
            up = sum(p.state == "Established" for p in peers)
            if up_before is not None and up != up_before:
                level = "bad" if up < up_before else "good"
                found.append(Mark(event.t, level, f"BGP: {up} of {len(peers)} sessions up"))
            up_before = up
        elif kind == "node" and data.obj is not None:
            node = data.obj
            bad = data.type == "DELETED" or not node.ready
            found.append(Mark(event.t, "bad" if bad else "change", _node_text(data.type, node)))
        elif kind == "pod" and data.obj is not None:
            pod = data.obj
            before = restarts.get(pod.key, pod.restarts)
            restarts[pod.key] = pod.restarts
            if data.type == "DELETED":
                found.append(Mark(event.t, "change", f"pod {pod.key} deleted"))
            elif pod.restarts > before or pod.status not in HEALTHY_POD:
                text = f"pod {pod.key} {pod.status}, {pod.restarts} restarts"
                found.append(Mark(event.t, "bad", text))
            elif data.type == "ADDED":
                found.append(Mark(event.t, "change", f"pod {pod.key} added"))
        elif kind == "pod":
            restarts = {p.key: p.restarts for p in data.items}
        elif kind == "failed":
            found.append(Mark(event.t, "bad", f"{data[0]}: {data[1]}"))
        elif kind == "log" and data[0] == "error":
            found.append(Mark(event.t, "bad", data[1]))
        elif kind == "gap":
            found.append(Mark(event.t, "bad", f"frames not recorded: {data}"))
    return found


def _node_text(kind: str, node) -> str:
    if kind == "DELETED":
        return f"node {node.name} deleted"
    return f"node {node.name} {'Ready' if node.ready else 'NotReady'}"
