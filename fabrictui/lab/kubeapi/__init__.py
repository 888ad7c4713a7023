"""The rehearsal lab's own subset of the Kubernetes API (not Kubernetes).

`python -m fabrictui.lab.kubeapi --lab-dir DIR` serves it over HTTPS on
127.0.0.1; see docs/rehearsal-lab-kubeapi.md for what it implements.
"""

from fabrictui.lab.kubeapi.cluster import Cluster
from fabrictui.lab.kubeapi.controllers.parts import Timing
from fabrictui.lab.kubeapi.inventory import LabInventory, load_inventory, parse_inventory

__all__ = ["Cluster", "LabInventory", "Timing", "load_inventory", "parse_inventory"]
