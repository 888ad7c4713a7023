"""Pod-to-pod traffic in the demo lab: ping runs and node captures.

A ping is decided hop by hop against the live state, as a packet would be:
the sending node needs a route to the target's /26 (calico-node running on
both nodes), the underlay needs a path between the racks (a spine with both
leaf sessions Established, and powered), the target must be a Running pod
that is not black-holed, and the reply takes the same checks back. Each echo
that reaches a node's eth0 is also written, as real pcap bytes built by
`fabrictui.capture.synth`, to every open capture on that node; the iputils
text of the run goes through the real ping parser.
"""

from __future__ import annotations

import asyncio
import random
import statistics
from dataclasses import dataclass
from typing import Any

from fabrictui.backends.base import BackendError
from fabrictui.backends.demo import topology as topo
from fabrictui.backends.demo.bgp import DemoBgp
from fabrictui.backends.demo.fabric import Fabric
from fabrictui.backends.demo.kube import KubeSim, PodRec
from fabrictui.backends.demo.sim import Simulation
from fabrictui.backends.demo.tracing import Tracer
from fabrictui.backends.demo.wire import DemoCapture, vxlan_echo, vxlan_source_port
from fabrictui.parsers import ParseError
from fabrictui.parsers.netpolicy import PolicyReading, kube_network_policy, policies_from_list

PROBE_INTERVAL = 5.0  # background echo between nginx pods while someone captures


@dataclass(frozen=True, slots=True)
class Leg:
    """One direction of an echo: did it get out, did it get there."""

    left: bool  # VXLAN frame left the sending node's eth0
    arrived: bool  # reached the target node's eth0
    delivered: bool  # reached the target pod


