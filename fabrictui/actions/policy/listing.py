"""Which policies apply to which pod: the TUI's "policy" report (read-only). One line per
pod that a policy selects, naming each policy and the directions it covers, then the
pods no policy selects, and what could not be read."""

from __future__ import annotations

from dataclasses import dataclass

from fabrictui.actions.policy.evaluate import pod_policies
from fabrictui.actions.progress import Progress, Report
from fabrictui.backends.base import LabBackend


@dataclass(frozen=True, slots=True)
class PolicyListing:
    lines: tuple[str, ...]
    policies: int
    selected: int  # pods some policy selects
    unseen: tuple[str, ...] = ()


async def list_pod_policies(backend: LabBackend, report: Report) -> PolicyListing:
    report(Progress("reading network policies and pods", 0.1))
    reading = await backend.network_policies()
    pods = [p for p in await backend.list_pods() if p.ip and p.node]
    lines: list[str] = []
    free: list[str] = []
    for pod in sorted(pods, key=lambda p: p.key):
        found = pod_policies(reading, pod)
        if not found:
            free.append(pod.key)
            continue
        names = "; ".join(f"{p.label} ({', '.join(ways)})" for p, ways in found)
        lines.append(f"{pod.key}: {names}")
    if free:
        lines.append(f"no policy selects: {', '.join(free)}")
    lines += [f"not seen: {u}" for u in reading.unseen]
    return PolicyListing(tuple(lines), len(reading.policies), len(pods) - len(free), reading.unseen)
