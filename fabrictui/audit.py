"""The audit log: every action appended to a JSON-lines file in the user's
state directory, a `start` record written (and flushed to disk) before the
action begins and an `end` record after, so an action whose app was killed
still shows, as incomplete.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import getpass
import json
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fabrictui.config import state_dir
from fabrictui.scrub import scrub

AUDIT_FILE = "audit.jsonl"


def audit_path() -> Path:
    return state_dir() / AUDIT_FILE


def _append(record: dict) -> None:
    """Append one record and fsync it (seconds on a busy disk: never on the UI's loop)."""
    path = audit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


# Records written while an event loop runs go through one writer thread (in
# order), so an fsync never stalls the loop; `flush` waits for them.
_writer: ThreadPoolExecutor | None = None
_writer_lock = threading.Lock()


def _writer_pool() -> ThreadPoolExecutor:
    global _writer
    with _writer_lock:
        if _writer is None:
            _writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fabrictui-audit")
        return _writer


def _in_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _append_soon(record: dict) -> None:
    """Write now when no loop runs; else hand the write to the writer thread."""
    if not _in_loop():
        _append(record)
        return
    future = _writer_pool().submit(_append, record)
    # the start record is on disk; a lost detail must not break the action
    future.add_done_callback(lambda done: done.exception())


def flush() -> None:
    """Wait until every record handed to the writer thread is on disk."""
    if _writer is not None:
        _writer.submit(lambda: None).result()


# the action running in this task (and the tasks and threads it starts): the
# backends report the exact commands and API calls they make on its behalf
_current: contextvars.ContextVar[AuditEntry | None] = contextvars.ContextVar(
    "fabrictui_audit_entry", default=None
)


def record_call(call: str) -> None:
    """Called by backends for each remote command or mutating API call; written
    to the audit log when an audited action is running in this context."""
    entry = _current.get()
    if entry is None:
        return
    # the start record is on disk; a lost detail must not break the action
    with contextlib.suppress(OSError):
        entry.call(call)


@dataclass
class AuditEntry:
    id: str
    action: str

    def call(self, call: str) -> None:
        _append_soon({"id": self.id, "event": "call", "time": time.time(), "call": scrub(call)})

    def finish(self, result: str, summary: str = "") -> None:
        if _current.get() is self:
            _current.set(None)
        _append_soon(
            {
                "id": self.id,
                "event": "end",
                "time": time.time(),
                "action": self.action,
                "result": result,
                "summary": scrub(summary),
            }
        )


def start(action: str, lab: str, target: str, calls: list[str]) -> AuditEntry:
    """Record that `action` starts now, with the exact commands or API calls
    (on disk when this returns). Calls made meanwhile are not attached to it:
    actions run through `start_async` (session.audited.run_audited)."""
    entry, record = _start_record(action, lab, target, calls)
    flush()  # keep the file in order behind records still queued
    _append(record)
    return entry


def record_cut_off(lab: str, why: str, seconds: float | None, unfinished: list[str]) -> None:
    """Stopping did not finish everything: the process ended itself at its exit
    deadline of `seconds` (`session.ending`), or (None) steps were given up on
    their own timeouts. One action `exit`, result `cut off`, naming what had not
    finished. Written here and now, not through the writer thread, which may be
    what hangs."""
    entry, record = _start_record("exit", lab, why, [])
    _append(record)
    within = f" within {seconds:g} s" if seconds is not None else ""
    summary = f"not finished{within}: " + "; ".join(unfinished)
    _append(
        {
            "id": entry.id,
            "event": "end",
            "time": time.time(),
            "action": "exit",
            "result": "cut off",
            "summary": scrub(summary),
        }
    )


async def start_async(action: str, lab: str, target: str, calls: list[str]) -> AuditEntry:
    """`start` for code on an event loop: the fsync runs on the writer thread,
    and the entry is current in the caller's context when this returns."""
    entry, record = _start_record(action, lab, target, calls)
    await asyncio.get_running_loop().run_in_executor(_writer_pool(), _append, record)
    _current.set(entry)
    return entry


def _start_record(action: str, lab: str, target: str, calls: list[str]) -> tuple[AuditEntry, dict]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    entry = AuditEntry(uuid.uuid4().hex[:12], action)
    return entry, (
        {
            "id": entry.id,
            "event": "start",
            "time": time.time(),
            "user": user,
            "host": socket.gethostname(),
            "lab": lab,
            "action": action,
            "target": scrub(target),
            "calls": [scrub(call) for call in calls],
        }
    )


@dataclass(frozen=True)
class AuditRow:
    id: str
    started: float
    user: str
    lab: str
    action: str
    target: str
    calls: tuple[str, ...]
    result: str  # ok, failed, cancelled, or "incomplete" when no end was written
    summary: str
    executed: tuple[str, ...] = ()  # commands and API calls made while it ran


def read_audit(path: Path | None = None) -> list[AuditRow]:
    """Pair start and end records; unreadable lines are skipped."""
    flush()
    file = path or audit_path()
    if not file.exists():
        return []
    starts: dict[str, dict] = {}
    ends: dict[str, dict] = {}
    executed: dict[str, list[str]] = {}
    for raw in file.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if not isinstance(record, dict) or "id" not in record:
            continue
        event, key = record.get("event"), str(record["id"])
        if event == "call":
            executed.setdefault(key, []).append(str(record.get("call", "")))
        else:
            (starts if event == "start" else ends)[key] = record
    rows = []
    for key, rec in starts.items():
        end = ends.get(key, {})
        rows.append(
            AuditRow(
                id=key,
                started=float(rec.get("time", 0)),
                user=str(rec.get("user", "?")),
                lab=str(rec.get("lab", "?")),
                action=str(rec.get("action", "?")),
                target=str(rec.get("target", "")),
                calls=tuple(str(c) for c in rec.get("calls", [])),
                result=str(end.get("result", "incomplete")),
                summary=str(end.get("summary", "")),
                executed=tuple(executed.get(key, ())),
            )
        )
    return sorted(rows, key=lambda row: row.started)
