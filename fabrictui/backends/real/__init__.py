"""The real lab: Vagrant VMs or an inventory, reached over SSH (switches, nodes) and the
Kubernetes API. Never imports the demo lab."""
