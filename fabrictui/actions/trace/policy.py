"""The trace's word on network policy: when the probe did not come back and the lab's
policies deny the pair, that is the cause (the captures show where it went dark, the
policy says why); where they allow it, the trace says nothing of policy."""

from __future__ import annotations

from fabrictui.actions.policy.evaluate import pair_decision
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.model import KubePod


async def policy_cause(
    backend: LabBackend, src: KubePod, dst: KubePod | None
) -> tuple[str | None, list[str]]:
    """(the denial in words or None, evidence lines) for an ICMP probe from src to dst."""
    if dst is None:
        return None, []
    try:
        reading = await backend.network_policies()
    except BackendError as err:
        return None, [f"network policy not read: {err}"]
    decision = pair_decision(reading, src, dst)
    if decision.allowed:
        return None, []  # nothing to say: the path's own causes stand
    return decision.words(src.key, dst.key), []
