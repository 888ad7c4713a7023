"""The audit log: every action appended to a JSON-lines file in the user's
state directory, a `start` record written (and flushed to disk) before the
action begins and an `end` record after, so an action whose app was killed
still shows, as incomplete.
"""

from __future__ import annotations

import contextlib
import contextvars
import getpass
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fabrictui.config import state_dir

AUDIT_FILE = "audit.jsonl"
# anything shaped like a credential is masked before it reaches the file
_SECRET = re.compile(
    r"(?i)(bearer\s+|token[\"'=:\s]+|password[\"'=:\s]+|client-key-data[\"'=:\s]+)([^\s\"',]+)"
)


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: m.group(1) + "***", text)


def audit_path() -> Path:
    return state_dir() / AUDIT_FILE


def _append(record: dict) -> None:
    path = audit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


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
        _append({"id": self.id, "event": "call", "time": time.time(), "call": redact(call)})

    def finish(self, result: str, summary: str = "") -> None:
        if _current.get() is self:
            _current.set(None)
        _append(
            {
                "id": self.id,
                "event": "end",
                "time": time.time(),
                "action": self.action,
                "result": result,
                "summary": redact(summary),
            }
        )


def start(action: str, lab: str, target: str, calls: list[str]) -> AuditEntry:
    """Record that `action` starts now, with the exact commands or API calls."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    entry = AuditEntry(uuid.uuid4().hex[:12], action)
    _append(
        {
            "id": entry.id,
            "event": "start",
            "time": time.time(),
            "user": user,
            "host": socket.gethostname(),
            "lab": lab,
            "action": action,
            "target": redact(target),
            "calls": [redact(call) for call in calls],
        }
    )
    _current.set(entry)
    return entry


@contextlib.contextmanager
def audited(action: str, lab: str, target: str, calls: list[str]) -> Iterator[AuditEntry]:
    """Write start, run the block, write its end (ok, failed or cancelled)."""
    entry = start(action, lab, target, calls)
    try:
        yield entry
    except BaseException as err:
        import asyncio

        cancelled = isinstance(err, asyncio.CancelledError | KeyboardInterrupt)
        entry.finish("cancelled" if cancelled else "failed", str(err) or type(err).__name__)
        raise
    else:
        entry.finish("ok")


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
