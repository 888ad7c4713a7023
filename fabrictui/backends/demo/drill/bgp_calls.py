"""`DemoDrillCalls`, mixed into DemoBackend: one BGP session, a node's BIRD protocol and a
switch's interfaces, printed by the simulated devices (printing.py) and read back through
the real parsers, as a real lab's are.

What follows the demo's faults: a cut uplink resets both ends ("Interface down", FRR's
fast external failover, no NOTIFICATION) and downs the leaf's port; a stopped spine makes
its leaves' sessions end when their hold timer expires, with the NOTIFICATION the leaf
sends (Hold Timer Expired, code 4); a node whose calico-node stopped (BGP mode) drops out
of its leaf's dynamic neighbours (FRR deletes a dynamic peer whose session ends) and its
BIRD no longer answers (a stopped BIRD's end is in the leaf's FRR log, as the rehearsal
lab's real FRR 8.4 logs it); an MTU fault shows on its port.
"""

from __future__ import annotations

import time

from fabrictui.backends.base import BackendError, NotFound, Unreachable
from fabrictui.backends.demo import topology as topo
from fabrictui.backends.demo.bgp import DemoBgp
from fabrictui.backends.demo.drill import printing
from fabrictui.backends.demo.drill.printing import SessionFacts
from fabrictui.backends.demo.fabric import EndView, Fabric
from fabrictui.backends.demo.kube import KubeSim
from fabrictui.backends.demo.tracing import PORTS
from fabrictui.backends.demo.traffic import Traffic
from fabrictui.model import Role
from fabrictui.parsers import ParseError
from fabrictui.parsers.bgp import parse_bgp_neighbors
from fabrictui.parsers.bgp.bird_session import BirdSession, not_a_protocol, parse_protocols_all
from fabrictui.parsers.bgp.neighbor import BgpNeighbor, no_such_neighbor
from fabrictui.parsers.bgp.neighbor.logged import LoggedChange, last_change
from fabrictui.parsers.bgp.values import check_neighbor
from fabrictui.parsers.bird import parse_protocols, peer_address_of
from fabrictui.parsers.interfaces import Interface, parse_interfaces

SWITCH_PORT_SPEED = 1000  # Mb/s, as Cumulus VX's virtio ports report


