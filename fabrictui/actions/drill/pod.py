"""A pod's detail (issue 26): phase, conditions, each container's state and last
termination, its probes and their failures in the probe's own words, node, IPs, the Calico
endpoint, the policies that select it, and its events."""

from __future__ import annotations

from fabrictui.actions.drill.common import events_section, object_events, readiness_peers
from fabrictui.actions.drill.session import peer_link
from fabrictui.actions.policy.evaluate import pod_policies
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.parsers import ParseError
from fabrictui.parsers.kube import pod_from_api
from fabrictui.parsers.kubedetail.objects import ContainerDetail, PodDetail, pod_detail
from fabrictui.render.detail import Detail, DetailLink, DetailSection


def container_section(c: ContainerDetail) -> DetailSection:
    state = c.state + (f" ({c.reason})" if c.reason else "")
    rows = [("Image", c.image), ("State", state)]
    if c.since:
        rows.append(("Since", c.since))
    if c.message:
        rows.append(("Message", c.message))
    rows += [("Ready", "True" if c.ready else "False"), ("Restart Count", str(c.restarts))]
    if c.last_reason or c.last_exit is not None:
        exit_code = "" if c.last_exit is None else f", exit code {c.last_exit}"
        finished = f", finished {c.last_finished}" if c.last_finished else ""
        rows.append(("Last State", f"Terminated ({c.last_reason or '?'}{exit_code}{finished})"))
    if c.readiness:
        rows.append(("Readiness", c.readiness))
    if c.liveness:
        rows.append(("Liveness", c.liveness))
    bad = c.state in ("Waiting", "Terminated") or (c.state == "Running" and not c.ready)
    title = ("Init container " if c.init else "Container ") + c.name
    return DetailSection(title, tuple(rows), severity="bad" if bad and not c.init else "normal")


def status_section(pod: PodDetail) -> DetailSection:
    rows = [
        ("Phase", pod.phase + (" (Terminating)" if pod.deleting else "")),
        ("Node", pod.node or "<none>"),
        ("IPs", ", ".join(pod.ips) or "<none>"),
        ("Host IP", pod.host_ip or "<none>"),
        ("Host network", "yes" if pod.host_network else "no"),
        ("Started", pod.started or "-"),
        ("Controlled By", pod.owner or "<none>"),
        ("QoS Class", pod.qos or "-"),
        ("Labels", ", ".join(f"{k}={v}" for k, v in pod.labels) or "<none>"),
    ]
    if pod.reason or pod.message:
        rows.append(("Reason", f"{pod.reason} {pod.message}".strip()))
    ready = all(c.ready for c in pod.containers if not c.init)
    return DetailSection("Status", tuple(rows), severity="normal" if ready else "warn")


def conditions_section(pod: PodDetail) -> DetailSection:
    rows = []
    for c in pod.conditions:
        why = ": ".join(x for x in (c.reason, c.message) if x)
        rows.append((c.type, c.status + (f" ({why})" if why else "")))
    bad = any(c.status != "True" for c in pod.conditions)
    return DetailSection("Conditions", tuple(rows) or (("-", "<none>"),),
                         severity="warn" if bad else "normal")  # fmt: skip


async def _calico_section(
    backend: LabBackend, pod: PodDetail, obj: dict, problems: list[str]
) -> DetailSection | None:
    if pod.host_network or not pod.pod_ip:
        return None
    rows = [("Interface", f"{backend.pod_interface(pod_from_api(obj))} on {pod.node}")]
    try:
        nodes = {n.name: n for n in await backend.list_nodes()}
    except BackendError as err:
        problems.append(f"nodes: {err}")
        nodes = {}
    node = nodes.get(pod.node)
    if node is not None and node.calico_blocks:
        import ipaddress

        addr = ipaddress.ip_address(pod.pod_ip)
        block = next(
            (b for b in node.calico_blocks if addr in ipaddress.ip_network(b, strict=False)),
            None,
        )
        rows.append(
            ("IP block", block or f"none of {pod.node}'s ({', '.join(node.calico_blocks)})")
        )
    return DetailSection("Calico endpoint", tuple(rows))


async def _policy_section(backend: LabBackend, obj: dict, problems: list[str]) -> DetailSection:
    try:
        reading = await backend.network_policies()
    except BackendError as err:
        problems.append(f"policies: {err}")
        return DetailSection("Policies", lines=("not read",))
    selected = pod_policies(reading, pod_from_api(obj))
    lines = tuple(f"{p.kind} {p.key} ({', '.join(ways)})" for p, ways in selected)
    if reading.unseen:
        lines += (f"not read: {', '.join(reading.unseen)}",)
    return DetailSection("Policies", lines=lines or ("none selects this pod",))


async def _session_links(
    backend: LabBackend, node: str | None, probe_words: tuple[str, ...], problems: list[str]
) -> list[DetailLink]:
    """The BGP sessions calico-node's readiness names: each peer named, or the node's own
    session on its leaf when BIRD did not answer (a stopped BIRD names no peer)."""
    named = [(w, readiness_peers(w)) for w in probe_words]
    if node is None or not any(peers is not None for _, peers in named):
        return []
    try:
        hosts = await backend.list_hosts()
    except BackendError as err:
        problems.append(f"hosts: {err}")
        return []
    links: list[DetailLink] = []
    for _words, peers in named:
        if peers is None:
            continue
        for peer in peers or [None]:
            why = f"readiness names BGP peer {peer}" if peer else "readiness: BIRD does not answer"
            link = peer_link(hosts, node, peer, why)
            if link is not None and all(link.name != seen.name for seen in links):
                links.append(link)
    return links


async def describe_pod(backend: LabBackend, name: str, namespace: str | None) -> Detail:
    ns = namespace or "default"
    obj = await backend.read_object("pod", name, ns)
    try:
        pod = pod_detail(obj)
    except ParseError as err:
        raise BackendError(f"pod {ns}/{name}: {err}") from None
    problems: list[str] = []
    events = await object_events(backend, ns, "Pod", name, problems)
    probe_words = tuple(
        e.message for e in events if e.reason == "Unhealthy" or "probe failed" in e.message
    )
    sections = [status_section(pod), conditions_section(pod)]
    sections += [container_section(c) for c in pod.containers]
    if probe_words:
        sections.append(DetailSection("Probe failures", lines=probe_words, severity="bad"))
    calico = await _calico_section(backend, pod, obj, problems)
    if calico is not None:
        sections.append(calico)
    sections.append(await _policy_section(backend, obj, problems))
    sections.append(events_section(events))
    links: list[DetailLink] = []
    if pod.node:
        links.append(DetailLink("node", pod.node, why="the pod runs there"))
    links += await _session_links(backend, pod.node, probe_words, problems)
    return Detail(
        "pod", pod.name, pod.namespace or ns, tuple(sections), tuple(links), "API",
        tuple(problems),
    )  # fmt: skip
