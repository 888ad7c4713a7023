"""What the rest of the evidence says of a machine whose management SSH does not answer.

A switch or node that does not answer SSH may still run and forward: its BGP sessions, as
its peers see them, and the node's Ready condition, as its kubelet posts it to the API, are
read without it. The checks (`actions/verify/`) and the VMs pane say the same thing from
here: "management SSH not answering; its sessions to leaf1 and leaf2 are Established as the
leaves see them" is not "a spine is down" (issue 28).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fabrictui.intent.bgp_sessions import analyze_sessions
from fabrictui.model import Host, KubeNode, SwitchReading, VmState


@dataclass(frozen=True, slots=True)
class PeerView:
    """How the peers that answered see their sessions with one switch."""

    established: tuple[str, ...]  # peers that see their session with it Established
    down: tuple[tuple[str, str], ...]  # (peer, state) for those that see it otherwise

    @property
    def alive(self) -> bool:
        """Every peer that answered sees it up (and at least one answered)."""
        return bool(self.established) and not self.down


@dataclass(frozen=True, slots=True)
class HostView:
    """A host whose management SSH does not answer, as the VMs pane shows it."""

    cut: str  # management_cut's words
    seconds: float  # for how long it has not answered
    alive: bool  # the other evidence shows the machine working
    says: str  # what that evidence says


def management_cut(host: Host) -> str | None:
    """`management SSH not answering (...)` / `management SSH refused (...)`, from why the
    host's SSH failed; None when SSH answered, or the host is unreachable for another reason
    than its SSH (Vagrant's "inaccessible": then its state says it)."""
    if host.state is not VmState.UNREACHABLE or host.ssh_error is None:
        return None
    why = host.ssh_error.removeprefix(f"{host.name}: ")
    lowered = why.lower()
    if "refused" in lowered:
        kind = "refused"
    elif "no ssh answer" in lowered or "timed out" in lowered or "within" in lowered:
        kind = "not answering"
    else:
        kind = "failed"
    return f"management SSH {kind} ({why})"


def switch_as_peers_see_it(
    switch: str,
    readings: Mapping[str, SwitchReading],
    expected_sessions: Iterable[tuple[str, str]],
    peer_addresses: Mapping[str, str] | None = None,
) -> PeerView:
    """The sessions with `switch` as the other switches' own summaries show them."""
    others = {name: r for name, r in readings.items() if name != switch}
    pairs = [p for p in expected_sessions if switch in p]
    analysis = analyze_sessions(others, pairs, peer_addresses)
    established: list[str] = []
    down: list[tuple[str, str]] = []
    for verdict in analysis.verdicts:
        if verdict.peer_host != switch or not verdict.expected:
            continue
        if verdict.peer.established and not verdict.peer.policy_blocked:
            established.append(verdict.switch)
        else:
            down.append((verdict.switch, verdict.peer.state))
    down += [(peer, "missing") for peer, name in analysis.missing if name == switch]
    return PeerView(tuple(sorted(set(established))), tuple(sorted(down)))


def names(items: Iterable[str]) -> str:
    """`leaf1`, `leaf1 and leaf2`, `a, b and c`."""
    listed = list(items)
    if len(listed) <= 1:
        return "".join(listed)
    return ", ".join(listed[:-1]) + " and " + listed[-1]


def switch_says(switch: str, view: PeerView) -> str:
    """What the peers say of `switch`, in words."""
    if not view.established and not view.down:
        return "no peer that answered has a session with it"
    parts = []
    if view.established:
        parts.append(
            f"its sessions to {names(view.established)} are Established as "
            + ("that switch sees it" if len(view.established) == 1 else "they see them")
        )
    if view.down:
        parts.append(
            "; ".join(f"{peer} sees its session to {switch} {state}" for peer, state in view.down)
        )
    return "; ".join(parts)


def node_says(node: KubeNode | None) -> tuple[bool, str]:
    """(alive, words) from the node's Ready condition, which its kubelet posts to the API."""
    if node is None:
        return False, "the API does not list it"
    if node.ready:
        return True, "the API says it is Ready (its kubelet reports)"
    return False, "the API says it is NotReady"


def host_liveness(
    host: Host,
    readings: Mapping[str, SwitchReading],
    nodes: Iterable[KubeNode],
    expected_sessions: Iterable[tuple[str, str]],
    peer_addresses: Mapping[str, str] | None = None,
) -> tuple[bool, str]:
    """(whether the other evidence shows the machine working, what it says)."""
    if host.role.is_switch:
        view = switch_as_peers_see_it(host.name, readings, expected_sessions, peer_addresses)
        return view.alive, switch_says(host.name, view)
    if host.role.is_k8s:
        return node_says(next((n for n in nodes if n.name == host.name), None))
    return False, "nothing else is read of it"
