"""The demo lab's side of a path trace: captures at any port, and the state reads.

An echo is walked hop by hop with the same rules `traffic.py` decides it by (routes to the
target's block need calico-node on both nodes, the fabric needs a spine in the source leaf's
ECMP set and powered, the target must be a Running pod that is not black-holed), and at every
interface it crosses it is written, as pcap bytes, to the trace captures open there: plain
ICMP on the pod's veth and on vxlan.calico, VXLAN on eth0 and the switch ports. Each host's
clock is off by its own fixed amount (up to 0.3 s), as real hosts' are.

The reads print what the real tools print (`ip route get`, `ip route show match`, `ip neigh`,
`bridge fdb`, `ip -br link`, FRR's `show ip route ... json`), from the same live state; the
trace parses them with the parsers it uses on a real lab.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from typing import Protocol

from fabrictui.backends.base import BackendError, NotFound, Unreachable
from fabrictui.backends.demo import topology as topo
from fabrictui.backends.demo.fabric import Fabric
from fabrictui.backends.demo.kube import KubeSim
from fabrictui.backends.demo.objects import PodRec
from fabrictui.backends.demo.wire import DemoCapture, vxlan_echo
from fabrictui.backends.trace_ports import calico_veth, conventional_ports
from fabrictui.capture.synth import (
    calico_vtep_mac,
    ethernet_header,
    icmp_echo,
    ipv4_header,
    ping_payload,
)
from fabrictui.constants import VXLAN_DEVICE
from fabrictui.model import Role

PORTS = conventional_ports(topo.SHAPE)
HOP_DELAY = 0.00002  # seconds between two interfaces of a path
HOST_VETH_MAC = "ee:ee:ee:ee:ee:ee"  # Calico's host-side veth MAC
MAX_SKEW = 0.3


def clock_skew(host: str) -> float:
    """The fixed amount `host`'s clock is off by (seconds, within +-MAX_SKEW)."""
    digest = hashlib.sha1(f"clock:{host}".encode()).digest()
    return (int.from_bytes(digest[:2], "big") / 65535.0 * 2.0 - 1.0) * MAX_SKEW


Hop = tuple[str, str, bool]  # host, interface, encapsulated there


class Traffic(Protocol):
    """What a trace reads of the demo's traffic (`traffic.Traffic` is it), named here so
    that traffic.py, which owns the tracer, is not imported back."""

    fabric: Fabric
    kube: KubeSim
    blackholed: set[str]

    def native_routing(self) -> bool:
        """Calico's BGP mode: pods send plain IP, with no VXLAN overhead."""
        ...


UNDERLAY_MTU = 1500  # every cable of the demo lab, and the nodes' eth0
VXLAN_OVERHEAD = 50  # outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8: what Calico leaves room for


