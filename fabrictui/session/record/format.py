"""The recording file: one SQLite database per session (docs/replay.md).

Tables:

- `meta(key, value)`: `format` (FORMAT_VERSION), `lab` (the `LabInfo` as JSON),
  `started`, `ended` (epoch seconds; `ended` is missing after a crash), `version`.
- `events(id, t, kind, data)`: what the state received, in order (`t` is the
  recording machine's clock; ids grow with `t`, the writer is one thread).
  `data` is tagged JSON (`encode` / `decode`): no pickle, so opening a
  colleague's recording runs none of their code.
- `streams(id, node, address, header)`: one per capture stream, with its pcap
  global header (link type, time resolution, byte order).
- `marks(id, t, level, text)`: what the timeline strip shows (`marks.Marker`), found
  by the writer as it writes.
- `frames(id, stream, t0, t1, count, records)`: blocks of whole pcap records of
  one stream, newest last: a stream's header followed by its blocks is a valid
  pcap file, which is how `w` and `export_pcap` write them.

Event kinds (EVENT_KINDS) and their data: `hosts` a list of Host, `fabric` a dict
of SwitchReading, `node` / `pod` a WatchEvent, `bgp` [Calico's mode, each node's
BGP peers or why they could not be read], `failed` [source, error],
`overlay` the capture counters (FlowSnapshot, once a second at most), `transit`
the frames' one-way times and losses per node pair (TransitSnapshot, as often), `log`
[level, line] from the action log, `verify` a list of CheckResult, `ping` a dict
of PingResult by (source pod, target pod), `trace` a TraceResult, `snapshot` the
whole state (once a minute or 2,000 events, so a seek replays little), `gap` a
note that frames were not recorded (the writer was behind), `bgpreset` [switch, peer,
state, words] why a session went down, read when the fabric poll saw it (replay skips it;
the report lists it with the change), `events` [the cluster's Warning events (KubeEvent),
why they could not be read] when they changed, `interfaces` [each switch's (read time, its
interfaces or why they could not be read), (switch, neighbour) -> port] when a port's state
changed, `bgpdetail` [switch, peer, the session's neighbour detail as plain data] read with a
`bgpreset` (session/record/neighbors.py; replay shows it in the session's detail),
`kubedetail` a pod's or node's full detail as plain data, read when it turned not ready,
restarted or recovered, with the not-ready container's last log lines
(session/record/kubedetail.py; replay shows it in the pod's and node's detail and `l`, the
report lists it). Every kind
this reader knows is replayed from recordings that lack it (older ones): FORMAT_VERSION stays
1. A fabrictui from before `interfaces` cannot read a newer recording (its snapshots carry
`Interface` records) and says "unknown record type".
"""

from __future__ import annotations

import enum
import json
import queue
import sqlite3
import time
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any

from fabrictui import model
from fabrictui.actions.trace import dnsname, svcsteps
from fabrictui.actions.trace import model as trace_model
from fabrictui.capture.counters import FlowSnapshot
from fabrictui.capture.transit import FlowTransit, PairTransit, TransitSnapshot
from fabrictui.parsers.calico import CalicoPeer
from fabrictui.parsers.interfaces import Interface
from fabrictui.parsers.kubedetail.events import KubeEvent

