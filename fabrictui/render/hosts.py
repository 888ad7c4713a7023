"""The VMs pane: one row per host."""

from __future__ import annotations

from rich.text import Text

from fabrictui.model import (
    Host,
    VmState,
)
from fabrictui.render.common import Palette

VM_COLUMNS = ("Name", "Role", "Rack", "State", "Provider", "SSH")


def vm_state_style(state: VmState, palette: Palette) -> str:
    if state is VmState.RUNNING:
        return palette.good
    if state in (VmState.NOT_CREATED, VmState.UNKNOWN):
        return palette.muted
    if state in (VmState.POWEROFF, VmState.SAVED):
        return palette.warn
    return palette.bad


def host_row(host: Host, palette: Palette) -> tuple[Text, ...]:
    return (
        Text(host.name),
        Text(host.role.value),
        Text("-" if host.rack is None else str(host.rack)),
        Text(host.state.value, style=vm_state_style(host.state, palette)),
        Text(host.provider, style=palette.muted),
        Text(host.ssh_endpoint or "-", style=palette.muted),
    )


# -- Fabric --------------------------------------------------------------------------
