"""Kind "vm": what vagrant (or the lab's inventory) says of one machine (issue 26): its
state as `vagrant status` spells it, provider, role, rack, SSH endpoint, addresses, and why
its SSH does not answer when it does not."""

from __future__ import annotations

from fabrictui.backends.base import LabBackend, NotFound
from fabrictui.render.detail import Detail, DetailLink, DetailSection


async def describe_vm(backend: LabBackend, name: str, namespace: str | None = None) -> Detail:
    hosts = await backend.list_hosts()
    host = next((h for h in hosts if h.name == name), None)
    if host is None:
        known = ", ".join(h.name for h in hosts) or "none"
        raise NotFound(f"{name}: no such machine in this lab (machines: {known})")
    rows = [
        ("State", host.state.value),
        ("Provider", host.provider or "-"),
        ("Role", host.role.value),
    ]
    if host.rack is not None:
        rows.append(("Rack", str(host.rack)))
    rows.append(("SSH", host.ssh_endpoint or "not known"))
    if host.address:
        rows.append(("Address", host.address))
    if host.asn is not None:
        rows.append(("AS", str(host.asn)))
    severity = "normal" if host.state.value == "running" else "bad"
    sections = [DetailSection("Machine", tuple(rows), severity=severity)]
    if host.ssh_error:
        sections.append(DetailSection("SSH", lines=(host.ssh_error,), severity="bad"))
    command = backend.ssh_command(name)
    if command:
        sections.append(DetailSection("Log in", lines=(" ".join(command),)))
    links = []
    if host.role.is_switch:
        links.append(DetailLink("switch", name, why="its interfaces and sessions"))
    elif host.role.is_k8s:
        links.append(DetailLink("node", name, why="the Kubernetes node"))
    return Detail(
        kind="vm",
        name=name,
        sections=tuple(sections),
        links=tuple(links),
        source=f"{backend.info().kind} lab: {host.provider or 'inventory'}",
    )
