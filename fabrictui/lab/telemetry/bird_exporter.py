"""Debian's `prometheus-bird-exporter` for each node's BIRD (Calico BGP mode), on 127.0.0.1
(docs/telemetry.md, "In the rehearsal lab").

BIRD's control socket is a file (lab/bird.py: the node's folder under the FRR run prefix), and
a unix socket is reached from any network namespace, so the exporter runs in the host's
namespace and listens on its 127.0.0.1 like the frr exporters.

It starts with the lab, not with BIRD: BIRD starts only when Calico's BGP mode is deployed,
which may be never or much later, and stops when the lab goes back to VXLAN. An exporter per
node from the start keeps Prometheus's configuration fixed and written once, and its history
says when each node's BIRD answered; until then the exporter is up and serves no BIRD series
(its scrape logs `dial unix ...: no such file or directory`), which fabrictui names as BIRD not
running, never as sessions down.
"""

from __future__ import annotations

from fabrictui.lab import bird

BIRD_EXPORTER = "/usr/bin/prometheus-bird-exporter"
BIRD_JOB = "bird"  # the job label fabrictui's node-session queries select
NODE_LABEL = "node"  # each target's label: the Kubernetes node whose BIRD it reads


def exporter_argv(node_netns: str, port: int) -> list[str]:
    # `--bird.socket` names the lab's path space: the marker `lab down` finds it by after a
    # crash (Go's flags take two dashes as well as one)
    return [
        BIRD_EXPORTER,
        f"--bird.socket={bird.socket_path(node_netns)}",
        "--bird.ipv6=false",  # calico-node's BIRD 1.6: IPv4 on bird.ctl only
        f"--web.listen-address=127.0.0.1:{port}",
    ]
