"""The demo lab's Services: their endpoints, a TCP connect to them, and the nodes'
kube-proxy rules, simulated from the demo cluster's pods (the real labs read them)."""
