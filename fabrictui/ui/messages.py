"""Typed messages from feeds and actions to the UI (posted from workers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from fabrictui.capture.pcap import RawRecord
from fabrictui.model import Host, KubeNode, KubePod, SwitchReading, VxlanFrame, WatchEvent

if TYPE_CHECKING:
    from fabrictui.actions.progress import Progress


@dataclass
class HostsUpdated(Message):
    hosts: list[Host]


@dataclass
class FabricUpdated(Message):
    readings: dict[str, SwitchReading]


@dataclass
class NodeEvent(Message):
    event: WatchEvent[KubeNode]


@dataclass
class PodEvent(Message):
    event: WatchEvent[KubePod]


@dataclass
class FramesCaptured(Message):
    frames: list[VxlanFrame]
    raw: list[RawRecord]  # the same frames as captured, for writing a pcap
    linktype: int


@dataclass
class SourceFailed(Message):
    """A feed lost its source; the pane marks its data stale and shows why."""

    source: str  # "hosts", "fabric", "nodes", "pods", "capture"
    error: str


@dataclass
class ActionProgress(Message):
    action: str
    progress: Progress