class Tracer:
    def __init__(self, traffic: Traffic) -> None:
        self.traffic = traffic
        self.captures: list[DemoCapture] = []
        # (host, interface) -> an MTU set by the fault "mtu:<host>:<interface>"
        self.mtus: dict[tuple[str, str], int] = {}

    # -- MTUs -------------------------------------------------------------------------------

    def pod_mtu(self) -> int:
        """The MTU Calico gives pods and its VXLAN device: the underlay's, less the room the
        encapsulation needs (none in BGP mode)."""
        return UNDERLAY_MTU if self.traffic.native_routing() else UNDERLAY_MTU - VXLAN_OVERHEAD

    def mtu_of(self, host: str, iface: str) -> int:
        if (host, iface) in self.mtus:
            return self.mtus[(host, iface)]
        if iface == VXLAN_DEVICE or iface.startswith("cali"):
            return self.pod_mtu()
        return 65536 if iface == "lo" else UNDERLAY_MTU

    def too_big(
        self, src: PodRec, dst_ip: str, at: float, flow: int, packet: int, df: bool = True
    ) -> tuple[bool, tuple[str, int] | None, int]:
        """Whether a DF packet of `packet` bytes from `src` crosses to `dst_ip`, and the
        frag-needed answer (reporter, MTU) of the router that refused it. As a Linux router
        does: too big for the port it leaves by, a DF packet is refused with an ICMP answer
        (VXLAN's outer packet has no DF: it is fragmented and crosses); too big for the port
        it arrives on, it is dropped without a word. Third: the hops it crossed."""
        hops = self.walk(src, dst_ip, at, flow)
        for i, (host, iface, encapsulated) in enumerate(hops[1:], start=1):
            extra = VXLAN_OVERHEAD if encapsulated and not self.traffic.native_routing() else 0
            mtu = self.mtu_of(host, iface)
            if packet + extra <= mtu:
                continue
            leaving = i == len(hops) - 1 or hops[i + 1][0] != host
            if hops[i - 1][0] != host and not leaving:
                return (False, None, i)  # arrives too big: dropped silently
            if not df or (extra and host not in topo.NODE_BY_NAME):
                continue  # fragmented (no DF, or VXLAN's outer packet)
            if extra:  # the node's VXLAN driver checks the outer path MTU for a DF inner one
                mtu -= extra
            spec = topo.SWITCH_BY_NAME.get(host)
            reporter = spec.router_id if spec else topo.NODE_BY_NAME[host].ip
            return (False, (reporter, mtu), i)
        return (True, None, len(hops))

    # -- captures ---------------------------------------------------------------------------

    def open(self, host: str, interface: str) -> DemoCapture:
        if host not in topo.SWITCH_BY_NAME and host not in topo.NODE_BY_NAME:
            raise NotFound(f"{host}: no such host in the demo lab")
        if host in topo.SPINES and not self.traffic.fabric.spine_running[host]:
            raise Unreachable(f"{host}: unreachable (VM is powered off)")
        if interface not in self._interfaces(host):
            raise BackendError(
                f"{host}: tcpdump: {interface}: No such device exists "
                "(SIOCGIFHWADDR: No such device)"
            )
        cap = DemoCapture(host, interface, self._closed)
        self.captures.append(cap)
        return cap

    def _closed(self, cap: DemoCapture) -> None:
        if cap in self.captures:
            self.captures.remove(cap)

    # -- the walk of one echo ---------------------------------------------------------------

    def walk(self, src: PodRec, dst_ip: str, at: float, flow: int) -> list[Hop]:
        """The interfaces an echo from `src` to `dst_ip` crosses, in order, up to where it
        is dropped (the same decisions as Traffic._leg and Traffic.echo)."""
        tr = self.traffic
        kube = tr.kube
        assert src.node is not None
        a = src.node
        hops: list[Hop] = [(a, calico_veth(src.namespace, src.name), False)]
        target = kube.pod_by_ip(dst_ip)
        delivered = (
            target is not None and target.status == "Running" and target.key not in tr.blackholed
        )
        if target is not None and target.node == a:
            if delivered and src.key not in tr.blackholed and a not in kube.calico_faulted:
                hops.append((a, calico_veth(target.namespace, target.name), False))
            return hops
        dst_node = kube.node_for_ip(dst_ip)
        src_rec = kube.nodes[a]
        if dst_node is None or not src_rec.calico_running or not dst_node.calico_running:
            return hops
        b = dst_node.name
        leaf_a, leaf_b = topo.NODE_BY_NAME[a].leaf, topo.NODE_BY_NAME[b].leaf
        hops += [(a, VXLAN_DEVICE, False), (a, "eth0", True), (leaf_a, PORTS[(leaf_a, a)], True)]
        if leaf_a != leaf_b:
            spines = tr.fabric.forwarding_spines(leaf_a, leaf_b, at)
            if not spines:
                return hops
            spine = spines[flow % len(spines)]
            hops.append((leaf_a, PORTS[(leaf_a, spine)], True))
            if not tr.fabric.spine_running[spine]:
                return hops
            hops += [
                (spine, PORTS[(spine, leaf_a)], True),
                (spine, PORTS[(spine, leaf_b)], True),
                (leaf_b, PORTS[(leaf_b, spine)], True),
            ]
        hops += [(leaf_b, PORTS[(leaf_b, b)], True), (b, "eth0", True), (b, VXLAN_DEVICE, False)]
        if delivered and target is not None and target.node == b:
            hops.append((b, calico_veth(target.namespace, target.name), False))
        return hops

    def emit(
        self,
        src: PodRec,
        dst_ip: str,
        at: float,
        flow: int,
        icmp_type: int,
        icmp_id: int,
        seq: int,
        payload: int,
        upto: int | None = None,
    ) -> None:
        """Write the echo to every trace capture on its way (its first `upto` hops: where a
        port too small for it stopped it)."""
        if not self.captures:
            return
        assert src.node is not None and src.ip is not None
        hops = self.walk(src, dst_ip, at, flow)[:upto]
        watched = {(c.node, c.interface) for c in self.captures}
        dst_node = self.traffic.kube.node_for_ip(dst_ip)
        icmp = icmp_echo(icmp_type, icmp_id, seq, ping_payload(payload))
        for i, (host, iface, encapsulated) in enumerate(hops):
            if (host, iface) not in watched:
                continue
            if encapsulated and dst_node is not None:
                ttl = 64 - sum(1 for h in hops[:i] if h[0] in topo.SWITCH_BY_NAME)
                frame = vxlan_echo(
                    src.node, dst_node.name, src.ip, dst_ip, icmp_type, icmp_id, seq, payload, ttl
                )
            else:
                inner = ipv4_header(src.ip, dst_ip, 1, len(icmp), ttl=64, dont_fragment=True)
                frame = ethernet_header(HOST_VETH_MAC, HOST_VETH_MAC) + inner + icmp
            ts = at + i * HOP_DELAY + clock_skew(host)
            for cap in self.captures:
                if cap.node == host and cap.interface == iface:
                    cap.push(ts, frame)

    # -- state reads ---------------------------------------------------------------------------

    def _interfaces(self, host: str) -> dict[str, str]:
        """Interface -> its `ip -br link` line."""
        fabric = self.traffic.fabric
        out: dict[str, str] = {"lo": _link("lo", True, "00:00:00:00:00:00", loopback=True)}
        if host in topo.NODE_BY_NAME:
            node = topo.NODE_BY_NAME[host]
            out["eth0"] = _link("eth0", True, node.mac)
            rec = self.traffic.kube.nodes.get(host)
            if rec is not None and rec.block is not None:
                out[VXLAN_DEVICE] = _link(VXLAN_DEVICE, True, calico_vtep_mac(host), tunnel=True)
            for pod in self.traffic.kube.pods.values():
                if pod.node == host and pod.ip and not pod.host_network and pod.status in (
                    "Running", "Terminating", "CrashLoopBackOff"
                ):  # fmt: skip
                    name = calico_veth(pod.namespace, pod.name)
                    out[name] = _link(name, True, HOST_VETH_MAC, peer="if3")
            return out
        for (a, b), port in sorted(PORTS.items()):
            if a != host:
                continue
            up = True
            if (a, b) in fabric.link_up:
                up = fabric.link_up[(a, b)]
            elif (b, a) in fabric.link_up:
                up = fabric.link_up[(b, a)]
            out[port] = _link(port, up, _switch_mac(host, port))
        return out

    def read(self, host: str, read: str, arg: str, now: float) -> str:
        if host not in topo.SWITCH_BY_NAME and host not in topo.NODE_BY_NAME:
            raise NotFound(f"{host}: no such host in the demo lab")
        fabric = self.traffic.fabric
        if host in topo.SPINES and not fabric.spine_reachable(host, now):
            raise Unreachable(f"{host}: unreachable (VM is powered off)")
        if read == "links":
            return "".join(line + "\n" for line in self._interfaces(host).values())
        if read == "mtus":  # `ip -o link`
            return "".join(
                f"{n}: {name}: <{'DOWN' if ' DOWN ' in line else 'UP'}> "
                f"mtu {self.mtu_of(host, name)} qdisc noqueue state UP\n"
                for n, (name, line) in enumerate(self._interfaces(host).items(), start=1)
            )
        if host in topo.SWITCH_BY_NAME:
            if read == "route":
                return self._switch_route(host, arg, now)
            raise BackendError(f"{host}: no {read} read on a switch")
        if read == "route":
            return self._route_get(host, arg)
        if read == "routes":
            return self._route_show(host, arg)
        if read in ("neigh", "fdb"):
            return self._vxlan_table(host, read)
        raise BackendError(f"unknown state read {read!r}")

    def _node_routes(self, host: str) -> list[tuple[str, str]]:
        """(prefix, `ip route` line) of the node, as calico-node and the kubelet set them."""
        kube = self.traffic.kube
        node = topo.NODE_BY_NAME[host]
        rec = kube.nodes[host]
        subnet = ipaddress.IPv4Network(f"{node.ip}/24", strict=False)
        routes = [(str(subnet), f"{subnet} dev eth0 proto kernel scope link src {node.ip}")]
        gateway = topo.SHAPE.host(host)
        if gateway is not None and gateway.gateway:
            routes.append(("10.0.0.0/16", f"10.0.0.0/16 via {gateway.gateway} dev eth0"))
        if not rec.calico_running and host in kube.calico_faulted:
            return routes  # the routes calico-node programs are gone with it
        for block in rec.blocks:
            routes.append((block, f"blackhole {block} proto 80"))
        for other in kube.nodes.values():
            if other.name == host or not other.calico_running or other.tunnel_ip is None:
                continue
            for block in other.blocks:
                routes.append(
                    (block, f"{block} via {other.tunnel_ip} dev {VXLAN_DEVICE} proto 80 onlink")
                )
        for pod in kube.pods.values():
            if pod.node != host or not pod.ip or pod.host_network:
                continue
            if pod.key in self.traffic.blackholed:
                routes.append((f"{pod.ip}/32", f"blackhole {pod.ip}"))
            elif pod.status == "Running":
                veth = calico_veth(pod.namespace, pod.name)
                routes.append((f"{pod.ip}/32", f"{pod.ip} dev {veth} scope link"))
        return routes

    def _matching(self, host: str, address: str) -> list[tuple[ipaddress.IPv4Network, str]]:
        addr = ipaddress.IPv4Address(address)
        found = []
        for prefix, line in self._node_routes(host):
            net = ipaddress.IPv4Network(prefix)
            if addr in net:
                found.append((net, line))
        return found

    def _route_get(self, host: str, address: str) -> str:
        _check_ip(address)
        found = self._matching(host, address)
        if not found:
            return "RTNETLINK answers: Network is unreachable\n"
        _net, line = max(found, key=lambda f: f[0].prefixlen)
        if line.startswith("blackhole"):
            return "RTNETLINK answers: Invalid argument\n"
        words = line.split()
        node = topo.NODE_BY_NAME[host]
        src = node.ip
        dev = words[words.index("dev") + 1]
        if dev == VXLAN_DEVICE:
            src = self.traffic.kube.nodes[host].tunnel_ip or node.ip
        via = f" via {words[words.index('via') + 1]}" if "via" in words else ""
        return f"{address}{via} dev {dev} src {src} uid 0 \n    cache \n"

    def _route_show(self, host: str, address: str) -> str:
        _check_ip(address)
        return "".join(line + " \n" for _net, line in self._matching(host, address))

    def _vxlan_table(self, host: str, read: str) -> str:
        kube = self.traffic.kube
        rec = kube.nodes[host]
        if rec.block is None:
            return f'Cannot find device "{VXLAN_DEVICE}"\n'
        if not rec.calico_running and host in kube.calico_faulted:
            return ""
        lines = []
        for other in sorted(kube.nodes.values(), key=lambda n: n.name):
            if other.name == host or not other.calico_running or other.tunnel_ip is None:
                continue
            mac = calico_vtep_mac(other.name)
            if read == "neigh":
                lines.append(f"{other.tunnel_ip} lladdr {mac} PERMANENT")
            else:
                lines.append(f"{mac} dst {other.ip} self permanent")
        return "".join(line + "\n" for line in lines)

    def _switch_route(self, switch: str, address: str, now: float) -> str:
        """FRR `show ip route ADDRESS json`: the best route covering it."""
        _check_ip(address)
        fabric = self.traffic.fabric
        addr = ipaddress.IPv4Address(address)
        table = fabric.best_routes(now).get(switch, {})
        covering = [p for p in table if addr in ipaddress.IPv4Network(p)]
        if not covering:
            return "{}\n"
        prefix = max(covering, key=lambda p: ipaddress.IPv4Network(p).prefixlen)
        path, via = table[prefix]
        spec = topo.SWITCH_BY_NAME[switch]
        if via is None:
            entry = {
                "prefix": prefix,
                "protocol": "connected",
                "selected": True,
                "installed": True,
                "nexthops": [
                    {"directlyConnected": True, "interfaceName": "bridge", "active": True}
                ],
            }
        else:
            if spec.role is Role.LEAF:
                dst_leaf = next((s.name for s in topo.SWITCHES if s.server_subnet == prefix), None)
                hops = fabric.forwarding_spines(switch, dst_leaf, now) if dst_leaf else [via]
                hops = hops or [via]
            else:
                hops = [via]
            nexthops = []
            for nb in hops:
                leaf, spine = (switch, nb) if spec.role is Role.LEAF else (nb, switch)
                link = topo.link(leaf, spine)
                ip = link.spine_ip if spec.role is Role.LEAF else link.leaf_ip
                nexthops.append(
                    {"ip": ip, "afi": "ipv4", "interfaceName": PORTS[(switch, nb)],
                     "active": True, "fib": True}
                )  # fmt: skip
            entry = {
                "prefix": prefix,
                "protocol": "bgp",
                "selected": True,
                "installed": True,
                "asPath": " ".join(str(a) for a in path),
                "nexthops": nexthops,
            }
        return json.dumps({prefix: [entry]}, indent=2) + "\n"


def _check_ip(address: str) -> None:
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        raise BackendError(
            f'Error: any valid prefix is expected rather than "{address}".'
        ) from None


def _switch_mac(host: str, port: str) -> str:
    digest = hashlib.sha1(f"{host}:{port}".encode()).digest()
    return "44:38:39:" + ":".join(f"{b:02x}" for b in digest[:3])


def _link(
    name: str,
    up: bool,
    mac: str,
    loopback: bool = False,
    tunnel: bool = False,
    peer: str | None = None,
) -> str:
    label = f"{name}@{peer}" if peer else name
    if loopback:
        return f"{label:<16} UNKNOWN        {mac} <LOOPBACK,UP,LOWER_UP> "
    if tunnel:
        return f"{label:<16} UNKNOWN        {mac} <BROADCAST,MULTICAST,UP,LOWER_UP> "
    if up:
        return f"{label:<16} UP             {mac} <BROADCAST,MULTICAST,UP,LOWER_UP> "
    return f"{label:<16} DOWN           {mac} <BROADCAST,MULTICAST> "
