"""What runs behind the lab API: kubelet, the workload controllers, calico-node (VXLAN and
BGP), the objects a fresh cluster has, and its events."""