class Traffic:
    def __init__(self, sim: Simulation, kube: KubeSim, fabric: Fabric, seed: int) -> None:
        self.sim = sim
        self.kube = kube
        self.fabric = fabric
        self.seed = seed
        self.blackholed: set[str] = set()  # pod keys
        # NetworkPolicy objects as the API would serve them (the deny-policy fault adds one)
        self.policies: dict[str, dict[str, Any]] = {}
        self.captures: list[DemoCapture] = []
        self._runs = 0
        self._probe_handle: int | None = None
        self._probe_count = 0
        self.tracer = Tracer(self)  # captures at any port, for path traces
        # The lab's BGP-mode state (demo/bgp.py): when the pool does not encapsulate, frames
        # cross eth0 as plain IP and get through only where the nodes' routes are.
        self.bgp: DemoBgp | None = None
        # leaf pairs (sorted) whose path drops a share of the frames between them (a lossy
        # optic somewhere in between: the lossy-racks fault)
        self.lossy: dict[tuple[str, str], float] = {}

    def native_routing(self) -> bool:
        return self.bgp is not None and self.bgp.pool_mode == "bgp"

    # -- captures ------------------------------------------------------------------------

    def open_capture(self, node: str, interface: str) -> DemoCapture:
        cap = DemoCapture(node, interface, self._closed)
        self.captures.append(cap)
        if self._probe_handle is None:
            start = self.sim.now()
            first = (start // PROBE_INTERVAL + 1) * PROBE_INTERVAL
            self._probe_handle = self.sim.at(first, self._probe)
        return cap

    def _closed(self, cap: DemoCapture) -> None:
        if cap in self.captures:
            self.captures.remove(cap)
        if not self.captures and self._probe_handle is not None:
            self.sim.cancel(self._probe_handle)
            self._probe_handle = None

    def _emit(self, node: str, ts: float, frame: bytes) -> None:
        for cap in self.captures:
            if cap.node == node and cap.interface == "eth0":
                cap.push(ts, frame)

    # -- the path of one packet ---------------------------------------------------------------

    def _leg(self, src: PodRec, dst_ip: str, at: float, flow: int) -> Leg:
        """Pod `src` sends to `dst_ip` across nodes."""
        assert src.node is not None
        src_node = self.kube.nodes[src.node]
        dst_node = self.kube.node_for_ip(dst_ip)
        if dst_node is None or not src_node.calico_running or not dst_node.calico_running:
            return Leg(False, False, False)  # no route to the block: dropped on the node
        if not self.underlay_ok(src_node.name, dst_node.name, at, flow):
            return Leg(True, False, False)
        if self.bgp is not None and not self.bgp.forwards(src_node.name, dst_node.name, at):
            return Leg(True, False, False)
        target = self.kube.pod_by_ip(dst_ip)
        delivered = (
            target is not None
            and target.node == dst_node.name
            and target.status == "Running"
            and target.key not in self.blackholed
            and not self.policy_drops(target)
        )
        return Leg(True, True, delivered)

    def policy_reading(self) -> PolicyReading:
        """The demo's policies through the same parser as a real API's answer (the demo
        serves Calico's CRDs and holds none of their policies)."""
        data = {"items": list(self.policies.values())}
        try:
            return PolicyReading(tuple(policies_from_list("NetworkPolicy", data)))
        except ParseError as err:
            raise BackendError(f"network policies: {err}") from None

    def policy_drops(self, target: PodRec) -> bool:
        """The demo's data plane for policy, simpler than Calico's: a pod that a policy
        selects for ingress takes nothing when no policy selecting it has an ingress rule
        (a deny-all); a policy with rules lets everything in. The checks and the trace
        judge the same objects with the full evaluator (actions/policy)."""
        labels = dict(target.labels)
        selecting = [
            pol
            for pol in map(kube_network_policy, self.policies.values())
            if pol.namespace == target.namespace
            and "Ingress" in pol.types
            and pol.selector.matches(labels)
        ]
        return bool(selecting) and not any(pol.ingress for pol in selecting)

    def underlay_ok(self, src_node: str, dst_node: str, at: float, flow: int) -> bool:
        src_leaf = topo.NODE_BY_NAME[src_node].leaf
        dst_leaf = topo.NODE_BY_NAME[dst_node].leaf
        if src_leaf == dst_leaf:
            return True
        share = self.lossy.get(tuple(sorted((src_leaf, dst_leaf))))  # type: ignore[arg-type]
        if share and random.Random(f"{at!r}:{flow}").random() < share:
            return False
        spines = self.fabric.forwarding_spines(src_leaf, dst_leaf, at)
        if not spines:
            return False
        spine = spines[flow % len(spines)]
        return self.fabric.spine_running[spine]  # a dead spine still in the ECMP set blackholes

    def _frame(
        self,
        src: PodRec,
        dst_ip: str,
        dst_node: str,
        icmp_type: int,
        icmp_id: int,
        seq: int,
        outer_ttl: int,
        payload: int = 56,
    ) -> bytes:
        assert src.node is not None and src.ip is not None
        if self.bgp is not None and self.bgp.pool_mode == "bgp":
            ttl = 63 - (64 - outer_ttl)  # the pod's 64, minus the node's hop, minus the fabric's
            return self.bgp.native_frame(
                src.node, src.ip, dst_ip, icmp_type, icmp_id, seq, ttl, payload
            )
        return vxlan_echo(
            src.node, dst_node, src.ip, dst_ip, icmp_type, icmp_id, seq, payload, outer_ttl
        )

    def echo(
        self,
        src: PodRec,
        dst_ip: str,
        at: float,
        icmp_id: int,
        seq: int,
        rng: random.Random,
        payload: int = 56,
    ) -> tuple[bool, float, int]:
        """One echo request/reply at time `at`: (replied, rtt ms, ttl), with its frames."""
        assert src.node is not None and src.ip is not None
        flow = vxlan_source_port(src.ip, dst_ip)
        self.tracer.emit(src, dst_ip, at, flow, 8, icmp_id, seq, payload)
        if dst_ip == src.ip:
            return (src.key not in self.blackholed, 0.03 + rng.random() * 0.02, 64)
        target = self.kube.pod_by_ip(dst_ip)
        src_faulted = src.node in self.kube.calico_faulted or src.key in self.blackholed
        if target is not None and target.node == src.node:  # same node: no VXLAN
            ok = (
                not src_faulted
                and target.status == "Running"
                and target.key not in self.blackholed
                and not self.policy_drops(target)
            )
            if ok:
                back_flow = vxlan_source_port(dst_ip, src.ip)
                self.tracer.emit(target, src.ip, at + 0.00003, back_flow, 0, icmp_id, seq, payload)
            return (ok, 0.06 + rng.random() * 0.04, 63)
        src_leaf = topo.NODE_BY_NAME[src.node].leaf
        dst_node = self.kube.node_for_ip(dst_ip)
        if dst_node is None:
            return (False, 0.0, 0)
        cross_rack = topo.NODE_BY_NAME[dst_node.name].leaf != src_leaf
        hops = 3 if cross_rack else 1
        rtt = (1.45 if cross_rack else 0.85) + rng.random() * 0.3 + (0.3 if seq == 1 else 0.0)
        one_way = rtt * 0.45 / 1000.0
        out = self._leg(src, dst_ip, at, flow)
        if out.left:
            request = self._frame(src, dst_ip, dst_node.name, 8, icmp_id, seq, 64, payload)
            self._emit(src.node, at + 0.00002, request)
            if out.arrived:
                arrived = self._frame(
                    src, dst_ip, dst_node.name, 8, icmp_id, seq, 64 - hops, payload
                )
                self._emit(dst_node.name, at + one_way, arrived)
        if not out.delivered or target is None:
            return (False, 0.0, 0)
        back_flow = vxlan_source_port(dst_ip, src.ip)
        self.tracer.emit(target, src.ip, at + one_way, back_flow, 0, icmp_id, seq, payload)
        back = self._leg(target, src.ip, at + one_way, back_flow)
        if back.left:
            reply = self._frame(target, src.ip, src.node, 0, icmp_id, seq, 64, payload)
            self._emit(dst_node.name, at + one_way + 0.00005, reply)
            if back.arrived:
                got = self._frame(target, src.ip, src.node, 0, icmp_id, seq, 64 - hops, payload)
                self._emit(src.node, at + rtt / 1000.0 - 0.00013, got)
        if not back.delivered:
            return (False, 0.0, 0)
        return (True, rtt, 62)

    # -- ping runs --------------------------------------------------------------------------------

    def new_run(self) -> tuple[random.Random, int]:
        self._runs += 1
        rng = random.Random(f"ping:{self.seed}:{self._runs}")
        icmp_id = 592 if (self.seed == 1 and self._runs == 1) else rng.randrange(100, 30000)
        return rng, icmp_id

    def df_echo(
        self,
        src: PodRec,
        dst_ip: str,
        at: float,
        packet: int,
        learned: dict[str, int],
        df: bool = True,
        echo: tuple[int, int, int] = (0, 0, 56),
    ) -> str | None:
        """What stops an echo of `packet` bytes for its size, as ping words (None: it goes
        on as any echo). `learned`: the path MTU the sending kernel has been told this run.
        Without DF the pod sends fragments of its MTU, which only a port too small to
        receive them stops."""
        assert src.ip is not None
        limit = learned.get(dst_ip, self.tracer.pod_mtu())
        if packet > limit and df:
            return f"ping: local error: message too long, mtu={limit}"
        packet = min(packet, limit)
        flow = vxlan_source_port(src.ip, dst_ip)
        crossed, frag, reached = self.tracer.too_big(src, dst_ip, at, flow, packet, df)
        target = self.kube.pod_by_ip(dst_ip)
        icmp_id, seq, payload = echo  # for the trace captures, as far as it went
        if not crossed:
            self.tracer.emit(src, dst_ip, at, flow, 8, icmp_id, seq, payload, upto=reached)
        elif target is not None and target.ip is not None:  # the reply, as big
            back = vxlan_source_port(dst_ip, src.ip)
            crossed, _, reached = self.tracer.too_big(target, src.ip, at, back, packet, df)
            if not crossed:
                self.tracer.emit(src, dst_ip, at, flow, 8, icmp_id, seq, payload)
                self.tracer.emit(target, src.ip, at, back, 0, icmp_id, seq, payload, reached)
        if frag is not None:
            learned[dst_ip] = frag[1]
            return f"From {frag[0]} icmp_seq={{seq}} Frag needed and DF set (mtu = {frag[1]})"
        return None if crossed else ""

    async def run_ping(
        self,
        src: PodRec,
        target_ip: str,
        count: int,
        timeout: float,
        payload: int = 56,
        df: bool = False,
    ) -> str:
        """Run `ping -c count -W 1 [-M do] [-s payload] target_ip` in `src`; the iputils
        output (a too-big DF echo's words on the same text, as `2>&1` gives them)."""
        rng, icmp_id = self.new_run()
        t0 = self.sim.now()
        lines = [f"PING {target_ip} ({target_ip}) {payload}({payload + 28}) bytes of data."]
        rtts: list[float] = []
        sent = errors = 0
        last_lost = False
        learned: dict[str, int] = {}
        for seq in range(1, count + 1):
            at = t0 + (seq - 1) * 1.0
            if at - t0 >= timeout:
                break
            await self._sleep_until(at)
            sent += 1
            sized = df or self.tracer.mtus  # a port set too small stops large pings too
            stop = (
                self.df_echo(src, target_ip, at, payload + 28, learned, df, (icmp_id, seq, payload))
                if sized
                else None
            )
            if stop is not None:
                last_lost = True
                errors += stop != ""
                if stop:
                    lines.append(stop.replace("{seq}", str(seq)))
                continue
            replied, rtt, ttl = self.echo(src, target_ip, at, icmp_id, seq, rng, payload)
            last_lost = not replied
            if replied:
                rtts.append(rtt)
                lines.append(
                    f"{payload + 8} bytes from {target_ip}: icmp_seq={seq} ttl={ttl} "
                    f"time={_ms(rtt)} ms"
                )
        await self._sleep_until(t0 + (sent - 1) * 1.0 + (1.0 if last_lost else 0.002))
        elapsed = (sent - 1) * 1000 + (rng.randrange(1, 9) if sent > 1 else 0)
        lost = sent - len(rtts)
        loss = f"{100.0 * lost / sent:g}" if sent else "0"
        lines += [
            "",
            f"--- {target_ip} ping statistics ---",
            f"{sent} packets transmitted, {len(rtts)} received, "
            + (f"+{errors} errors, " if errors else "")
            + f"{loss}% packet loss, time {elapsed}ms",
        ]
        if rtts:
            mdev = statistics.pstdev(rtts)
            lines.append(
                f"rtt min/avg/max/mdev = {min(rtts):.3f}/{statistics.fmean(rtts):.3f}/"
                f"{max(rtts):.3f}/{mdev:.3f} ms"
            )
        return "\n".join(lines) + "\n"

    async def _sleep_until(self, t: float) -> None:
        """Let simulated time reach `t`: sleep its real equivalent once, then run the
        lab's events up to `t` (so a frozen test clock cannot hang a ping)."""
        delay = t - self.sim.now()
        if delay > 0:
            await asyncio.sleep(self.sim.real_delay(delay))
        self.sim.advance(max(t, self.sim.now()))

    # -- background -----------------------------------------------------------------------------

    def _probe(self, t: float) -> None:
        self._probe_handle = None
        if not self.captures:
            return
        pods = sorted(
            (
                p
                for p in self.kube.pods.values()
                if p.owner
                and p.status == "Running"
                and p.ip
                and not p.host_network
                and p.namespace != "kube-system"
            ),
            key=lambda p: p.name,
        )
        if len(pods) >= 2:
            index = self._probe_count % len(pods)
            src, dst = pods[index], pods[(index + 1) % len(pods)]
            rng = random.Random(f"probe:{self.seed}:{self._probe_count}")
            assert dst.ip is not None
            self.echo(src, dst.ip, t, 7000 + index, self._probe_count // len(pods) + 1, rng)
            self._probe_count += 1
        # A periodic timer does not replay ticks it missed (a slow host, a huge speed).
        nxt = t + PROBE_INTERVAL
        behind = self.sim.clock_now() - nxt
        if behind > 2 * PROBE_INTERVAL:
            nxt += (behind // PROBE_INTERVAL) * PROBE_INTERVAL
        self._probe_handle = self.sim.at(nxt, self._probe)


def _ms(value: float) -> str:
    """iputils prints 3 significant digits: 1.57, 0.071, 12.3."""
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"
