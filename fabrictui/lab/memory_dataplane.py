"""A data plane that only records what it was asked to build.

For tests of the lab API and its controllers without root. Commands run by
`spawn` never touch the network: a short allow-list of harmless programs runs
locally, and `ping` is answered from the recorded pods (as if the overlay
works whenever both ends exist and their nodes are set up); anything else
exits 127 with a message.
"""

from __future__ import annotations

import asyncio
import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field

from fabrictui.lab.calico_dataplane import NodeNet, PodNet, spawn_process

SAFE_PROGRAMS = frozenset({"echo", "true", "false", "cat", "printf", "sleep", "hostname"})


@dataclass
class MemoryDataplane:
    nodes: dict[str, NodeNet] = field(default_factory=dict)
    peers: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # set_peers calls
    pods: dict[str, PodNet] = field(default_factory=dict)  # by netns
    calls: list[tuple[str, str]] = field(default_factory=list)
    fail_nodes: set[str] = field(default_factory=set)  # setup_node raises for these

    async def setup_node(self, node: NodeNet) -> None:
        self.calls.append(("setup_node", node.name))
        if node.name in self.fail_nodes:
            raise RuntimeError(f"node {node.name}: injected failure")
        self.nodes[node.name] = node

    async def set_peers(self, node: NodeNet, peers: Sequence[NodeNet]) -> None:
        self.calls.append(("set_peers", node.name))
        self.peers.append((node.name, tuple(p.name for p in peers if p.name != node.name)))

    def reach(self, node: str) -> set[str]:
        """Nodes whose blocks `node` has routes to."""
        return {peer for name, peers in self.peers if name == node for peer in peers}

    async def add_pod(self, pod: PodNet) -> None:
        self.calls.append(("add_pod", pod.netns))
        self.pods[pod.netns] = pod

    async def remove_pod(self, pod: PodNet) -> None:
        self.calls.append(("remove_pod", pod.netns))
        self.pods.pop(pod.netns, None)

    def _ping_output(self, netns: str | None, argv: Sequence[str]) -> tuple[str, int]:
        count = 4
        target = argv[-1]
        args = list(argv[1:])
        if "-c" in args and args.index("-c") + 1 < len(args):
            count = int(args[args.index("-c") + 1])
        src = self.pods.get(netns or "")
        dst = next((p for p in self.pods.values() if p.ip == target), None)
        reachable = (
            src is not None
            and dst is not None
            and src.node.name in self.nodes
            and dst.node.name in self.nodes
            and (src.node.name == dst.node.name or dst.node.name in self.reach(src.node.name))
        )
        lines = [f"PING {target} ({target}) 56(84) bytes of data."]
        rtts = []
        ttl = 64 if src and dst and src.node.name == dst.node.name else 62
        if reachable:
            for seq in range(1, count + 1):
                rtt = round(random.uniform(1.4, 1.9), 2)
                rtts.append(rtt)
                lines.append(f"64 bytes from {target}: icmp_seq={seq} ttl={ttl} time={rtt} ms")
        lines.append("")
        lines.append(f"--- {target} ping statistics ---")
        received = len(rtts)
        loss = 100 * (count - received) // max(count, 1)
        lines.append(
            f"{count} packets transmitted, {received} received, {loss}% packet loss, "
            f"time {max(count - 1, 0) * 1000}ms"
        )
        if rtts:
            avg = sum(rtts) / len(rtts)
            lines.append(
                f"rtt min/avg/max/mdev = {min(rtts):.3f}/{avg:.3f}/{max(rtts):.3f}/0.100 ms"
            )
        return "\n".join(lines) + "\n", 0 if received == count else 1

    async def spawn(
        self,
        netns: str | None,
        argv: Sequence[str],
        stdin: bool = False,
        tty_fd: int | None = None,
        path: str | None = None,  # the image's PATH: nothing here runs from it
    ) -> asyncio.subprocess.Process:
        self.calls.append(("spawn", " ".join(argv)))
        program = argv[0] if argv else ""
        sh = shutil.which("sh") or "/bin/sh"
        if program == "ping":
            text, code = self._ping_output(netns, argv)
            argv = [sh, "-c", 'printf "%s" "$1"; exit "$2"', "sh", text, str(code)]
        elif program not in SAFE_PROGRAMS:
            message = f"memory data plane: {program!r} is not run outside a lab namespace\n"
            argv = [sh, "-c", 'printf "%s" "$1" >&2; exit 127', "sh", message]
        return await spawn_process(argv, stdin, tty_fd)

    async def close(self) -> None:
        return None
