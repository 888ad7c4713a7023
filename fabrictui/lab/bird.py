"""calico-node's BIRD, for real, in the rehearsal lab's node namespaces (BGP mode).

BIRD 1.6 from Debian's `bird` package: the BIRD line calico/node ships ("BIRD
v0.3.3+birdv1.6.8" is a fork of 1.6.8). The configuration is shaped like the one
calico-node's confd renders: protocol names `Node_<ip>` (a BGPPeer selecting the node),
`Global_<ip>` (a BGPPeer for every node) and `Mesh_<ip>` (the node-to-node mesh), the
node's blocks exported from a `static` blackhole route, nothing programmed into the
kernel (the node's default route via its leaf carries pod traffic natively once the leaf
knows the blocks; calico-node would program the same next hop).

Each node's files live in `/var/run/frr/ftl-<lab_id>-<node>-bird/` (the lab's FRR run
directory prefix, so `lab down` removes them with FRR's), its process runs in the node's
namespace (so `lab down` kills it with the namespace), and the node's `birdcl` shim talks
to its control socket.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

BIRD = "/usr/sbin/bird"
BIRDC = "/usr/sbin/birdc"
RUN_ROOT = Path("/var/run/frr")
DEFAULT_AS = 64512  # Calico's, for a node without its own and no BGPConfiguration


def bird_dir(node_netns: str) -> Path:
    return RUN_ROOT / f"{node_netns}-bird"


def socket_path(node_netns: str) -> Path:
    return bird_dir(node_netns) / "bird.ctl"


@dataclass(frozen=True, slots=True)
class BirdPeer:
    kind: str  # "Node", "Global" or "Mesh": Calico's protocol name prefixes
    address: str
    asn: int
    port: int | None = None

    @property
    def name(self) -> str:
        """Calico's protocol name: `Node_10_0_101_1`, `Mesh_fd00__1`, `_port_<n>`."""
        sep = "." if ipaddress.ip_address(self.address).version == 4 else ":"
        body = self.address.replace(sep, "_")
        return f"{self.kind}_{body}" + (f"_port_{self.port}" if self.port else "")


@dataclass(frozen=True, slots=True)
class NodeBird:
    node: str
    netns: str
    address: str
    asn: int
    blocks: tuple[str, ...]
    peers: tuple[BirdPeer, ...]


def render_bird_conf(bird: NodeBird) -> str:
    """BIRD 1.6 configuration for one node, in calico-node's shape."""
    exported = " || ".join(f"net ~ {block}" for block in bird.blocks) or "false"
    lines = [
        f"# fabrictui rehearsal lab: calico-node's BIRD on {bird.node}",
        f"router id {bird.address};",
        "",
        "filter calico_export_to_bgp_peers {",
        f"  if ( {exported} ) then {{ accept; }}",
        "  reject;",
        "}",
        "",
        "# the kernel's routes are the lab's own: nothing learned is programmed into them",
        "protocol kernel {",
        "  persist;",
        "  scan time 2;",
        "  import none;",
        "  export none;",
        "}",
        "",
        "protocol device {",
        "  scan time 2;",
        "}",
        "",
        "protocol static {",
        *(f"  route {block} blackhole;" for block in bird.blocks),
        "}",
        "",
        "template bgp bgp_template {",
        f"  local as {bird.asn};",
        f"  source address {bird.address};",
        "  import all;",
        "  export filter calico_export_to_bgp_peers;",
        "  next hop self;",
        "  connect delay time 1;",
        "  connect retry time 2;",
        "  error wait time 2, 10;",
        "  hold time 9;",
        "  keepalive time 3;",
        "}",
    ]
    for peer in bird.peers:
        port = f" port {peer.port}" if peer.port else ""
        lines += [
            "",
            f"protocol bgp {peer.name} from bgp_template {{",
            f"  neighbor {peer.address}{port} as {peer.asn};",
            "}",
        ]
    return "\n".join(lines) + "\n"


def start_argv(netns: str) -> list[str]:
    """Start BIRD in the node's namespace (it daemonizes, writing its pid file)."""
    directory = bird_dir(netns)
    return [
        "ip", "netns", "exec", netns, BIRD,
        "-c", str(directory / "bird.conf"),
        "-s", str(directory / "bird.ctl"),
        "-P", str(directory / "bird.pid"),
    ]  # fmt: skip


def reconfigure_argv(netns: str) -> list[str]:
    return [BIRDC, "-s", str(socket_path(netns)), "configure"]


def birdcl_shim(netns: str) -> str:
    """The node's `birdcl` (calico/node's client): BIRD 1.6's birdc on this node's socket;
    the `-s` calico-node's tools pass is replaced by the node's own."""
    return (
        "#!/bin/sh\n"
        "# fabrictui rehearsal lab: calico-node's birdcl, on this node's BIRD socket\n"
        'while [ $# -gt 0 ]; do case "$1" in -s) shift 2 ;; *) break ;; esac; done\n'
        f'exec {BIRDC} -s {socket_path(netns)} "$@"\n'
    )
