"""The simulated IP fabric: eBGP sessions between leaves and spines, their
timers, the routes they carry, and the text/JSON the switches print.

Session states follow Cumulus/FRR timers (keepalive 3 s, hold 9 s,
connect-retry 10 s):

- link cut (`cut-uplink`): both ends notice at once (fast external failover):
  Idle for a second, then Active, with a short Connect at every connect-retry;
- peer powered off (`stop-spine`): the leaf keeps the session Established until
  its hold timer expires (up to 9 s after the last keepalive), then Idle,
  Connect (the SYN times out after 3 s), Active, and so on every 10 s;
- recovery: a link coming back re-establishes within a second; a spine coming
  back boots for 15 s (no SSH, no bgpd), then its sessions come up.

Message counters grow by one keepalive every 3 s while Established, starting
from the seed's figures. The leaves print NCLU `net show bgp summary` text,
the spines FRR `show bgp vrf default summary json` (wrapped per family): the
demo feeds both through the real parser.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from fabrictui.backends.demo import topology as topo
from fabrictui.backends.demo.sim import Simulation

SPINE_BOOT = 15.0
ESTABLISH_DELAY = 1.0


@dataclass
class Session:
    leaf: str
    spine: str
    base_rcvd: int  # leaf's MsgRcvd before the current establishment
    base_sent: int
    est_at: float | None = None
    leaf_down_at: float | None = None
    spine_down_at: float | None = None
    down_reason: str = ""  # "link", "peer-off" or "admin" (the leaf shut it: neighbor shutdown)
    ever_up: bool = False
    generation: int = 0
    hold_handle: int | None = None
    up_handle: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.leaf, self.spine)


@dataclass
class EndView:
    """One end of a session as the device would print it."""

    neighbor: str
    hostname: str | None
    remote_as: int
    state: str
    uptime: str
    uptime_s: float | None
    msg_rcvd: int
    msg_sent: int
    prefixes: int | None
    dynamic: bool = False  # a node accepted through the leaf's listen range (BGP mode)
    policy_blocked: bool = False  # up, but no eBGP policy: FRR prints (Policy)


def format_uptime(seconds: float) -> str:
    """FRR's peer_uptime(): HH:MM:SS below a day, then 1d01h44m, 02w3d04h."""
    s = int(seconds)
    days, rem = divmod(s, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    if days == 0:
        return f"{hours:02d}:{minutes:02d}:{secs:02d}"
    if days < 7:
        return f"{days}d{hours:02d}h{minutes:02d}m"
    weeks, days = divmod(days, 7)
    if weeks < 52:
        return f"{weeks:02d}w{days}d{hours:02d}h"
    years, weeks = divmod(weeks, 52)
    return f"{years:02d}y{weeks:02d}w{days}d"


@dataclass
class Fabric:
    sim: Simulation
    sessions: dict[tuple[str, str], Session] = field(default_factory=dict)
    spine_running: dict[str, bool] = field(default_factory=dict)
    spine_boot_done: dict[str, float] = field(default_factory=dict)
    link_up: dict[tuple[str, str], bool] = field(default_factory=dict)
    admin_shut: set[tuple[str, str]] = field(default_factory=set)  # (leaf, spine) shut on the leaf
    changes: int = 0
    _routes_cache: dict[
        frozenset[tuple[str, str]], dict[str, dict[str, tuple[tuple[int, ...], str | None]]]
    ] = field(default_factory=dict)
    # The leaf's dynamic neighbours (nodes in BGP mode, `demo/bgp.py`), printed after its
    # static peers.
    dynamic_ends: Callable[[str, float], list[EndView]] | None = None

    @classmethod
    def build(cls, sim: Simulation, ready_at: float) -> Fabric:
        """Sessions up since the seed's uptimes before `ready_at` (02:07:56 on leaf1,
        02:07:43 on leaf2 at the moment the seed printed them)."""
        fab = cls(sim)
        uptime = {"leaf1": 7676.0, "leaf2": 7663.0}
        base = {"spine-sw1": (6, 8), "spine-sw2": (7, 8)}
        for leaf, spine in topo.expected_sessions():
            rcvd, sent = base[spine]
            sess = Session(leaf, spine, rcvd, sent)
            sess.est_at = ready_at - uptime[leaf]
            sess.ever_up = True
            fab.sessions[(leaf, spine)] = sess
            fab.link_up[(leaf, spine)] = True
        for spine in topo.SPINES:
            fab.spine_running[spine] = True
            fab.spine_boot_done[spine] = -math.inf
        return fab

    # -- conditions -------------------------------------------------------------

    def spine_reachable(self, spine: str, now: float) -> bool:
        return self.spine_running[spine] and now >= self.spine_boot_done[spine]

    def _can_establish(self, sess: Session) -> bool:
        up = self.link_up[sess.key] and self.spine_running[sess.spine]
        return up and sess.key not in self.admin_shut

    def _keepalives(self, sess: Session, until: float) -> int:
        if sess.est_at is None or until < sess.est_at:
            return 0
        return int((until - sess.est_at) // topo.KEEPALIVE)

    def _drop(self, sess: Session, t: float, reason: str, spine_side: bool = True) -> None:
        if sess.est_at is not None:
            kas = self._keepalives(sess, t)
            sess.base_rcvd += kas
            sess.base_sent += kas
            self.changes += 1
        sess.est_at = None
        sess.leaf_down_at = t
        if spine_side:
            sess.spine_down_at = t
        sess.down_reason = reason

    def _schedule_up(self, sess: Session, t: float) -> None:
        sess.generation += 1
        gen = sess.generation

        def up(at: float) -> None:
            if sess.generation != gen or not self._can_establish(sess):
                return
            sess.est_at = at
            sess.ever_up = True
            sess.base_rcvd += 3  # OPEN, first KEEPALIVE, UPDATE
            sess.base_sent += 3
            self.changes += 1

        sess.up_handle = self.sim.at(t, up)

    # -- faults -------------------------------------------------------------------

    def set_link(self, leaf: str, spine: str, up: bool, t: float) -> None:
        sess = self.sessions[(leaf, spine)]
        if self.link_up[sess.key] == up:
            return
        self.link_up[sess.key] = up
        sess.generation += 1
        if not up:
            self._drop(sess, t, "link")
        elif self.spine_running[spine]:
            self._schedule_up(sess, max(t, self.spine_boot_done[spine]) + ESTABLISH_DELAY)

    def set_admin(self, leaf: str, spine: str, shut: bool, t: float) -> None:
        """`neighbor SPINE shutdown` on the leaf: it sends a NOTIFICATION (Cease,
        Administrative Shutdown) and holds the session Idle (Admin) until unshut."""
        sess = self.sessions[(leaf, spine)]
        if (sess.key in self.admin_shut) == shut:
            return
        sess.generation += 1
        if shut:
            self.admin_shut.add(sess.key)
            self._drop(sess, t, "admin")
        else:
            self.admin_shut.discard(sess.key)
            if self.link_up[sess.key] and self.spine_running[spine]:
                self._schedule_up(sess, max(t, self.spine_boot_done[spine]) + ESTABLISH_DELAY)

    def set_spine(self, spine: str, running: bool, t: float) -> None:
        if self.spine_running[spine] == running:
            return
        self.spine_running[spine] = running
        for sess in self.sessions.values():
            if sess.spine != spine:
                continue
            sess.generation += 1
            gen = sess.generation
            if not running:
                # The spine's own view is gone with it; the leaf waits for its hold timer.
                sess.spine_down_at = t
                if sess.est_at is not None and self.link_up[sess.key]:
                    kas = self._keepalives(sess, t)
                    last_ka = sess.est_at + kas * topo.KEEPALIVE
                    expiry = max(t, last_ka + topo.HOLD_TIME)

                    def hold_expired(at: float, sess: Session = sess, gen: int = gen) -> None:
                        if sess.generation == gen:
                            self._drop(sess, at, "peer-off", spine_side=False)

                    sess.hold_handle = self.sim.at(expiry, hold_expired)
            else:
                boot = t + SPINE_BOOT
                self.spine_boot_done[spine] = boot
                if sess.est_at is not None:  # powered back before the hold timer fired
                    self._drop(sess, t, "peer-off")
                sess.spine_down_at = boot
                if self.link_up[sess.key]:
                    self._schedule_up(sess, boot + ESTABLISH_DELAY)
        if running:
            self.spine_boot_done[spine] = t + SPINE_BOOT

    # -- reading --------------------------------------------------------------------

    def established(self, sess: Session, now: float) -> bool:
        return sess.est_at is not None and sess.est_at <= now

    def _down_state(self, down_at: float | None, reason: str, now: float) -> str:
        if down_at is None:
            return "Active"
        phase = now - down_at
        if phase < 1.0:
            return "Idle"
        cycle = (phase - 1.0) % topo.CONNECT_RETRY
        connect_for = 3.0 if reason == "peer-off" else 0.5
        return "Connect" if cycle < connect_for else "Active"

    def adjacencies(self, now: float) -> list[tuple[str, str]]:
        return [s.key for s in self.sessions.values() if self.established(s, now)]

    def best_routes(self, now: float) -> dict[str, dict[str, tuple[tuple[int, ...], str | None]]]:
        """Per switch: prefix -> (AS path, neighbor switch or None when originated)."""
        key = frozenset(self.adjacencies(now))
        cached = self._routes_cache.get(key)
        if cached is None:
            cached = self._routes_cache[key] = self._compute_routes(key)
        return cached

    def _compute_routes(
        self, adjacencies: frozenset[tuple[str, str]]
    ) -> dict[str, dict[str, tuple[tuple[int, ...], str | None]]]:
        adj: dict[str, list[str]] = {s.name: [] for s in topo.SWITCHES}
        for leaf, spine in sorted(adjacencies):
            adj[leaf].append(spine)
            adj[spine].append(leaf)
        best: dict[str, dict[str, tuple[tuple[int, ...], str | None]]] = {
            s.name: {p: ((), None) for p in s.originated} for s in topo.SWITCHES
        }
        for _ in range(16):
            new: dict[str, dict[str, tuple[tuple[int, ...], str | None]]] = {}
            for sw in topo.SWITCHES:
                table = {p: ((), None) for p in sw.originated}
                for nb in sorted(adj[sw.name], key=_rid_key):
                    nb_asn = topo.SWITCH_BY_NAME[nb].asn
                    for prefix, (path, _via) in best[nb].items():
                        full = (nb_asn, *path)
                        if sw.asn in full:
                            continue
                        current = table.get(prefix)
                        if current is None or (
                            current[1] is not None and len(full) < len(current[0])
                        ):
                            table[prefix] = (full, nb)
                new[sw.name] = table
            if new == best:
                break
            best = new
        return best

    def prefixes_from(
        self, best: dict[str, dict[str, tuple[tuple[int, ...], str | None]]], local: str, peer: str
    ) -> int:
        local_asn = topo.SWITCH_BY_NAME[local].asn
        peer_asn = topo.SWITCH_BY_NAME[peer].asn
        return sum(1 for path, _ in best[peer].values() if local_asn not in (peer_asn, *path))

    def ends(self, switch: str, now: float) -> list[EndView]:
        best = self.best_routes(now)
        views: list[EndView] = []
        for sess in self.sessions.values():
            if switch not in sess.key:
                continue
            spec = topo.link(sess.leaf, sess.spine)
            is_leaf = switch == sess.leaf
            peer = sess.spine if is_leaf else sess.leaf
            kas = self._keepalives(sess, now) if self.established(sess, now) else 0
            rcvd, sent = sess.base_rcvd + kas, sess.base_sent + kas
            if not is_leaf:
                rcvd, sent = sent, rcvd
            if self.established(sess, now):
                assert sess.est_at is not None
                up = now - sess.est_at
                state = "Established"
                pfx: int | None = self.prefixes_from(best, switch, peer)
            else:
                down_at = sess.leaf_down_at if is_leaf else sess.spine_down_at
                state = self._down_state(down_at, sess.down_reason, now)
                if is_leaf and sess.key in self.admin_shut:
                    state = "Idle (Admin)"
                up = (now - down_at) if (down_at is not None and sess.ever_up) else None
                pfx = None
            views.append(
                EndView(
                    neighbor=spec.spine_ip if is_leaf else spec.leaf_ip,
                    hostname=topo.fqdn(peer) if sess.ever_up else None,
                    remote_as=topo.SWITCH_BY_NAME[peer].asn,
                    state=state,
                    uptime=format_uptime(up) if up is not None else "never",
                    uptime_s=up,
                    msg_rcvd=rcvd,
                    msg_sent=sent,
                    prefixes=pfx,
                )
            )
        views.sort(key=lambda v: ipaddress.IPv4Address(v.neighbor))
        return views

    def forwarding_spines(self, src_leaf: str, dst_leaf: str, now: float) -> list[str]:
        """Spines src_leaf would send traffic for dst_leaf's servers through (ECMP set)."""
        dst_prefix = topo.SWITCH_BY_NAME[dst_leaf].server_subnet
        if dst_prefix is None:  # not a leaf: no servers behind it
            return []
        best = self.best_routes(now)
        entry = best[src_leaf].get(dst_prefix)
        if entry is None:
            return []
        shortest = len(entry[0])
        spines = []
        for spine in topo.SPINES:
            if not self.established(self.sessions[(src_leaf, spine)], now):
                continue
            path = best[spine].get(dst_prefix)
            if path is not None and len(path[0]) + 1 == shortest:
                spines.append(spine)
        return spines

    # -- rendering ---------------------------------------------------------------------

    def table_version(self, switch: str) -> int:
        return 6 + 2 * self.changes

    def printed_ends(self, switch: str, now: float) -> list[EndView]:
        extra = self.dynamic_ends(switch, now) if self.dynamic_ends is not None else []
        return self.ends(switch, now) + extra

    def render_summary(self, switch: str, now: float) -> str:
        """What the switch prints for its BGP summary: NCLU's text on a leaf (Cumulus),
        FRR's JSON on a spine."""
        if switch in topo.LEAVES:
            return self.render_nclu(switch, now)
        return self.render_frr_json(switch, now)

    def render_nclu(self, switch: str, now: float) -> str:
        spec = topo.SWITCH_BY_NAME[switch]
        ends = self.printed_ends(switch, now)
        cells = [
            ("*" if e.dynamic else "")
            + (f"{e.hostname}({e.neighbor})" if e.hostname else e.neighbor)
            for e in ends
        ]
        width = max([len("Neighbor"), *map(len, cells)]) + 1
        title = "show bgp ipv4 unicast summary"
        lines = [
            title,
            "=" * len(title),
            f"BGP router identifier {spec.router_id}, local AS number {spec.asn} vrf-id 0",
            f"BGP table version {self.table_version(switch)}",
            "RIB entries 11, using 1672 bytes of memory",
            f"Peers {len(ends)}, using {len(ends) * 20 - 1} KiB of memory",
            "Peer groups 1, using 64 bytes of memory",
            "",
            f"{'Neighbor':<{width}}V         AS MsgRcvd MsgSent   TblVer  InQ OutQ  Up/Down "
            "State/PfxRcd",
        ]
        for cell, e in zip(cells, ends, strict=True):
            state = str(e.prefixes) if e.state == "Established" else e.state
            if e.policy_blocked:
                state = "(Policy)"
            lines.append(
                f"{cell:<{width}}4 {e.remote_as:>10} {e.msg_rcvd:>7} {e.msg_sent:>7} "
                f"{0:>8} {0:>4} {0:>4} {e.uptime:>8} {state:>12}"
            )
        lines += ["", f"Total number of neighbors {len(ends)}"]
        dynamic = sum(e.dynamic for e in ends)
        if dynamic:
            lines += ["* - dynamic neighbor", f"{dynamic} dynamic neighbor(s), limit 100"]
        lines += ["", ""]
        for family in ("ipv6 unicast", "l2vpn evpn"):
            title = f"show bgp {family} summary"
            lines += [title, "=" * len(title), "% No BGP neighbors found", "", ""]
        return "\n".join(lines).rstrip("\n") + "\n"

    def render_frr_json(self, switch: str, now: float) -> str:
        spec = topo.SWITCH_BY_NAME[switch]
        ends = self.printed_ends(switch, now)
        peers: dict[str, dict[str, object]] = {}
        for e in ends:
            peer: dict[str, object] = {}
            if e.hostname:
                peer["hostname"] = e.hostname
            peer.update(
                remoteAs=e.remote_as,
                localAs=spec.asn,
                version=4,
                msgRcvd=e.msg_rcvd,
                msgSent=e.msg_sent,
                tableVersion=0,
                outq=0,
                inq=0,
                peerUptime=e.uptime,
                peerUptimeMsec=int((e.uptime_s or 0) * 1000),
            )
            if e.state == "Established":
                peer["peerUptimeEstablishedEpoch"] = int(now - (e.uptime_s or 0))
                peer["pfxRcd"] = e.prefixes
                peer["pfxSnt"] = e.prefixes
            peer["state"] = e.state
            peer["peerState"] = "OK" if e.state == "Established" else "Policy"
            if e.policy_blocked:
                peer["peerState"] = "Policy"
            if e.dynamic:
                peer["dynamicPeer"] = True
            peer["connectionsEstablished"] = 1
            peer["connectionsDropped"] = 0
            peer["idType"] = "ipv4"
            peers[e.neighbor] = peer
        body = {
            "routerId": spec.router_id,
            "as": spec.asn,
            "vrfId": 0,
            "vrfName": "default",
            "tableVersion": self.table_version(switch),
            "ribCount": 11,
            "ribMemory": 2024,
            "peerCount": len(ends),
            "peerMemory": len(ends) * 20 * 1024,
            "peerGroupCount": 1,
            "peerGroupMemory": 64,
            "peers": peers,
            "failedPeers": sum(1 for e in ends if e.state != "Established"),
            "totalPeers": len(ends),
            "dynamicPeers": sum(e.dynamic for e in ends),
            "bestPath": {"multiPathRelax": "true"},
        }
        return json.dumps({"ipv4Unicast": body}, indent=2) + "\n"


def _rid_key(name: str) -> tuple[int, ...]:
    return tuple(int(x) for x in topo.SWITCH_BY_NAME[name].router_id.split("."))
