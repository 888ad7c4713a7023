"""The demo lab in BGP mode (LAB.md "Scenario 2"): what the cluster's Calico objects and
the leaves' configuration say, the nodes' BIRD sessions with their leaf, the routes the
switches then hold, and the text each device prints for them.

It reads what an operator (or fabrictui's BGP-mode action) applies: the Calico objects
(`calico-config`'s `calico_backend`, nodes' `projectcalico.org/ASNumber`, BGPPeers,
BGPConfiguration, the IPPool's `vxlanMode`) and the switch lines (`net add bgp listen
range ...`, vtysh's `bgp listen range`, route-maps). A node's session with its leaf comes
up `ESTABLISH` seconds after everything it needs is there: BIRD running (backend bird and
calico-node Running), a BGPPeer selecting it that points at its leaf with the leaf's AS,
and the leaf listening on its subnet. A leaf configured in vtysh without route-maps is
plain FRR without an eBGP policy: the sessions come up as `(Policy)` and carry nothing.

Switching the pool's encapsulation reprograms each node's routes within `REPROGRAM` s
(drawn per node): a packet a node sends while it does is lost, which is what the
migration's continuous ping measures.
"""

from __future__ import annotations

import ipaddress
import random
import re
from dataclasses import dataclass, field
from typing import Any

from fabrictui.backends.demo import topology as topo
from fabrictui.backends.demo.fabric import EndView, format_uptime
from fabrictui.backends.demo.kube import KubeSim
from fabrictui.backends.demo.sim import Simulation
from fabrictui.capture.synth import ethernet_header, icmp_echo, ipv4_header, ping_payload
from fabrictui.intent.calico_bgp import design_for, leaf_lines, spine_lines, to_bgp_objects
from fabrictui.intent.labshape import node_asn

ESTABLISH = 1.5  # BIRD's connect, OPEN and first UPDATE, about as quick as FRR's
REPROGRAM = (0.1, 0.5)  # seconds a node takes to move its routes to the new data plane
LEAF_MAC = "44:38:39:00:00:01"  # the leaf's bridge MAC the nodes send native traffic to
BIRD_SOCKET = "/var/run/calico/bird.ctl"
_LISTEN = re.compile(r"(?:net (add|del) bgp |(no )?\s*bgp )listen range (\S+) peer-group (\S+)")
_ROUTE_MAP = re.compile(r"\s*neighbor (\S+) route-map (\S+) (in|out)")


@dataclass
class NodeSession:
    est_at: float | None = None
    msgs: int = 0


