"""Which BGP sessions the topology expects, and how the switches' answers
compare: the fabric pane and the verify check read the same analysis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fabrictui.model import BgpPeer, SwitchReading


@dataclass(frozen=True, slots=True)
class PeerVerdict:
    switch: str
    peer: BgpPeer
    peer_host: str | None  # topology name of the peer, when it could be told
    expected: bool

    @property
    def dynamic(self) -> bool:
        """A neighbour the switch accepted through a listen range (a node in BGP mode)."""
        return self.peer.dynamic


@dataclass(frozen=True, slots=True)
class SessionAnalysis:
    verdicts: tuple[PeerVerdict, ...]
    missing: tuple[tuple[str, str], ...]  # (switch, expected peer) with no session at all
    unreachable: tuple[str, ...]  # switches that did not answer

    def problems(self, include_unreachable: bool = True) -> list[str]:
        """One line per thing a healthy fabric would not show, in switch order.
        `include_unreachable=False` leaves out switches that did not answer (a view
        that already shows their error on their own line)."""
        lines = [f"{switch}: no session to {peer}" for switch, peer in self.missing]
        for v in self.verdicts:
            if not v.expected:
                lines.append(
                    f"{v.switch}: unexpected session to {v.peer_host or v.peer.neighbor} "
                    f"({v.peer.neighbor}, {v.peer.state})"
                )
            elif not v.peer.established:
                lines.append(
                    f"{v.switch}: session to {v.peer_host} ({v.peer.neighbor}) is {v.peer.state}"
                )
            elif v.peer.policy_blocked:
                lines.append(
                    f"{v.switch}: session to {v.peer_host} ({v.peer.neighbor}) is up but"
                    " (Policy): no eBGP policy, no routes exchanged"
                )
        if include_unreachable:
            lines.extend(f"{switch}: did not answer" for switch in self.unreachable)
        return sorted(lines)


def grouped_by_switch(
    analysis: SessionAnalysis,
) -> dict[str, tuple[list[PeerVerdict], list[PeerVerdict]]]:
    """switch -> (its static peers, its dynamic neighbours): the fabric pane draws the
    dynamic ones (the nodes in BGP mode) grouped under their leaf."""
    groups: dict[str, tuple[list[PeerVerdict], list[PeerVerdict]]] = {}
    for verdict in analysis.verdicts:
        static, dynamic = groups.setdefault(verdict.switch, ([], []))
        (dynamic if verdict.dynamic else static).append(verdict)
    return groups


def peer_label(peer: BgpPeer) -> str:
    """`spine-sw1(172.16.0.0)` as NCLU prints it, or the bare neighbor."""
    if peer.short_hostname:
        return f"{peer.short_hostname}({peer.neighbor})"
    return peer.neighbor


def expected_peers(expected_sessions: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """(leaf, spine) pairs (and, in BGP mode, (leaf, node) pairs) -> each host's expected
    peer names, both directions."""
    peers: dict[str, set[str]] = {}
    for a, b in expected_sessions:
        peers.setdefault(a, set()).add(b)
        peers.setdefault(b, set()).add(a)
    return peers


def analyze_sessions(
    readings: Mapping[str, SwitchReading],
    expected_sessions: Iterable[tuple[str, str]],
    peer_addresses: Mapping[str, str] | None = None,
) -> SessionAnalysis:
    """Compare every switch's peers with the sessions the topology expects.

    A peer is identified by the hostname it announced (capability) when that
    names a lab host, else by `peer_addresses` (neighbor address -> host name),
    else by whatever hostname it announced.
    """
    expected = expected_peers(expected_sessions)
    addresses = peer_addresses or {}
    lab_hosts = set(expected) | set(addresses.values())
    verdicts: list[PeerVerdict] = []
    missing: list[tuple[str, str]] = []
    unreachable: list[str] = []
    for switch in sorted(set(readings) | set(expected)):
        reading = readings.get(switch)
        want = expected.get(switch, set())
        if reading is None or reading.summary is None:
            if reading is not None:
                unreachable.append(switch)
            continue
        seen: set[str] = set()
        for peer in reading.summary.peers:
            short = peer.short_hostname
            if short is not None and short in lab_hosts:
                host: str | None = short
            else:
                host = addresses.get(peer.neighbor, short)
            is_expected = host in want and host not in seen
            if host is not None:
                seen.add(host)
            verdicts.append(PeerVerdict(switch, peer, host, is_expected))
        missing.extend((switch, name) for name in sorted(want - seen))
    return SessionAnalysis(tuple(verdicts), tuple(missing), tuple(unreachable))