FORMAT_VERSION = 1
SUFFIX = ".rec.sqlite"
EVENT_KINDS = (
    "hosts", "fabric", "node", "pod", "bgp", "failed", "overlay", "transit", "log",
    "verify", "ping", "trace", "snapshot", "gap", "bgpreset", "events", "interfaces",
    "bgpdetail", "kubedetail",
)  # fmt: skip

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, t REAL NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS streams (
    id INTEGER PRIMARY KEY, node TEXT NOT NULL, address TEXT, header BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS marks (
    id INTEGER PRIMARY KEY, t REAL NOT NULL, level TEXT NOT NULL, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY, stream INTEGER NOT NULL, t0 REAL NOT NULL, t1 REAL NOT NULL,
    count INTEGER NOT NULL, records BLOB NOT NULL);
"""


class RecordingError(Exception):
    """A recording that cannot be opened or written; the message names the file."""


# Only these types are rebuilt from a recording: anything else is refused.
_CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        model.Host,
        model.BgpPeer,
        model.BgpSummary,
        model.SwitchReading,
        model.KubeNode,
        model.KubePod,
        model.KubeService,
        model.ServicePort,
        model.ServiceEndpoint,
        model.WatchEvent,
        model.PingResult,
        model.CheckResult,
        model.LabInfo,
        KubeEvent,
        FlowSnapshot,
        TransitSnapshot,
        PairTransit,
        FlowTransit,
        CalicoPeer,
        Interface,
        trace_model.TraceResult,
        trace_model.Correlation,
        trace_model.Hop,
        trace_model.Sighting,
        trace_model.ObservationPoint,
        svcsteps.ServiceTrace,  # a trace to a Service: its steps
        svcsteps.ServiceStep,
        dnsname.DnsResolution,  # a trace to a DNS name: its lookup
    )
}
_ENUMS: dict[str, type[enum.Enum]] = {
    e.__name__: e
    for e in (
        model.Role,
        model.VmState,
        trace_model.PointKind,
        trace_model.HopState,
        svcsteps.StepState,
    )
}


def connect(path: str, readonly: bool = False, busy_seconds: float = 60.0) -> sqlite3.Connection:
    """A connection in WAL mode (a writer: the app's recorder, the capture worker's
    frames; each waits up to `busy_seconds` for the other's commit, from a thread of its
    own: a short wait let a busy moment stop a writer for good) or read-only (replay,
    report)."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        return conn
    conn = sqlite3.connect(path, timeout=busy_seconds, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # a commit reaches the file before the call returns: kill -9 loses only uncommitted
    # rows; NORMAL skips the fsync per commit (a power cut may lose the last commits)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    return conn


COMMIT_SECONDS = 0.5  # kill -9 loses at most this much (the issue asks for a second)


def write_queued(
    conn: sqlite3.Connection,
    items: queue.SimpleQueue,
    take: Callable[[Any], bool],
    before_commit: Callable[[], None] | None = None,
) -> None:
    """A writer thread's loop (the app's recorder, the capture worker's frames): `take`
    each queued item until it returns False for the last one; commit every
    COMMIT_SECONDS, and after the last (`before_commit` first, for what a writer holds
    back). sqlite3 and OS errors are the caller's."""
    last_commit = time.monotonic()
    while True:
        wait = max(0.0, COMMIT_SECONDS - (time.monotonic() - last_commit))
        try:
            item = items.get(timeout=wait)
        except queue.Empty:
            pass
        else:
            if not take(item):
                if before_commit is not None:
                    before_commit()
                conn.commit()
                return
        if time.monotonic() - last_commit >= COMMIT_SECONDS:
            if before_commit is not None:
                before_commit()
            conn.commit()
            last_commit = time.monotonic()


def encode(obj: Any) -> Any:
    """A model object as JSON-ready data, tagged so `decode` rebuilds it."""
    if obj is None or isinstance(obj, bool | int | float):
        return obj
    if isinstance(obj, enum.Enum):
        return {"@e": type(obj).__name__, "v": obj.value}
    if isinstance(obj, str):
        return obj
    if is_dataclass(obj) and not isinstance(obj, type):
        data = {f.name: encode(getattr(obj, f.name)) for f in fields(obj)}
        data["@"] = type(obj).__name__
        return data
    if isinstance(obj, tuple):
        return {"@t": [encode(v) for v in obj]}
    if isinstance(obj, list):
        return [encode(v) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {"@d": {k: encode(v) for k, v in obj.items()}}
        return {"@k": [[encode(k), encode(v)] for k, v in obj.items()]}
    raise TypeError(f"cannot record a {type(obj).__name__}")


def decode(data: Any) -> Any:
    """Rebuild what `encode` wrote; raises ValueError for anything else."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "@t" in data:
        return tuple(decode(v) for v in data["@t"])
    if "@d" in data:
        return {k: decode(v) for k, v in data["@d"].items()}
    if "@k" in data:
        return {_hashable(decode(k)): decode(v) for k, v in data["@k"]}
    if "@e" in data:
        kind = _ENUMS.get(data["@e"])
        if kind is None:
            raise ValueError(f"unknown value type {data['@e']!r}")
        return kind(data["v"])
    name = data.get("@")
    cls = _CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown record type {name!r}")
    return cls(**{k: decode(v) for k, v in data.items() if k != "@"})


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def dumps(obj: Any) -> str:
    return json.dumps(encode(obj), separators=(",", ":"))


def loads(text: str) -> Any:
    return decode(json.loads(text))
