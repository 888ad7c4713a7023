"""The demo lab's drill down (issue 26), fed through the real parsers and following the
demo's faults: what its switches print for one BGP neighbour (FRR's JSON on a spine, NCLU's
text on a leaf), a node's BIRD protocol and a switch's interfaces (bgp_calls.py); its pods'
and nodes' objects with what a real cluster adds (probes, last terminations), the Events a
real cluster would have recorded, and the containers' logs, calico-node's in its own format
(kube_calls.py)."""
