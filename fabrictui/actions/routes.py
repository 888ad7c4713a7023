"""The switches' routes for what the lab is made of: per switch, its route to every rack's
node subnet and (in BGP mode) to every node's pod blocks, with protocol, next hops and
ECMP count, and what is expected but missing. `fabrictui routes` and the routes view read
it; the routes come from `LabBackend.switch_routes` (`show ip route json`, parsed).
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass

from fabrictui.actions.verify.bgp import detect_mode
from fabrictui.actions.verify.diagnose import take_snapshot
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.intent.labshape import LabShape
from fabrictui.parsers.routes import Route


@dataclass(frozen=True, slots=True)
class RouteRow:
    switch: str
    prefix: str
    kind: str  # "node subnet" or "pod block"
    owner: str  # the rack's leaf for a subnet, the node for a block
    route: Route | None  # None: expected but missing

    @property
    def missing(self) -> bool:
        return self.route is None

    @property
    def nexthops(self) -> str:
        if self.route is None:
            return "-"
        hops = [
            (h.ip or "directly connected") + (f" {h.interface}" if h.interface else "")
            for h in self.route.nexthops
        ]
        return ", ".join(hops) or "-"

    def to_json(self) -> dict[str, object]:
        r = self.route
        return {
            "switch": self.switch,
            "prefix": self.prefix,
            "kind": self.kind,
            "owner": self.owner,
            "missing": r is None,
            "protocol": r.protocol if r else None,
            "selected": r.selected if r else None,
            "installed": r.installed if r else None,
            "ecmp": r.ecmp if r else 0,
            "nexthops": [{"ip": h.ip, "interface": h.interface} for h in r.nexthops] if r else [],
        }


@dataclass(frozen=True, slots=True)
class RoutesReport:
    mode: str
    rows: tuple[RouteRow, ...]
    errors: tuple[str, ...]  # switches that did not answer

    @property
    def missing(self) -> tuple[RouteRow, ...]:
        return tuple(r for r in self.rows if r.missing)


def node_subnets(shape: LabShape) -> dict[str, str]:
    """subnet -> the leaf whose rack it is (its server subnet, else its nodes' /24)."""
    subnets: dict[str, str] = {}
    for leaf in shape.leaves:
        if leaf.server_subnet:
            subnets[leaf.server_subnet] = leaf.name
    for node in shape.nodes:
        leaf = shape.leaf_of(node.name)
        if node.address and leaf:
            net = str(ipaddress.IPv4Network(f"{node.address}/24", strict=False))
            subnets.setdefault(net, leaf)
    return subnets


def expected_rows(
    switch: str, table: list[Route], subnets: dict[str, str], blocks: dict[str, str]
) -> list[RouteRow]:
    best = {r.prefix: r for r in table if r.selected}
    rows = [
        RouteRow(switch, prefix, "node subnet", leaf, best.get(prefix))
        for prefix, leaf in sorted(subnets.items())
    ]
    rows += [
        RouteRow(switch, prefix, "pod block", node, best.get(prefix))
        for prefix, node in sorted(blocks.items(), key=lambda kv: (kv[1], kv[0]))
    ]
    return rows


async def read_routes(backend: LabBackend, switch: str | None = None) -> RoutesReport:
    """Every switch's (or one's) routes to node subnets and pod blocks. Pod blocks are
    expected on the switches only in BGP mode (in VXLAN mode the fabric never sees them);
    any block route found is shown in either mode."""
    mode = await detect_mode(backend)
    snap = await take_snapshot(backend)
    shape = snap.shape
    switches = [h.name for h in snap.hosts if h.role.is_switch]
    if switch is not None:
        if switch not in switches:
            raise BackendError(f"{switch}: no such switch (switches: {', '.join(switches)})")
        switches = [switch]
    subnets = node_subnets(shape)
    blocks = {b: n.name for n in snap.nodes for b in n.calico_blocks}

    async def one(name: str) -> tuple[str, list[Route] | str]:
        try:
            return name, await backend.switch_routes(name)
        except BackendError as err:
            return name, str(err)

    rows: list[RouteRow] = []
    errors: list[str] = []
    for name, table in await asyncio.gather(*(one(s) for s in switches)):
        if isinstance(table, str):
            errors.append(table if table.startswith(name) else f"{name}: {table}")
            continue
        found = {r.prefix for r in table if r.selected}
        wanted = blocks if mode == "bgp" else {b: n for b, n in blocks.items() if b in found}
        rows += expected_rows(name, table, subnets, wanted)
    return RoutesReport(mode, tuple(rows), tuple(errors))
