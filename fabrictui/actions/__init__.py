"""Backend-agnostic actions: plain async functions over a `LabBackend` that report
`Progress` and return results. No Textual here.

- `trace/`: the path trace between two pods (docs/trace.md);
- `verify/`: the checks of a healthy lab in each Calico mode, and the diagnosis of a failed ping;
- `ping/`: the ping mesh and a ping watched on the wire;
- `change/`: what changes a lab (deploy Calico, scale), each with its plan;
- `routes.py`, `cluster.py` (what the cluster has), `progress.py` (how an action reports).
"""
