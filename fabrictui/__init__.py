"""fabrictui: one keyboard-driven screen for a leaf-spine fabric, its Kubernetes
cluster and the Calico VXLAN overlay between them."""

__version__ = "0.1.0"
