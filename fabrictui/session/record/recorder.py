"""Recording a session: a listener on what `LabState` receives, handing each
item to one writer thread; the captured frames are written into the same file
by the capture worker process (`fabrictui.session.record.frames`), so the app's
process does no per-frame or per-record work for recording.

On the loop each item costs one queue put: a state change (objects that are
already immutable). The writer thread encodes, inserts, and commits every
COMMIT_SECONDS, so a `kill -9` loses at most that much.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabrictui import __version__
from fabrictui.actions.trace.model import TraceResult
from fabrictui.model import CheckResult, LabInfo, PingResult
from fabrictui.session.record.format import FORMAT_VERSION, connect, dumps, write_queued
from fabrictui.session.record.marks import MARKED, Marker
from fabrictui.session.state import LabState

if TYPE_CHECKING:
    from fabrictui.session.feeds import FeedSupervisor

SNAPSHOT_SECONDS = 60.0  # a whole-state snapshot this often: a seek replays at most this
SNAPSHOT_EVENTS = 2000  # ... or after this many events (a busy cluster), whichever comes first
MARK_GAP = 1.0  # marks of one level closer than this are kept as one (a flood of restarts)
OVERLAY_SECONDS = 1.0  # the capture counters, at most this often


class Recorder:
    """Writes one session to `path`. `attach(state)` listens to it;
    `record_frames(feeds)` has the capture worker write the frames; `log()`
    records an action-log line; `close()` ends it."""

    def __init__(self, path: Path, lab: LabInfo, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.lab = lab
        self.clock = clock
        self.started = clock()
        self.error: str | None = None  # the writer's failure, once (recording stopped)
        # told that error, from the writer thread (the app hands it to its loop)
        self.on_error: Callable[[str], None] | None = None
        self.state: LabState | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._last_snapshot = 0.0
        self._since_snapshot = 0  # events queued since the last snapshot
        self._last_mark: dict[str, float] = {}  # level -> time of the last mark kept (writer)
        self._last_overlay: dict[str, float] = {}  # kind -> when last recorded
        self._marker = Marker()  # used by the writer thread only
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(str(self.path))  # fail here, in the caller, when the file is unusable
        self._thread = threading.Thread(
            target=self._run, args=(conn,), name="fabrictui-recorder", daemon=True
        )
        self._thread.start()
        self._queue.put(("meta", None, None))

    # -- on the loop -----

    def attach(self, state: LabState) -> None:
        self.state = state
        state.listeners.append(self.received)
        self._snapshot(self.clock())

    def received(self, kind: str, data: Any) -> None:
        """A listener of `LabState`: one queue put, nothing else on the loop."""
        if self.error is not None:
            return  # the writer stopped: queueing more would only grow memory
        now = self.clock()
        if kind in ("overlay", "transit"):
            last = self._last_overlay.get(kind, 0.0)
            if now - last < OVERLAY_SECONDS:
                return
            self._last_overlay[kind] = now
        self._queue.put(("event", now, (kind, data)))
        self._since_snapshot += 1
        # a snapshot costs as much as the pods it holds: never more often than the
        # events since the last one add up to as many, so snapshots at most double the file
        every = max(SNAPSHOT_EVENTS, len(self.state.pods) if self.state else 0)
        if now - self._last_snapshot >= SNAPSHOT_SECONDS or self._since_snapshot >= every:
            self._snapshot(now)

    def log(self, level: str, line: str) -> None:
        if self.error is None:
            self._queue.put(("event", self.clock(), ("log", [level, line])))

    def result(self, action: str, result: Any) -> None:
        """A listener of the action runner: verify's checks, the ping mesh's
        results and a trace are kept (what replay and reports show as the latest,
        with its time)."""
        if isinstance(result, list) and result and all(isinstance(r, CheckResult) for r in result):
            self._queue.put(("event", self.clock(), ("verify", list(result))))
            return
        if isinstance(result, TraceResult):
            self._queue.put(("event", self.clock(), ("trace", result)))
            return
        results = getattr(result, "results", None)
        if isinstance(results, dict) and all(isinstance(r, PingResult) for r in results.values()):
            self._queue.put(("event", self.clock(), ("ping", dict(results))))

    def _snapshot(self, now: float) -> None:
        state = self.state
        if state is None:
            return
        self._last_snapshot = now
        self._since_snapshot = 0
        whole = {
            "hosts": list(state.hosts),
            "fabric": dict(state.readings),
            "nodes": tuple(state.nodes.values()),
            "pods": tuple(state.pods.values()),
            "problems": dict(state.problems),
            "answers": dict(state.last_answer),
            "overlay": state.overlay.counters,
            "transit": state.overlay.transit,
            "bgp": [state.calico_mode, dict(state.node_bgp)],
            "services": [list(state.services), state.services_error],
            "events": [list(state.warnings), state.warnings_error],
            "interfaces": [dict(state.interfaces), dict(state.switch_ports)],
        }
        self._queue.put(("event", now, ("snapshot", whole)))

    def record_frames(self, feeds: FeedSupervisor) -> None:
        """Have `feeds`' capture worker write the frames into this recording,
        and what it could not record noted in it (a `gap` event)."""
        feeds.record_frames = self.path
        feeds.on_record_note = self.gap

    def gap(self, why: str) -> None:
        """Frames were not recorded (the worker's disk was behind, or failed)."""
        if self.error is None:
            self._queue.put(("event", self.clock(), ("gap", why)))

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, mark the end, commit, close (blocks: call it off
        the loop, or at exit)."""
        if self._thread.is_alive():
            self._queue.put(("close", self.clock(), None))
            self._thread.join(timeout)

    # -- the writer thread -----

    def _run(self, conn: sqlite3.Connection) -> None:
        def take(item: tuple[str, Any, Any]) -> bool:
            what, a, b = item
            if what == "close":
                self._meta(conn, "ended", repr(a))
                return False
            self._write(conn, what, a, b)
            return True

        try:
            write_queued(conn, self._queue, take)
        except (sqlite3.Error, OSError) as err:
            self.error = f"recording stopped: {self.path}: {err}"
            if self.on_error is not None:
                with contextlib.suppress(Exception):  # the app may be ending
                    self.on_error(self.error)
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _write(self, conn: sqlite3.Connection, what: str, a: Any, b: Any) -> None:
        if what == "event":
            kind, data = b
            conn.execute(
                "INSERT INTO events (t, kind, data) VALUES (?, ?, ?)", (a, kind, dumps(data))
            )
            if kind in MARKED:
                mark = self._marker.see(a, kind, data)
                if mark is not None and a - self._last_mark.get(mark.level, -MARK_GAP) >= MARK_GAP:
                    self._last_mark[mark.level] = a
                    conn.execute(
                        "INSERT INTO marks (t, level, text) VALUES (?, ?, ?)",
                        (mark.t, mark.level, mark.text),
                    )
        elif what == "meta":
            self._meta(conn, "format", str(FORMAT_VERSION))
            self._meta(conn, "version", __version__)
            self._meta(conn, "lab", dumps(self.lab))
            self._meta(conn, "started", repr(self.started))
            conn.commit()

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
