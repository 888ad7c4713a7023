"""A pod's and a node's detail at a replay's moment (issue 26): their rows as the panes had
them, the Warning events about them (a stopped BIRD's readiness words among them), the
node's Calico BGP status, and the links the live details give."""

from __future__ import annotations

import dataclasses
import time

from fabrictui.actions.drill.common import events_section, readiness_peers
from fabrictui.actions.drill.session import peer_link
from fabrictui.parsers.kubedetail.events import KubeEvent, order_events
from fabrictui.render.detail import Detail, DetailLink, DetailSection
from fabrictui.session.record.drill.moment import Moment, not_recorded


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
    events = _warnings(moment, "Pod", pod.name, ns)
    words = tuple(
        e.message for e in events if e.reason == "Unhealthy" or "probe failed" in e.message
    )
    if words:
        sections.append(DetailSection("Probe failures", lines=words, severity="bad"))
    sections.append(_events(moment, events))
    sections.append(
        not_recorded(
            "conditions, each container's state and last termination, the Calico endpoint,",
            "the policies that select it, Normal events, logs",
        )
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
    sections = [
        DetailSection("Node", tuple(rows), severity="normal" if node.ready else "bad"),
        _calico_section(moment, name, links),
    ]
    pods = sorted((p for p in state.pods.values() if p.node == name), key=lambda p: p.running)
    lines = tuple(
        f"{p.key}  {p.ready_text}  {p.status}  restarts {p.restarts}  {p.ip or ''}".rstrip()
        for p in pods
    )
    bad = any(not p.running for p in pods)
    sections.append(DetailSection(f"Pods ({len(pods)})", lines=lines or ("<none>",),
                                  severity="warn" if bad else "normal"))  # fmt: skip
    links += [DetailLink("pod", p.name, p.namespace, "on this node") for p in pods[:30]]
    sections.append(_events(moment, _warnings(moment, "Node", name, None)))
    sections.append(
        not_recorded(
            "conditions with their reasons, addresses, capacity, taints, runtime,",
            "BIRD's protocol detail, Normal events",
        )
    )
    return Detail("node", name, None, tuple(sections), tuple(links), moment.source)
