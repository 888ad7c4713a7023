"""The reference lab's domain constants, written once.

Every value here is either printed in the seed document (LAB.md marks it *(seed)*) or is
Calico's / Kubernetes' documented default for the setup the seed describes. A lab's own
inventory may override the pool, VNI and port; these are the defaults when it does not.

This module imports nothing from fabrictui, so any layer (model, parsers, backends, the
rehearsal lab) may import it.
"""

from __future__ import annotations

# Calico's IPv4 pool, `CALICO_IPV4POOL_CIDR` in the seed's calico.yaml (LAB.md, "Topology").
POD_POOL = "10.64.0.0/12"
# Prefix of the IPAM blocks Calico hands each node from the pool (Calico's default /26).
POD_BLOCK_PREFIX = 26
# kube-apiserver `--service-cluster-ip-range` of the seed's kubeadm setup (LAB.md).
SERVICE_RANGE = "10.80.0.0/12"
# First address of the service range: the `kubernetes` service's cluster IP.
SERVICE_FIRST_IP = "10.80.0.1"
# kubeadm's cluster DNS: the `kube-dns` Service at the tenth address of the service range
# (kubeadm's `clusterDNS`), answering the kubelet's default `clusterDomain` (docs/dns.md).
CLUSTER_DNS_IP = "10.80.0.10"
CLUSTER_DOMAIN = "cluster.local"


def cluster_resolv_conf(namespace: str) -> str:
    """/etc/resolv.conf as the kubelet writes it for a `dnsPolicy: ClusterFirst` pod of
    `namespace` on a node whose own resolv.conf adds no search domain."""
    zone = CLUSTER_DOMAIN
    return (
        f"nameserver {CLUSTER_DNS_IP}\n"
        f"search {namespace}.svc.{zone} svc.{zone} {zone}\n"
        "options ndots:5\n"
    )


# Calico's VXLAN defaults (`vxlanVNI`, `vxlanPort` in FelixConfiguration), as the seed's
# captures show them (LAB.md; FORMATS.md "Calico VXLAN").
VXLAN_VNI = 4096
VXLAN_PORT = 4789
# The VXLAN device calico-node creates on every node (Calico's default name).
VXLAN_DEVICE = "vxlan.calico"
# tcpdump/BPF filter for the overlay's outer frames on a node's eth0.
VXLAN_BPF = f"udp port {VXLAN_PORT}"


def pod_traffic_bpf(pool: str = POD_POOL, port: int = VXLAN_PORT) -> str:
    """tcpdump/BPF filter for pod traffic on a node's eth0 in either Calico mode: VXLAN's
    outer frames, or pod-to-pod packets as they cross unencapsulated in BGP mode. One
    filter for both, so a migration between the modes shows without restarting captures."""
    return f"udp port {port} or (src net {pool} and dst net {pool})"


# The overlay pane's capture filter for the reference lab (a lab's own pool and port may
# differ: `LabBackend.capture_filter`).
POD_TRAFFIC_BPF = pod_traffic_bpf()

# Annotations calico-node writes on each Node object (Calico's names, seen in the seed's
# `kubectl describe node`).
CALICO_TUNNEL_ADDR_ANNOTATION = "projectcalico.org/IPv4VXLANTunnelAddr"
CALICO_TUNNEL_MAC_ANNOTATION = "projectcalico.org/VXLANTunnelMACAddr"
CALICO_NODE_ADDR_ANNOTATION = "projectcalico.org/IPv4Address"
# API group of Calico's CRDs (ippools, ipamblocks, blockaffinities ...).
CALICO_CRD_GROUP = "crd.projectcalico.org"
# Where calico-node runs: kube-system with a calico.yaml (the seed's way), calico-system
# when the Tigera operator installed it (an `Installation` resource; most clusters today).
CALICO_NAMESPACES = ("kube-system", "calico-system")

# Kubernetes version the seed's cluster runs (LAB.md).
KUBE_VERSION = "v1.15.2"

# Format id of a lab inventory file (the rehearsal lab writes it, real labs may too);
# bump on an incompatible change.
INVENTORY_FORMAT = "fabrictui-inventory/1"
