"""Drill down (issue 26): what is known about one object, read when asked.

DESCRIBERS maps a kind (`fabrictui describe KIND NAME`, the TUI's Enter on a row) to an
async function reading one object into a render.detail.Detail. Each kind's reader lives in
its own module here and adds one entry below; the describe command and the TUI's detail
screen go through this table only, so a kind is added in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fabrictui.actions.drill.node import describe_node
from fabrictui.actions.drill.pod import describe_pod
from fabrictui.actions.drill.session import describe_session
from fabrictui.actions.drill.switch import describe_switch
from fabrictui.actions.drill.vm import describe_vm
from fabrictui.backends.base import LabBackend
from fabrictui.render.detail import Detail

# (backend, name, namespace or None) -> Detail; raise BackendError (its words are the
# user's message) when the object is not found or its source does not answer
Describer = Callable[[LabBackend, str, str | None], Awaitable[Detail]]

DESCRIBERS: dict[str, Describer] = {}
DESCRIBERS["pod"] = describe_pod
DESCRIBERS["node"] = describe_node
DESCRIBERS["session"] = describe_session
DESCRIBERS["switch"] = describe_switch
DESCRIBERS["vm"] = describe_vm
