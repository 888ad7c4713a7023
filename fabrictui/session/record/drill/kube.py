"""A pod's and a node's detail at a replay's moment (issue 26): their rows as the panes had
them, the full detail last read when they turned not ready, restarted or recovered
(`kubedetail`: conditions, container states, last termination; for a node its conditions,
addresses, capacity, versions), the Warning events about them (a stopped BIRD's readiness
words among them), the node's Calico BGP status, and the links the live details give."""

from __future__ import annotations

import dataclasses
import time

from fabrictui.actions.drill.common import events_section, readiness_peers
from fabrictui.actions.drill.node import node_sections, pods_section
from fabrictui.actions.drill.pod import conditions_section, container_section
from fabrictui.actions.drill.session import peer_link
from fabrictui.actions.drill.words import span
from fabrictui.parsers.kubedetail.events import KubeEvent, order_events
from fabrictui.parsers.kubedetail.objects import NodeDetail, PodDetail
from fabrictui.render.detail import Detail, DetailLink, DetailSection
from fabrictui.session.record.drill.moment import Moment, not_recorded
from fabrictui.session.record.kubedetail import RecordedDetail, recorded_details

READS_WHEN = "a recording reads them when it turns not ready, restarts or is ready again"


def _details(moment: Moment, kind: str, namespace: str, name: str) -> list[RecordedDetail]:
    return [
        d
        for d in recorded_details(moment.recording.events, moment.at)
        if (d.kind, d.namespace, d.name) == (kind, namespace, name)
    ]


def _stamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else "-"


def _warnings(moment: Moment, kind: str, name: str, namespace: str | None) -> list[KubeEvent]:
    return order_events(
        [
            e
            for e in moment.state.warnings
            if e.kind == kind
            and e.object_name == name
            and (namespace is None or e.object_namespace in (namespace, ""))
        ]
    )


def _events(moment: Moment, events: list[KubeEvent]) -> DetailSection:
    section = events_section(events)
    title = "Events (the Warnings recorded)"
    if moment.state.warnings_error:
        return dataclasses.replace(
            section, title=title, lines=(f"not read then: {moment.state.warnings_error}",)
        )
    return dataclasses.replace(section, title=title)


def _read_section(moment: Moment, rd: RecordedDetail) -> DetailSection:
    """When the recorded detail was read and why; its log's lines, where it has some."""
    when = time.strftime("%H:%M:%S", time.localtime(rd.t))
    rows = [("Read at", f"{when}, {span(moment.at - rd.t)} before this moment"), ("Why", rd.why)]
    if rd.detail is None:
        rows.append(("Not read", rd.error or "?"))
    log = rd.log
    if log is not None:
        which = log.container + (" (previous)" if log.previous else "")
        if log.error:
            rows.append(("Log", f"{which}: not read: {log.error}"))
        else:
            rows.append(("Log", f"the last {len(log.lines)} lines of {which}: press l"))
    return DetailSection("Detail as recorded", tuple(rows),
                         severity="bad" if rd.detail is None else "normal")  # fmt: skip


def _session_links(moment: Moment, node: str | None, words: tuple[str, ...]) -> list[DetailLink]:
    """As the live pod detail: the sessions calico-node's readiness words name."""
    links: list[DetailLink] = []
    if node is None:
        return links
    for message in words:
        peers = readiness_peers(message)
        if peers is None:
            continue
        for peer in peers or [None]:
            why = f"readiness names BGP peer {peer}" if peer else "readiness: BIRD does not answer"
            link = peer_link(moment.state.hosts, node, peer, why)
            if link is not None and all(link.name != seen.name for seen in links):
                links.append(link)
    return links


