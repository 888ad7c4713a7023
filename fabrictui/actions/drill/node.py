"""A node's detail (issue 26): conditions, addresses, capacity, taints, kubelet and runtime
versions, the Calico node (tunnel address, blocks, BIRD's peers in BGP mode), its pods and
its events."""

from __future__ import annotations

from fabrictui.actions.drill.common import events_section, object_events
from fabrictui.actions.drill.session import peer_link
from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.model import KubePod
from fabrictui.parsers import ParseError
from fabrictui.parsers.kubedetail.objects import NodeDetail, node_detail
from fabrictui.render.detail import Detail, DetailLink, DetailSection

PODS_LINKED = 30  # the node's pods offered as links (all are listed)


def node_sections(node: NodeDetail) -> list[DetailSection]:
    ready = next((c for c in node.conditions if c.type == "Ready"), None)
    rows = [
        ("Roles", ", ".join(node.roles) or "<none>"),
        ("Ready", ready.status if ready else "Unknown"),
        ("Created", node.created or "-"),
        ("Kubelet", node.kubelet or "-"),
        ("Runtime", node.runtime or "-"),
        ("OS image", node.os_image or "-"),
        ("Kernel", node.kernel or "-"),
        ("Unschedulable", "yes" if node.unschedulable else "no"),
        ("Taints", ", ".join(node.taints) or "<none>"),
    ]
    if node.pod_cidr:
        rows.append(("PodCIDR", node.pod_cidr))
    healthy = ready is not None and ready.status == "True"
    conds = []
    for c in node.conditions:
        why = ": ".join(x for x in (c.reason, c.message) if x)
        conds.append((c.type, c.status + (f" ({why})" if why else "")))
    return [
        DetailSection("Node", tuple(rows), severity="normal" if healthy else "bad"),
        DetailSection(
            "Conditions",
            tuple(conds) or (("-", "<none>"),),
            severity="normal" if healthy else "bad",
        ),
        DetailSection("Addresses", tuple(node.addresses)),
        DetailSection("Capacity", tuple(node.capacity)),
        DetailSection("Allocatable", tuple(node.allocatable)),
    ]


async def _calico_section(
    backend: LabBackend, node: NodeDetail, problems: list[str], links: list[DetailLink]
) -> DetailSection:
    rows = [("Tunnel address", node.tunnel_ip or "<none: Calico has not run here>")]
    if node.calico_ip:
        rows.append(("Calico address", node.calico_ip))
    blocks = node.blocks
    if not blocks:
        try:
            known = {n.name: n for n in await backend.list_nodes()}
            blocks = known[node.name].calico_blocks if node.name in known else ()
        except BackendError as err:
            problems.append(f"blocks: {err}")
    rows.append(("IPAM blocks", ", ".join(blocks) or "<none>"))
    lines: tuple[str, ...] = ()
    try:
        if await backend.calico_mode() == "bgp":
            hosts = await backend.list_hosts()
            link = peer_link(hosts, node.name, None, "its BGP session on its leaf")
            if link is not None:
                links.append(link)
            protocols = await backend.node_bgp_status(node.name)
            lines = tuple(
                f"BIRD {p.name}: {p.state} {p.info}".rstrip() for p in protocols if p.proto == "BGP"
            )
    except BackendError as err:
        problems.append(f"BIRD: {err}")
    bad = any("Established" not in line for line in lines)
    return DetailSection("Calico node", tuple(rows), lines, "bad" if bad else "normal")


def pods_section(pods: list[KubePod]) -> tuple[DetailSection, list[DetailLink]]:
    """A node's pods (live or as recorded), the ones that are not right first, and links
    to the first of them."""
    pods = sorted(pods, key=lambda p: p.running)
    lines = tuple(
        f"{p.key}  {p.ready_text}  {p.status}  restarts {p.restarts}  {p.ip or ''}".rstrip()
        for p in pods
    )
    bad = any(not p.running for p in pods)
    section = DetailSection(
        f"Pods ({len(pods)})", lines=lines or ("<none>",), severity="warn" if bad else "normal"
    )
    links = [DetailLink("pod", p.name, p.namespace, "on this node") for p in pods[:PODS_LINKED]]
    return section, links


async def describe_node(backend: LabBackend, name: str, namespace: str | None = None) -> Detail:
    obj = await backend.read_object("node", name)
    try:
        node = node_detail(obj)
    except ParseError as err:
        raise BackendError(f"node {name}: {err}") from None
    problems: list[str] = []
    sections = node_sections(node)
    links: list[DetailLink] = []
    sections.append(await _calico_section(backend, node, problems, links))
    try:
        pods = [p for p in await backend.list_pods() if p.node == node.name]
        section, pod_links = pods_section(pods)
        sections.append(section)
        links += pod_links
    except BackendError as err:
        problems.append(f"pods: {err}")
    events = await object_events(backend, None, "Node", name, problems)
    sections.append(events_section(events))
    return Detail("node", node.name, None, tuple(sections), tuple(links), "API", tuple(problems))
