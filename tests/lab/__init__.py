"""The rehearsal lab (root, network namespaces, real FRR, BIRD, sshd, kernel VXLAN)."""