class DemoBgpDetailCalls:
    fabric: Fabric
    bgp: DemoBgp
    kube: KubeSim
    traffic: Traffic

    def _now(self) -> float:  # provided by DemoBackend
        raise NotImplementedError

    # -- what the devices print -----------------------------------------------------------

    def _reachable(self, switch: str, now: float) -> None:
        spec = topo.SWITCH_BY_NAME.get(switch)
        if spec is None:
            raise NotFound(f"{switch}: no such switch in the demo lab")
        if spec.role is Role.SPINE and not self.fabric.spine_running[switch]:
            raise Unreachable(f"{switch}: unreachable (VM is powered off)")
        if spec.role is Role.SPINE and not self.fabric.spine_reachable(switch, now):
            raise Unreachable(f"{switch}: unreachable (booting, ssh not up yet)")

    def _fabric_facts(self, switch: str, peer: str, end: EndView, now: float) -> SessionFacts:
        spec = topo.SWITCH_BY_NAME[switch]
        sess = next(
            s
            for s in self.fabric.sessions.values()
            if switch in s.key and peer in (topo.link(*s.key).leaf_ip, topo.link(*s.key).spine_ip)
        )
        link = topo.link(*sess.key)
        is_leaf = switch == sess.leaf
        other = sess.spine if is_leaf else sess.leaf
        down_at = sess.leaf_down_at if is_leaf else sess.spine_down_at
        reason, notification, words = "", None, ""
        if down_at is not None and sess.down_reason == "link":
            reason = "Interface down"
        elif down_at is not None and sess.down_reason == "peer-off" and is_leaf:
            reason, notification, words = "BGP Notification send", (4, 0), "Hold Timer Expired"
        elif down_at is not None and sess.down_reason == "admin" and is_leaf:
            reason = "Admin. shutdown"  # FRR's words on the side that shut it
        elif down_at is not None and sess.down_reason == "admin":
            reason, notification = "BGP Notification received", (6, 2)
            words = "Cease/Administrative Shutdown"
        reset = now - down_at if reason and down_at is not None and down_at <= now else None
        up = end.state == "Established"
        dropped = 1 if reset is not None else 0
        best = self.fabric.best_routes(now)
        return SessionFacts(
            peer=peer,
            hostname=end.hostname,
            local_as=spec.asn,
            remote_as=end.remote_as,
            local_address=link.leaf_ip if is_leaf else link.spine_ip,
            router_id=spec.router_id,
            remote_router_id=topo.SWITCH_BY_NAME[other].router_id if up else None,
            state=end.state,
            up_seconds=end.uptime_s if up else None,
            reset_seconds=reset,
            reset_reason=reason,
            notification=notification,
            notification_words=words,
            msg_sent=end.msg_sent,
            msg_rcvd=end.msg_rcvd,
            accepted=end.prefixes or 0,
            advertised=self.fabric.prefixes_from(best, other, switch) if up else 0,
            established=(1 if sess.ever_up else 0) + (1 if up and dropped else 0),
            dropped=dropped,
            admin_shutdown=is_leaf and sess.key in self.fabric.admin_shut,
        )

    def _node_facts(self, leaf: str, end: EndView) -> SessionFacts:
        spec = topo.SWITCH_BY_NAME[leaf]
        up = end.state == "Established"
        return SessionFacts(
            peer=end.neighbor,
            hostname=None,
            local_as=spec.asn,
            remote_as=end.remote_as,
            local_address=str(spec.server_subnet or "").rsplit(".", 1)[0] + ".1",
            router_id=spec.router_id,
            remote_router_id=end.neighbor if up else None,
            state=end.state,
            up_seconds=end.uptime_s if up else None,
            reset_seconds=None,
            reset_reason="",
            notification=None,
            notification_words="",
            msg_sent=end.msg_sent,
            msg_rcvd=end.msg_rcvd,
            accepted=end.prefixes or 0,
            advertised=len(self.fabric.best_routes(self._now())[leaf]) if up else 0,
            established=1 if up else 0,
            dropped=0,
        )

    def bgp_neighbor_text(self, switch: str, peer: str) -> str:
        """What the switch prints for `show bgp neighbors PEER`: FRR's JSON on a spine,
        NCLU's text on a leaf (Cumulus), as their summaries are printed."""
        now = self._now()
        self._reachable(switch, now)
        leaf = switch in topo.LEAVES
        facts = None
        for end in self.fabric.ends(switch, now):
            if end.neighbor == peer:
                facts = self._fabric_facts(switch, peer, end, now)
        if leaf and facts is None:
            for end in self.bgp.node_ends(switch, now):
                if end.neighbor == peer:
                    facts = self._node_facts(switch, end)
        if facts is None:
            return printing.NO_SUCH_NEIGHBOR_TEXT if leaf else printing.NO_SUCH_NEIGHBOR_JSON
        return printing.frr_text(facts) if leaf else printing.frr_json(facts, now)

    def bgpd_log_text(self, switch: str) -> str:
        """The end of the leaf's bgpd log (`bgp log-neighbor-changes`): each node session a
        stopped BIRD ended (BIRD's Cease / Administrative Shutdown, then FRR deletes the
        dynamic neighbour), and its coming back, in FRR 8.4's words and time stamps."""
        now = self._now()
        lines: list[tuple[float, str]] = []
        for node in topo.NODES:
            at = self.bgp.stopped_at.get(node.name)
            if node.leaf != switch or at is None:
                continue
            lines.append((at, f"[H7QV4-WR3ZD] %NOTIFICATION: received from neighbor {node.ip} "
                              "6/2 (Cease/Administrative Shutdown) 0 bytes"))  # fmt: skip
            lines.append((at, f"[PXVXG-TFNNT] %ADJCHANGE: neighbor {node.ip}(Unknown) in vrf "
                              "default Down Neighbor deleted"))  # fmt: skip
            back = self.bgp.sessions.get(node.name)
            if back is not None and back.est_at is not None and at < back.est_at <= now:
                lines.append((back.est_at, f"[N9HHH-F8H1M] %ADJCHANGE: neighbor {node.ip}"
                                           "(Unknown) in vrf default Up"))  # fmt: skip
        return "".join(f"{_stamp(t)} BGP: {line}\n" for t, line in sorted(lines))

    def bird_all_text(self, node: str, protocol: str) -> str:
        """What `birdcl show protocols all NAME` prints on the node."""
        now = self._now()
        text = self.bgp.bird_text(node, now)
        if text.startswith("Unable to connect"):
            return text
        row = next((p for p in parse_protocols(text) if p.name == protocol), None)
        if row is None:
            return f"BIRD v0.3.3+birdv1.6.8 ready.\n{protocol} is not a protocol\n"
        line = f"{row.name:<8} {row.proto:<8} master   {row.state:<6} {row.since:<11} {row.info}"
        words = row.info.split(None, 1)
        state = words[0] if words else "Down"
        details = [("BGP state", state)]
        address = peer_address_of(row.name)
        spec = topo.NODE_BY_NAME[node]
        leaf = topo.SWITCH_BY_NAME[spec.leaf]
        peer_node = next((n for n in topo.NODES if n.ip == address), None)
        peer_as = leaf.asn if peer_node is None else (self.bgp.node_asn.get(peer_node.name) or 0)
        details += [("Neighbor address", address or "?"), ("Neighbor AS", str(peer_as))]
        routes = (0, 0)
        if state == "Established":
            rid = leaf.router_id if peer_node is None else peer_node.ip
            details += [("Neighbor ID", rid), ("Session", "external AS4")]
            details += [("Source address", spec.ip), ("Hold timer", "7/9")]
            details += [("Keepalive timer", "1/3")]
            rec = self.kube.nodes.get(node)
            own = len(rec.blocks) if rec is not None else 0
            others = sum(len(r.blocks) for name, r in self.kube.nodes.items() if name != node)
            routes = (others, own)
        elif len(words) > 1:
            details.append(("Last error", words[1].strip()))
        return printing.bird_all(line.rstrip(), details, routes)

    def interfaces_text(self, switch: str) -> str:
        now = self._now()
        self._reachable(switch, now)
        tracer = self.traffic.tracer
        rows: list[tuple[str, str, int | None, int, int, int]] = [
            ("lo", "unknown", None, 65536, 0, 0),
            ("eth0", "up", SWITCH_PORT_SPEED, 1500, 0, 1),
        ]
        for (host, other), port in sorted(PORTS.items(), key=lambda kv: kv[1]):
            if host != switch:
                continue
            state, changes = "up", 1
            key = (switch, other) if switch in topo.LEAVES else (other, switch)
            sess = self.fabric.sessions.get(key)
            if sess is not None:
                cut = not self.fabric.link_up[key]
                if sess.down_reason == "link":
                    changes = 2 if cut else 3
                if cut or (other in topo.SPINES and not self.fabric.spine_running[other]):
                    state = "down"
            rows.append((port, state, SWITCH_PORT_SPEED, tracer.mtu_of(switch, port), 0, changes))
        return printing.interfaces_text(rows)

    # -- the backend's calls ------------------------------------------------------------

    async def bgp_neighbor(self, switch: str, peer: str) -> BgpNeighbor:
        try:
            check_neighbor(peer, "peer")
        except ParseError:
            raise BackendError(f"{peer[:60]!r} is neither an address nor an interface") from None
        text = self.bgp_neighbor_text(switch, peer)
        said = no_such_neighbor(text)
        if said is not None:
            raise NotFound(f"{switch}: {said} ({peer})")
        try:
            return parse_bgp_neighbors(text)[0]
        except (ParseError, IndexError) as err:
            raise BackendError(f"{switch}: {err}") from None

    async def bgp_neighbor_logged(self, switch: str, peer: str) -> LoggedChange | None:
        try:
            check_neighbor(peer, "peer")
        except ParseError:
            raise BackendError(f"{peer[:60]!r} is neither an address nor an interface") from None
        now = self._now()
        self._reachable(switch, now)
        try:
            return last_change(self.bgpd_log_text(switch), peer, _stamp(now))
        except ParseError as err:
            raise BackendError(f"{switch}: its log: {err}") from None

    async def node_bgp_session(self, node: str, protocol: str) -> BirdSession:
        if node not in topo.NODE_BY_NAME:
            raise NotFound(f"{node}: no such node in the demo lab")
        text = self.bird_all_text(node, protocol)
        said = not_a_protocol(text)
        if said is not None:
            raise NotFound(f"{node}: BIRD: {said}")
        try:
            sessions = parse_protocols_all(text)
        except ParseError as err:
            raise BackendError(f"{node}: BIRD: {err}") from None
        return sessions[0]

    async def switch_interfaces(self, switch: str) -> list[Interface]:
        try:
            return parse_interfaces(self.interfaces_text(switch))
        except ParseError as err:
            raise BackendError(f"{switch}: interfaces: {err}") from None


def _stamp(t: float) -> str:
    """FRR's log time stamp (the demo's clock is UTC)."""
    return time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(t))
