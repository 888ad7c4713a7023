"""A VM's detail (issue 26): what the lab's VM source (vagrant, the inventory, the demo lab)
says of the machine, and what runs on it: a node's detail, a switch's sessions."""

from __future__ import annotations

from fabrictui.backends.base import LabBackend, NotFound
from fabrictui.model import VmState
from fabrictui.render.detail import Detail, DetailLink, DetailSection


async def describe_vm(backend: LabBackend, name: str, namespace: str | None = None) -> Detail:
    hosts = {h.name: h for h in await backend.list_hosts()}
    host = hosts.get(name)
    if host is None:
        known = ", ".join(sorted(hosts)) or "none"
        raise NotFound(f"no VM {name!r} in {backend.info().name} (VMs: {known})")
    state = str(host.state)
    rows = [
        ("Role", str(host.role)),
        ("Rack", str(host.rack) if host.rack is not None else "-"),
        ("State", state),
        ("Provider", host.provider or "-"),
        ("SSH", host.ssh_endpoint or "-"),
        ("Address", host.address or "-"),
    ]
    if host.asn is not None:
        rows.append(("AS", str(host.asn)))
    if host.ssh_error:
        rows.append(("SSH error", host.ssh_error))
    bad = host.state is not VmState.RUNNING
    links: list[DetailLink] = []
    if host.role.is_k8s:
        links.append(DetailLink("node", host.name, why="the Kubernetes node on this VM"))
    elif host.role.is_switch:
        links.append(DetailLink("switch", host.name, why="the switch on this VM"))
    source = backend.info().kind
    section = DetailSection("VM", tuple(rows), severity="bad" if bad else "normal")
    return Detail("vm", host.name, None, (section,), tuple(links), source)
