"""Typed messages from the session layer to the screen.

Feeds write into the `LabState` first; these messages only tell the screen to
draw. One carrying a whole snapshot replaces an older one of its kind still
waiting in the queue (`can_replace`), so a slow screen never works through
stale snapshots. Nodes, pods and frames send no message at all: the screen
draws them from the state at its own pace.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from fabrictui.model import Host, SwitchReading


@dataclass
class HostsUpdated(Message):
    hosts: list[Host]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HostsUpdated)


@dataclass
class FabricUpdated(Message):
    readings: dict[str, SwitchReading]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FabricUpdated)


@dataclass
class SourceFailed(Message):
    """A feed lost its source; the pane marks its data stale and shows why."""

    source: str  # "hosts", "fabric", "nodes", "pods", "capture"
    error: str
    first: bool  # a new error (worth a line in the log), not the same one again


@dataclass
class FeedStopped(Message):
    """A feed crashed; the supervisor restarts it after `retry_in` seconds."""

    feed: str
    error: str
    retry_in: float
    first: bool
