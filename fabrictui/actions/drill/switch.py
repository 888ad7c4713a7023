"""Kind "switch": its interfaces (state, speed, MTU, error counters) and its sessions
(issue 26). What cannot be read goes into the Detail's problems in the source's words and
the rest is still shown: a switch whose interfaces do not answer still lists its sessions."""

from __future__ import annotations

from fabrictui.backends.base import BackendError, LabBackend, NotFound
from fabrictui.model import BgpSummary, Host
from fabrictui.parsers.interfaces import Interface
from fabrictui.render.detail import Detail, DetailLink, DetailSection


def interface_row(i: Interface) -> tuple[str, str]:
    speed = f"{i.speed_mbps} Mb/s" if i.speed_mbps is not None else "no speed"
    mtu = f"MTU {i.mtu}" if i.mtu is not None else "MTU -"
    counters = f"errors rx {i.rx_errors or 0} tx {i.tx_errors or 0}"
    counters += f", drops rx {i.rx_dropped or 0} tx {i.tx_dropped or 0}"
    if i.carrier_changes is not None:
        counters += f", carrier changes {i.carrier_changes}"
    return i.name, f"{i.state}, {speed}, {mtu}, {counters}"


def _bad(i: Interface) -> bool:
    """A switch port that is down or counts errors (lo and eth0 are not the fabric's)."""
    return i.name not in ("lo", "eth0") and (i.state in ("down", "lowerlayerdown") or i.errors > 0)


def _source(backend: LabBackend, name: str) -> str:
    via = getattr(backend, "telemetry_source", "ssh")  # the real backend's Prometheus, if set
    if via.startswith("prometheus"):
        return f"{name}: {via} (node and frr exporters' series)"
    return f"{name}: /sys/class/net and its BGP summary"


def switch_section(host: Host) -> DetailSection:
    """What the lab's inventory says of a switch (live or as recorded)."""
    rows = [("Role", host.role.value), ("VM", host.state.value)]
    if host.rack is not None:
        rows.append(("Rack", str(host.rack)))
    if host.asn is not None:
        rows.append(("AS", str(host.asn)))
    if host.address:
        rows.append(("Router ID", host.address))
    return DetailSection("Switch", tuple(rows))


def sessions_section(name: str, summary: BgpSummary) -> tuple[DetailSection, list[DetailLink]]:
    """A switch's sessions as its summary lists them (live or as recorded), and a link to
    each session's own detail."""
    rows, links = [], []
    for p in summary.peers:
        who = p.neighbor + (f" ({p.hostname})" if p.hostname else "")
        state = p.state
        if p.established and p.prefixes_received is not None:
            state += f", {p.prefixes_received} prefixes"
        rows.append((who, f"{state}, {p.uptime}"))
        links.append(DetailLink("session", f"{name}/{p.neighbor}", why=p.state))
    down = any(not p.established for p in summary.peers)
    return DetailSection("Sessions", tuple(rows), severity="bad" if down else "normal"), links


async def describe_switch(backend: LabBackend, name: str, namespace: str | None) -> Detail:
    hosts = await backend.list_hosts()
    host = next((h for h in hosts if h.name == name), None)
    if host is None or not host.role.is_switch:
        raise NotFound(f"{name}: no such switch in this lab")
    sections = [switch_section(host)]
    problems: list[str] = []
    try:
        interfaces = await backend.switch_interfaces(name)
    except BackendError as err:
        problems.append(f"interfaces: {err}")
    else:
        severity = "bad" if any(_bad(i) for i in interfaces) else "normal"
        sections.append(
            DetailSection(
                "Interfaces", tuple(interface_row(i) for i in interfaces), severity=severity
            )
        )
    links = []
    reading = await backend.bgp_summary(name)
    if reading.summary is None:
        problems.append(f"sessions: {reading.error or 'no summary'}")
    else:
        section, links = sessions_section(name, reading.summary)
        sections.append(section)
    links.append(DetailLink("vm", name, why="what vagrant says of it"))
    return Detail(
        kind="switch",
        name=name,
        sections=tuple(sections),
        links=tuple(links),
        source=_source(backend, name),
        problems=tuple(problems),
    )