def pod_at(moment: Moment, name: str, namespace: str | None) -> Detail:
    ns = namespace or "default"
    pod = moment.state.pods.get(f"{ns}/{name}")
    if pod is None:
        raise moment.missing(f"pod {ns}/{name}")
    rows = [
        ("Status", pod.status),
        ("Ready", pod.ready_text),
        ("Restarts", str(pod.restarts)),
        ("Node", pod.node or "<none>"),
        ("IP", pod.ip or "<none>"),
        ("Created", _stamp(pod.created)),
        ("Controlled By", pod.owner or "<none>"),
        ("Image", pod.image or "-"),
        ("Labels", ", ".join(f"{k}={v}" for k, v in pod.labels) or "<none>"),
    ]
    if pod.unschedulable:
        rows.append(("Unschedulable", pod.unschedulable))
    sections = [DetailSection("Status", tuple(rows), severity="normal" if pod.running else "warn")]
    rd = next(reversed(_details(moment, "pod", ns, name)), None)
    if rd is not None:
        sections.append(_read_section(moment, rd))
        if isinstance(rd.detail, PodDetail):
            sections.append(conditions_section(rd.detail))
            sections += [container_section(c) for c in rd.detail.containers]
    events = _warnings(moment, "Pod", pod.name, ns)
    words = tuple(
        e.message for e in events if e.reason == "Unhealthy" or "probe failed" in e.message
    )
    if words:
        sections.append(DetailSection("Probe failures", lines=words, severity="bad"))
    sections.append(_events(moment, events))
    if rd is None:
        missing = ("conditions, each container's state and last termination, logs:", READS_WHEN)
    else:
        missing = ()
    sections.append(
        not_recorded(*missing, "the Calico endpoint, the policies that select it, Normal events")
    )
    links = [DetailLink("node", pod.node, why="the pod runs there")] if pod.node else []
    links += _session_links(moment, pod.node, words)
    return Detail("pod", pod.name, ns, tuple(sections), tuple(links), moment.source)


def _calico_section(moment: Moment, name: str, links: list[DetailLink]) -> DetailSection:
    state = moment.state
    node = state.nodes[name]
    rows = [
        ("IPAM blocks", ", ".join(node.calico_blocks) or "<none>"),
        ("VTEP MAC", node.vtep_mac or "<none>"),
        ("Calico mode", state.calico_mode or "not read"),
    ]
    lines: tuple[str, ...] = ()
    bad = False
    if state.calico_mode == "bgp":
        link = peer_link(state.hosts, name, None, "its BGP session on its leaf")
        if link is not None:
            links.append(link)
        peers = state.node_bgp.get(name)
        if isinstance(peers, str):
            lines, bad = (f"BGP status not read then: {peers}",), True
        elif peers is not None:
            lines = tuple(
                f"{p.address} ({p.peer_type}): {p.state} {p.since} {p.info}" for p in peers
            )
            bad = any(not p.established for p in peers)
    return DetailSection("Calico node", tuple(rows), lines, "bad" if bad else "normal")


def node_at(moment: Moment, name: str, namespace: str | None = None) -> Detail:
    state = moment.state
    node = state.nodes.get(name)
    if node is None:
        raise moment.missing(f"node {name}")
    rows = [
        ("Roles", ", ".join(node.roles) or "<none>"),
        ("Ready", "True" if node.ready else "False"),
        ("Kubelet", node.version or "-"),
        ("Internal IP", node.internal_ip or "-"),
        ("Created", _stamp(node.created)),
    ]
    links: list[DetailLink] = []
    sections = [DetailSection("Node", tuple(rows), severity="normal" if node.ready else "bad")]
    rd = next(reversed(_details(moment, "node", "", name)), None)
    if rd is not None:
        sections.append(_read_section(moment, rd))
        if isinstance(rd.detail, NodeDetail):
            read = node_sections(rd.detail)
            # its Conditions first: the why of a NotReady node; then the rest as read
            sections += [*read[1:3], dataclasses.replace(read[0], title="Node as read"), *read[3:]]
    sections.append(_calico_section(moment, name, links))
    section, pod_links = pods_section([p for p in state.pods.values() if p.node == name])
    sections.append(section)
    links += pod_links
    sections.append(_events(moment, _warnings(moment, "Node", name, None)))
    if rd is None:
        missing = (
            "conditions with their reasons, addresses, capacity, taints, runtime:",
            READS_WHEN,
        )
    else:
        missing = ()
    sections.append(not_recorded(*missing, "BIRD's protocol detail, Normal events"))
    return Detail("node", name, None, tuple(sections), tuple(links), moment.source)


def recorded_log(moment: Moment, namespace: str, name: str) -> RecordedDetail | None:
    """The pod's latest recorded detail at or before the moment that holds log lines (or the
    API's refusal of them): what `l` shows in a replay."""
    found = None
    for rd in _details(moment, "pod", namespace, name):
        if rd.log is not None:
            found = rd
    return found


def log_heading(rd: RecordedDetail) -> str:
    """The line above a recorded log: when it was read, and which lines these are."""
    assert rd.log is not None
    when = time.strftime("%H:%M:%S", time.localtime(rd.t))
    which = rd.log.container + (" (its previous instance)" if rd.log.previous else "")
    return f"-- as recorded at {when} ({rd.why}), the last {len(rd.log.lines)} lines of {which} --"
