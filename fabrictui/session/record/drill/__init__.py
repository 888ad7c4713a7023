"""The drill down in a replay (issue 26): Enter on a pod, node, switch, session or VM row
opens what the recording holds of it at the moment shown, as the same `Detail` the live
describers give (actions/drill), headed "as recorded at HH:MM:SS". A replay reaches no lab,
so nothing here asks one: what the recording does not hold is said in a section of its own
("Not recorded") instead of a lab's refusal.

What a recording holds (session/record/format.py): the rows of the panes (hosts, switch
summaries, nodes, pods, Calico's BGP status), the cluster's Warning events, each session
change with the reason read when it went down, and (from this version on) the session's
whole neighbour detail read then (`bgpdetail`), and a pod's or node's full detail read
when it turned not ready, restarted or recovered, with the not-ready container's last log
lines (`kubedetail`)."""

from __future__ import annotations

from collections.abc import Callable

from fabrictui.backends.base import NotFound
from fabrictui.render.detail import Detail
from fabrictui.session.record.drill.fabric import session_at, switch_at, vm_at
from fabrictui.session.record.drill.kube import log_heading, node_at, pod_at, recorded_log
from fabrictui.session.record.drill.moment import Moment

__all__ = ["RECORDED", "Moment", "log_heading", "recorded_detail", "recorded_log"]

# (moment, name, namespace or None) -> Detail; NotFound when the recording lacks the object
RecordedDescriber = Callable[[Moment, str, str | None], Detail]

RECORDED: dict[str, RecordedDescriber] = {
    "pod": pod_at,
    "node": node_at,
    "session": session_at,
    "switch": switch_at,
    "vm": vm_at,
}


def recorded_detail(kind: str, name: str, namespace: str | None, moment: Moment) -> Detail:
    """The detail of one object at the moment; NotFound (its words for the user) when the
    recording does not have it then."""
    describer = RECORDED.get(kind)
    if describer is None:
        raise NotFound(f"no recorded detail for {kind}")
    return describer(moment, name, namespace)
