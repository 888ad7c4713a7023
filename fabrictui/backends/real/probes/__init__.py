"""What runs a probe on a real lab with nothing installed for it: the pod's own program,
else the node's inside the pod's network namespace (node.py), a TCP connect (tcp.py), and
where a capture can run when the node has no tcpdump (capture_point.py)."""