@dataclass
class DemoBgp:
    sim: Simulation
    kube: KubeSim
    seed: int
    backend: str = "vxlan"  # calico-config's calico_backend
    pool_mode: str = "vxlan"  # IPPool vxlanMode Always -> "vxlan", Never -> "bgp"
    mesh: bool = True
    node_asn: dict[str, int] = field(default_factory=dict)
    peers: dict[str, tuple[str, int | None, tuple[str, ...]]] = field(default_factory=dict)
    listen: dict[str, str] = field(default_factory=dict)  # leaf -> listen range
    policy: dict[str, bool] = field(default_factory=dict)  # leaf -> has an eBGP policy
    dialect: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, NodeSession] = field(default_factory=dict)
    reprogram_until: dict[str, float] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)  # nodes whose BIRD is stopped (a fault)
    # when a stopped BIRD ended an Established session (the leaf's FRR logs it: drill/)
    stopped_at: dict[str, float] = field(default_factory=dict)
    changes: int = 0

    def __post_init__(self) -> None:
        for sw in topo.SWITCHES:
            # The demo's leaves are Cumulus (NCLU, datacenter defaults: no policy needed);
            # its spines plain FRR.
            self.dialect[sw.name] = "nclu" if sw.name in topo.LEAVES else "vtysh"
            self.policy[sw.name] = sw.name in topo.LEAVES

    # -- what was applied ---------------------------------------------------------------

    def apply(self, doc: dict[str, Any], t: float) -> str:
        kind = doc.get("kind")
        meta = doc.get("metadata") or {}
        spec = doc.get("spec") or {}
        name = str(meta.get("name", ""))
        if kind == "ConfigMap":
            self.backend = str((doc.get("data") or {}).get("calico_backend", self.backend))
            line = f"configmap/{name} serverside-applied"
        elif kind == "Node":
            asn = (meta.get("annotations") or {}).get("projectcalico.org/ASNumber")
            if asn is not None:
                self.node_asn[name] = int(asn)
            line = f"node/{name} serverside-applied"
        elif kind == "BGPPeer":
            nodes = tuple(re.findall(r"'([^']+)'", str(spec.get("nodeSelector", ""))))
            self.peers[name] = (str(spec.get("peerIP")), spec.get("asNumber"), nodes)
            line = f"bgppeer.crd.projectcalico.org/{name} serverside-applied"
        elif kind == "BGPConfiguration":
            self.mesh = bool(spec.get("nodeToNodeMeshEnabled", True))
            line = f"bgpconfiguration.crd.projectcalico.org/{name} serverside-applied"
        elif kind == "IPPool":
            mode = "vxlan" if spec.get("vxlanMode", "Never") != "Never" else "bgp"
            if mode != self.pool_mode:
                rng = random.Random(f"{self.seed}:{t}")
                for node in topo.NODE_BY_NAME:
                    self.reprogram_until[node] = t + rng.uniform(*REPROGRAM)
            self.pool_mode = mode
            line = f"ippool.crd.projectcalico.org/{name} serverside-applied"
        else:
            line = f"{str(kind).lower()}/{name} serverside-applied"
        self._resync(t)
        return line

    def delete(self, doc: dict[str, Any], t: float) -> str:
        name = str((doc.get("metadata") or {}).get("name", ""))
        if doc.get("kind") == "BGPPeer" and self.peers.pop(name, None) is not None:
            self._resync(t)
            return f'bgppeer.crd.projectcalico.org "{name}" deleted'
        return f'{str(doc.get("kind")).lower()} "{name}" not found'

    def configure(self, switch: str, lines: list[str], t: float) -> list[str]:
        said: list[str] = []
        for line in lines:
            listen = _LISTEN.fullmatch(line.rstrip())
            if listen:
                verb, no, subnet, _group = listen.groups()
                if verb == "del" or no:
                    self.listen.pop(switch, None)
                else:
                    self.listen[switch] = str(ipaddress.IPv4Network(subnet))
            elif _ROUTE_MAP.fullmatch(line):
                self.policy[switch] = True
        if self.dialect[switch] == "nclu" and lines and lines[-1] == "net commit":
            said.append(f"{switch}: net commit: {len(lines) - 1} changes committed")
        else:
            said.append(f"{switch}: vtysh: configuration written")
        self._resync(t)
        return said

    def replay(self, t: float) -> None:
        """The `ready-bgp` scenario's history: fabrictui's BGP-mode deploy applied at `t`
        (switches, then the cluster's objects in the design's order)."""
        design = design_for(topo.SHAPE, self.kube.pool)
        for spine, asn in design.spines:
            self.configure(spine, spine_lines(asn, self.dialect[spine]), t)
        for leaf in design.leaves:
            self.configure(leaf, leaf_lines(design, leaf, self.dialect[leaf]), t)
        for doc in to_bgp_objects(design):
            self.apply(doc, t)
        self.reprogram_until.clear()

    # -- sessions -------------------------------------------------------------------------

    def _wanted(self, node: str) -> bool:
        """Everything the node's session with its leaf needs is in place."""
        spec = topo.NODE_BY_NAME[node]
        rec = self.kube.nodes.get(node)
        if self.backend != "bird" or rec is None or not rec.calico_running or node in self.stopped:
            return False
        listen = self.listen.get(spec.leaf)
        if listen is None or ipaddress.IPv4Address(spec.ip) not in ipaddress.IPv4Network(listen):
            return False
        leaf = topo.SWITCH_BY_NAME[spec.leaf]
        gateway = str(ipaddress.IPv4Network(leaf.server_subnet or "0.0.0.0/0").network_address + 1)
        return any(
            node in nodes and ip == gateway and asn == leaf.asn
            for ip, asn, nodes in self.peers.values()
        )

    def _resync(self, t: float) -> None:
        self.changes += 1
        for node in topo.NODE_BY_NAME:
            sess = self.sessions.setdefault(node, NodeSession())
            if self._wanted(node):
                if sess.est_at is None:
                    sess.est_at = t + ESTABLISH
            else:
                sess.est_at = None

    def set_bird(self, node: str, running: bool, t: float) -> None:
        """BIRD in the node's calico-node stops (the stop-bird fault) or runs again."""
        if not running and self.established(node, t):
            self.stopped_at[node] = t
        (self.stopped.discard if running else self.stopped.add)(node)
        self._resync(t)

    def established(self, node: str, now: float) -> bool:
        sess = self.sessions.get(node)
        if sess is None or sess.est_at is None or sess.est_at > now:
            return False
        return self._wanted(node)  # calico-node may have stopped since

    def carries_routes(self, node: str, now: float) -> bool:
        spec = topo.NODE_BY_NAME[node]
        return self.established(node, now) and self.policy.get(spec.leaf, False)

    @property
    def active(self) -> bool:
        """Any BGP-mode configuration present (sessions to show, BIRD to read)."""
        return self.backend == "bird" or bool(self.listen)

    # -- the data plane -------------------------------------------------------------------

    def forwards(self, src_node: str, dst_node: str, at: float) -> bool:
        """Whether a packet between two nodes' pods gets through the data plane now."""
        for node in (src_node, dst_node):
            if at < self.reprogram_until.get(node, -1.0):
                return False
        if self.pool_mode != "bgp":
            return True
        if topo.NODE_BY_NAME[src_node].leaf == topo.NODE_BY_NAME[dst_node].leaf and self.mesh:
            return True
        return self.carries_routes(dst_node, at) and self.carries_routes(src_node, at)

    def native_frame(
        self,
        src_node: str,
        src_ip: str,
        dst_ip: str,
        icmp_type: int,
        icmp_id: int,
        seq: int,
        ttl: int,
        payload: int = 56,
    ) -> bytes:
        """The echo as it crosses a node's eth0 in BGP mode: plain IP, pod to pod."""
        spec = topo.NODE_BY_NAME[src_node]
        icmp = icmp_echo(icmp_type, icmp_id, seq, ping_payload(payload))
        ip = ipv4_header(src_ip, dst_ip, 1, len(icmp), ttl=ttl, dont_fragment=True)
        return ethernet_header(LEAF_MAC, spec.mac, 0x0800) + ip + icmp

    # -- what devices print -----------------------------------------------------------------

    def node_ends(self, leaf: str, now: float) -> list[EndView]:
        """The leaf's dynamic neighbours: its rack's nodes that opened a session."""
        ends = []
        for node in topo.NODES:
            if node.leaf != leaf:
                continue
            sess = self.sessions.get(node.name)
            if sess is None or sess.est_at is None or not self._wanted(node.name):
                continue
            up = now - sess.est_at
            if up < 0:
                state, uptime, up_s, pfx = "Active", "never", None, None
            else:
                state, uptime, up_s = "Established", format_uptime(up), up
                rec = self.kube.nodes.get(node.name)
                pfx = len(rec.blocks) if rec is not None and self.policy[leaf] else None
            kas = int(max(up, 0) // topo.KEEPALIVE)
            ends.append(
                EndView(
                    neighbor=node.ip,
                    hostname=None,  # BIRD 1.6 sends no hostname capability
                    remote_as=self.node_asn.get(node.name) or node_asn(node.ip) or 0,
                    state=state,
                    uptime=uptime,
                    uptime_s=up_s,
                    msg_rcvd=3 + kas if up_s is not None else 0,
                    msg_sent=3 + kas if up_s is not None else 0,
                    prefixes=pfx,
                    dynamic=True,
                    policy_blocked=state == "Established" and not self.policy[leaf],
                )
            )
        return ends

    def bird_text(self, node: str, now: float) -> str:
        """`birdcl -s /var/run/calico/bird.ctl show protocols` on the node."""
        rec = self.kube.nodes.get(node)
        if self.backend != "bird" or rec is None or not rec.calico_running or node in self.stopped:
            return f"Unable to connect to server control socket ({BIRD_SOCKET}): No such file\n"
        spec = topo.NODE_BY_NAME[node]
        since = _clock(rec.created)
        rows = [("static1", "Static", since, ""), ("kernel1", "Kernel", since, "")]
        rows += [("device1", "Device", since, ""), ("direct1", "Direct", since, "")]
        leaf_asn = topo.SWITCH_BY_NAME[spec.leaf].asn
        for ip, asn, nodes in self.peers.values():
            if node not in nodes:
                continue
            sess = self.sessions.get(node)
            name = "Node_" + ip.replace(".", "_")
            if sess is not None and sess.est_at is not None and sess.est_at <= now:
                rows.append((name, "BGP", _clock(sess.est_at), "Established"))
            elif self.listen.get(spec.leaf) is None:  # the leaf refuses the connection
                rows.append((name, "BGP", since, "Active        Socket: Connection refused"))
            elif asn != leaf_asn:  # the leaf's OPEN names another AS than the BGPPeer
                rows.append((name, "BGP", since, "Idle          BGP Error: Bad peer AS"))
            else:
                rows.append((name, "BGP", since, "Connect"))
        if self.mesh:  # every other node, as the node-to-node mesh peers them
            for other in topo.NODES:
                rec_other = self.kube.nodes.get(other.name)
                if other.name != node and rec_other is not None and rec_other.calico_running:
                    mesh = "Mesh_" + other.ip.replace(".", "_")
                    rows.append((mesh, "BGP", since, "Established"))
        lines = [
            "BIRD v0.3.3+birdv1.6.8 ready.",
            "name     proto    table    state  since       info",
        ]
        for name, proto, when, info in rows:
            state = "up" if proto != "BGP" or info == "Established" else "start"
            lines.append(f"{name:<8} {proto:<8} master   {state:<6} {when:<11} {info}".rstrip())
        return "\n".join(lines) + "\n"


def _clock(t: float) -> str:
    """BIRD 1.6's default `since`: HH:MM:SS (the demo's clock is UTC)."""
    seconds = int(t) % 86400
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
