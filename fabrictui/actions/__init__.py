"""Backend-agnostic actions: plain async functions over a `LabBackend` that
report `Progress` and return results. No Textual here."""

from fabrictui.actions.deploy import deploy_calico
from fabrictui.actions.pingmesh import PingMatrix, ping_mesh
from fabrictui.actions.plans import plan_deploy_calico, plan_fault, plan_scale, plan_scale_on
from fabrictui.actions.progress import ActionResult, Progress
from fabrictui.actions.scale import scale_workload
from fabrictui.actions.verify import verify

__all__ = [
    "ActionResult",
    "PingMatrix",
    "Progress",
    "deploy_calico",
    "ping_mesh",
    "plan_deploy_calico",
    "plan_fault",
    "plan_scale",
    "plan_scale_on",
    "scale_workload",
    "verify",
]
