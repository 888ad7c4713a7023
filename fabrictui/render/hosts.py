"""The VMs pane: one row per host."""

from __future__ import annotations

from rich.text import Text

from fabrictui.intent.liveness import HostView
from fabrictui.model import (
    Host,
    VmState,
)
from fabrictui.render.common import Palette, age

VM_COLUMNS = ("Name", "Role", "Rack", "State", "Provider", "SSH")


def vm_state_style(state: VmState, palette: Palette) -> str:
    if state is VmState.RUNNING:
        return palette.good
    if state in (VmState.NOT_CREATED, VmState.UNKNOWN):
        return palette.muted
    if state in (VmState.POWEROFF, VmState.SAVED):
        return palette.warn
    return palette.bad


def state_cell(host: Host, view: HostView | None, palette: Palette) -> Text:
    """The state as its provider says it; for a host whose SSH does not answer, what the
    rest of the evidence says: `running, no SSH 30s` when its peers see its sessions up or
    the API sees it Ready (the machine works, only its management path is cut), else
    `no SSH 30s` (nothing else says it runs)."""
    if view is None:
        return Text(host.state.value, style=vm_state_style(host.state, palette))
    how_long = age(view.seconds)
    if view.alive:
        return Text(f"running, no SSH {how_long}", style=palette.unseen)
    return Text(f"no SSH {how_long}", style=palette.bad)


def ssh_cell(host: Host, view: HostView | None, palette: Palette) -> Text:
    if view is None:
        return Text(host.ssh_endpoint or "-", style=palette.muted)
    return Text(f"{view.cut}; {view.says}", style=palette.unseen if view.alive else palette.bad)


def host_row(host: Host, palette: Palette, view: HostView | None = None) -> tuple[Text, ...]:
    return (
        Text(host.name),
        Text(host.role.value),
        Text("-" if host.rack is None else str(host.rack)),
        state_cell(host, view, palette),
        Text(host.provider, style=palette.muted),
        ssh_cell(host, view, palette),
    )


# -- Fabric --------------------------------------------------------------------------
