"""What the lab's containers write to their stdout, kept as a node's runtime keeps it, so that
`pods/log` answers as a real kubelet does: the current instance of each container and the one
before it (`--previous`), each line with the time it was written (`--timestamps`,
`sinceSeconds`), and followers that get each new line as it comes (`--follow`).

Every buffer is bounded (a runtime rotates its log files too): a container keeps its newest
LINES_KEPT lines; a follower that falls FOLLOW_QUEUE lines behind is ended, as the watch
queues are (docs/architecture.md), and may ask again."""

from __future__ import annotations

import asyncio
import datetime
import time
from collections import deque
from dataclasses import dataclass, field

LINES_KEPT = 5000
FOLLOW_QUEUE = 1000

# calico-node's own logging: `2019-08-05 09:15:22.123 [INFO][PID] file.go LINE: message`
CALICO_PID = 42  # the pid calico-node's processes print (a container's own pid space)


def calico_line(level: str, source: str, message: str, pid: int = CALICO_PID) -> str:
    """One line as calico-node (startup, felix, confd) writes it; `source` is `file.go NN`."""
    now = datetime.datetime.now(datetime.UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond // 1000:03d}"
    return f"{stamp} [{level}][{pid}] {source}: {message}"


@dataclass
class _Instance:
    lines: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=LINES_KEPT))
    ended: bool = False  # the instance exited (a previous one, or the pod is gone)


@dataclass
class _Container:
    current: _Instance = field(default_factory=_Instance)
    previous: _Instance | None = None
    followers: set[asyncio.Queue[str | None]] = field(default_factory=set)


class PodLogs:
    """pod uid -> container name -> its instances. One writer (the lab's controllers, on the
    API server's loop); readers are the API's log handlers on the same loop."""

    def __init__(self) -> None:
        self._pods: dict[str, dict[str, _Container]] = {}

    def _container(self, uid: str, container: str) -> _Container:
        return self._pods.setdefault(uid, {}).setdefault(container, _Container())

    def write(self, uid: str, container: str, line: str) -> None:
        entry = self._container(uid, container)
        # one clock for the lines of a pod, never going back, so sinceSeconds cuts cleanly
        stamp = max(time.time_ns(), entry.current.lines[-1][0] + 1 if entry.current.lines else 0)
        entry.current.lines.append((stamp, line))
        for queue in list(entry.followers):
            try:
                queue.put_nowait(_stamped(stamp, line))
            except asyncio.QueueFull:  # fell behind: ended, as a slow watcher is
                entry.followers.discard(queue)
                _close(queue)

    def restart(self, uid: str, container: str) -> None:
        """The container exited and starts again: what it wrote is now `--previous`."""
        entry = self._container(uid, container)
        entry.current.ended = True
        entry.previous, entry.current = entry.current, _Instance()
        for queue in list(entry.followers):  # a follow ends with the instance it followed
            _close(queue)
        entry.followers.clear()

    def has_previous(self, uid: str, container: str) -> bool:
        return self._container(uid, container).previous is not None

    def read(
        self, uid: str, container: str, previous: bool, tail: int | None, since_ns: int | None
    ) -> list[tuple[int, str]]:
        entry = self._container(uid, container)
        instance = entry.previous if previous else entry.current
        if instance is None:
            return []
        lines = [x for x in instance.lines if since_ns is None or x[0] >= since_ns]
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else []
        return lines

    def follow(self, uid: str, container: str) -> asyncio.Queue[str | None]:
        """A queue of the lines written from now on (each with its RFC 3339 time and a space
        in front); None ends it."""
        queue: asyncio.Queue[str | None] = asyncio.Queue(FOLLOW_QUEUE)
        self._container(uid, container).followers.add(queue)
        return queue

    def unfollow(self, uid: str, container: str, queue: asyncio.Queue[str | None]) -> None:
        entry = self._pods.get(uid, {}).get(container)
        if entry is not None:
            entry.followers.discard(queue)

    def forget(self, uid: str) -> None:
        """The pod is gone: its logs go with it, and its followers end."""
        for entry in self._pods.pop(uid, {}).values():
            for queue in entry.followers:
                _close(queue)


def _close(queue: asyncio.Queue[str | None]) -> None:
    try:
        queue.put_nowait(None)
    except asyncio.QueueFull:  # the reader finds it full and behind: drop one to end it
        queue.get_nowait()
        queue.put_nowait(None)


def stamp_text(stamp_ns: int) -> str:
    """RFC 3339 with nanoseconds, as the kubelet prefixes `--timestamps` lines."""
    seconds, nanos = divmod(stamp_ns, 1_000_000_000)
    base = datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{nanos:09d}Z"


def _stamped(stamp_ns: int, line: str) -> str:
    return f"{stamp_text(stamp_ns)} {line}"


# -- what calico-node prints for what the lab's agent (controllers/calico.py) does ---------------
# The format is calico-node's (level, pid, Go source file and line); the messages say what the
# lab's agent did, in Calico's terms. The file/line numbers are where calico-node v3.10 logs
# such steps, near enough: a reader matches on the level and the words, never on the line.


def calico_starting(node: str, address: str) -> list[str]:
    return [
        calico_line("INFO", "startup.go 259", "Early log level set to info"),
        calico_line("INFO", "startup.go 275", "Using NODENAME environment for node name"),
        calico_line("INFO", "startup.go 287", f"Determined node name: {node}"),
        calico_line("INFO", "startup.go 319", "Checking datastore connection"),
        calico_line("INFO", "startup.go 343", "Datastore connection verified"),
        calico_line("INFO", "startup.go 98", "Datastore is ready"),
        calico_line(
            "INFO",
            "startup.go 605",
            f"Using autodetected IPv4 address on interface eth0: {address}/24",
        ),
    ]


def calico_started(node: str, block: str, tunnel_ip: str, vtep_mac: str, peers: int) -> list[str]:
    return [
        calico_line("INFO", "ipam.go 92", f'Looking up existing affinities for host host="{node}"'),
        calico_line("INFO", "ipam.go 580", f'Trying affinity for {block} host="{node}"'),
        calico_line("INFO", "ipam.go 155", f'Claimed block {block} host="{node}"'),
        calico_line(
            "INFO",
            "allocate_ipip_addr.go 179",
            f'Assigned tunnel address to node IP="{tunnel_ip}" type="vxlanTunnelAddress"',
        ),
        calico_line("INFO", "startup.go 185", "Using node name: " + node),
        calico_line(
            "INFO",
            "vxlan_mgr.go 316",
            f'VXLAN tunnel device configured IP="{tunnel_ip}" MAC="{vtep_mac}" name="vxlan.calico"',
        ),
        calico_line(
            "INFO",
            "vxlan_mgr.go 212",
            f"VXLAN routes, ARP and FDB entries programmed for {peers} remote VTEPs",
        ),
        calico_line("INFO", "int_dataplane.go 1026", "Completed first update to dataplane."),
        calico_line(
            "INFO",
            "health.go 196",
            "Overall health status changed newStatus=&health.HealthReport{Live:true, Ready:true}",
        ),
    ]


def calico_failed(error: str) -> list[str]:
    return [
        calico_line("ERROR", "int_dataplane.go 1033", f"Failed to apply dataplane update: {error}"),
        calico_line(
            "WARNING",
            "health.go 196",
            "Overall health status changed newStatus=&health.HealthReport{Live:false, Ready:false}",
        ),
        calico_line("FATAL", "daemon.go 684", "Exiting: dataplane failed"),
    ]
