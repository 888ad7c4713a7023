"""The demo switches' routing tables, printed as the devices print them: the leaves
(Cumulus) NCLU `net show route` text, the spines FRR `show ip route json`.

Server subnets and loopbacks come from the fabric's best paths (`Fabric.best_routes`,
ECMP over the spines a leaf forwards through); in BGP mode each node whose session with
its leaf carries routes adds its pod blocks: on its own leaf via the node, on the spines
via that leaf, on the other leaves via the spines.
"""

from __future__ import annotations

import ipaddress
import json

from fabrictui.backends.base import BackendError
from fabrictui.backends.demo import topology as topo
from fabrictui.backends.demo.bgp import DemoBgp
from fabrictui.backends.demo.fabric import Fabric, format_uptime
from fabrictui.backends.trace_ports import conventional_ports
from fabrictui.parsers import ParseError
from fabrictui.parsers.routes import Route, parse_routes

PORTS = conventional_ports(topo.SHAPE)
BRIDGE = "bridge"  # the leaf's server-facing bridge (Cumulus' usual name)
NCLU_LEGEND = (
    "show ip route",
    "=============",
    "Codes: K - kernel route, C - connected, S - static, R - RIP,",
    "       O - OSPF, I - IS-IS, B - BGP, E - EIGRP, N - NHRP,",
    "       T - Table, v - VNC, V - VNC-Direct, A - Babel, D - SHARP,",
    "       F - PBR, f - OpenFabric,",
    "       > - selected route, * - FIB route, q - queued route, r - rejected route",
    "",
)

# prefix -> (protocol, [(next hop ip or None, interface)], uptime seconds)
Table = dict[str, tuple[str, list[tuple[str | None, str]], float]]


def table(switch: str, fabric: Fabric, bgp: DemoBgp, now: float) -> Table:
    spec = topo.SWITCH_BY_NAME[switch]
    is_leaf = switch in topo.LEAVES
    out: Table = {}
    age = 7676.0
    for link in topo.LINKS:
        if switch in (link.leaf, link.spine):
            mine = link.leaf_ip if is_leaf else link.spine_ip
            other = link.spine if is_leaf else link.leaf
            net = ipaddress.IPv4Network(f"{mine}/31", strict=False)
            out[str(net)] = ("connected", [(None, PORTS[(switch, other)])], age)
    if spec.server_subnet:
        out[spec.server_subnet] = ("connected", [(None, BRIDGE)], age)
    best = fabric.best_routes(now).get(switch, {})
    for prefix, (_path, via) in sorted(best.items()):
        if via is None or prefix in out:
            continue
        out[prefix] = ("bgp", _towards(switch, via, fabric, now), age)
    for node in topo.NODES:
        if not bgp.carries_routes(node.name, now):
            continue
        rec = bgp.kube.nodes.get(node.name)
        sess = bgp.sessions.get(node.name)
        if rec is None or sess is None or sess.est_at is None:
            continue
        up = now - sess.est_at
        if switch == node.leaf:
            hops: list[tuple[str | None, str]] = [(node.ip, BRIDGE)]
        elif is_leaf:
            hops = _towards(switch, node.leaf, fabric, now)
        else:
            hops = _towards(switch, node.leaf, fabric, now)
        if not hops:
            continue
        for block in rec.blocks:
            out[block] = ("bgp", hops, up)
    return out


def _towards(switch: str, target: str, fabric: Fabric, now: float) -> list[tuple[str | None, str]]:
    """Next hops from `switch` to the prefixes behind `target` (a leaf or a spine)."""
    if switch in topo.LEAVES and target in topo.LEAVES:
        spines = fabric.forwarding_spines(switch, target, now)
        return [(topo.link(switch, s).spine_ip, PORTS[(switch, s)]) for s in spines]
    if switch in topo.LEAVES:  # to a spine
        if not fabric.established(fabric.sessions[(switch, target)], now):
            return []
        return [(topo.link(switch, target).spine_ip, PORTS[(switch, target)])]
    if target in topo.LEAVES:  # a spine to a leaf
        if not fabric.established(fabric.sessions[(target, switch)], now):
            return []
        return [(topo.link(target, switch).leaf_ip, PORTS[(switch, target)])]
    return []


def as_read(switch: str, fabric: Fabric, bgp: DemoBgp, now: float) -> list[Route]:
    """The switch's routes as fabrictui reads a real one's: its own text (NCLU on a leaf,
    FRR's JSON on a spine) through the same parser."""
    routes = table(switch, fabric, bgp, now)
    text = nclu_text(routes) if switch in topo.LEAVES else frr_json(routes)
    try:
        return parse_routes(text)
    except ParseError as err:
        raise BackendError(f"{switch}: {err}") from None


def nclu_text(routes: Table) -> str:
    lines = list(NCLU_LEGEND)
    for prefix in sorted(routes, key=_key):
        protocol, hops, age = routes[prefix]
        uptime = format_uptime(age)
        code = "C" if protocol == "connected" else "B"
        for i, (ip, iface) in enumerate(hops):
            if ip is None:
                body = f"is directly connected, {iface}, {uptime}"
            else:
                body = f"via {ip}, {iface}, weight 1, {uptime}"
            if i == 0:
                dist = "" if protocol == "connected" else " [20/0]"
                lines.append(f"{code}>* {prefix}{dist} {body}")
            else:
                lines.append(f"  * {' ' * (len(prefix) + 6)}{body}")
    return "\n".join(lines) + "\n"


def frr_json(routes: Table) -> str:
    doc: dict[str, list[dict[str, object]]] = {}
    for prefix in sorted(routes, key=_key):
        protocol, hops, age = routes[prefix]
        nexthops: list[dict[str, object]] = []
        for ip, iface in hops:
            hop: dict[str, object] = {"flags": 3, "fib": True}
            if ip is None:
                hop["directlyConnected"] = True
            else:
                hop.update(ip=ip, afi="ipv4")
            hop.update(interfaceName=iface, active=True)
            if ip is not None:
                hop["weight"] = 1
            nexthops.append(hop)
        doc[prefix] = [
            {
                "prefix": prefix,
                "prefixLen": int(prefix.split("/")[1]),
                "protocol": protocol,
                "vrfId": 0,
                "vrfName": "default",
                "selected": True,
                "destSelected": True,
                "distance": 0 if protocol == "connected" else 20,
                "metric": 0,
                "installed": True,
                "table": 254,
                "uptime": format_uptime(age),
                "nexthops": nexthops,
            }
        ]
    return json.dumps(doc, indent=2) + "\n"


def _key(prefix: str) -> tuple[int, int]:
    net = ipaddress.IPv4Network(prefix)
    return int(net.network_address), net.prefixlen
