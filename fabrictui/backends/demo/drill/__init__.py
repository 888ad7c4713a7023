"""Drill down on the demo lab (issue 26): its pods' and nodes' objects with what a real
cluster adds (probes, last terminations), the Events a real cluster would have recorded for
what the simulation did, and the containers' logs, calico-node's in its own format."""
