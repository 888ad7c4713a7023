"""Where recordings live and how they are kept under the size cap.

One file per session in `<state dir>/recordings/`, named by its start time
and lab. The cap covers all of them together: when a new session starts and
the total is over it, the oldest go first, and the caller says which.
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

from fabrictui.config import state_dir
from fabrictui.session.record.format import SUFFIX, RecordingError


def recordings_dir() -> Path:
    return state_dir() / "recordings"


def new_path(lab_name: str, now: float | None = None) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", lab_name).strip("-") or "lab"
    path = recordings_dir() / f"{stamp}-{safe}{SUFFIX}"
    number = 1
    while path.exists():
        number += 1
        path = recordings_dir() / f"{stamp}-{safe}-{number}{SUFFIX}"
    return path


def recordings(folder: Path | None = None) -> list[Path]:
    """The recordings in `folder` (default: the state directory's), oldest first."""
    folder = folder or recordings_dir()
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: (p.stat().st_mtime, p.name))


def latest(folder: Path | None = None) -> Path:
    found = recordings(folder)
    if not found:
        raise RecordingError(f"no recordings in {folder or recordings_dir()}")
    return found[-1]


def size_of(path: Path) -> int:
    """The recording's bytes, its write-ahead log included."""
    total = 0
    for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(OSError):
            total += part.stat().st_size
    return total


def prune(cap_bytes: int, keep: Path | None = None, folder: Path | None = None) -> list[str]:
    """Delete the oldest recordings until all of them fit in `cap_bytes`
    (`keep`, the session being written, is never deleted). One line per file
    deleted, for the user."""
    found = [p for p in recordings(folder) if p != keep]
    total = sum(size_of(p) for p in found) + (size_of(keep) if keep else 0)
    said: list[str] = []
    for path in found:
        if total <= cap_bytes:
            break
        size = size_of(path)
        for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            part.unlink(missing_ok=True)
        total -= size
        said.append(
            f"recordings over {cap_bytes / 2**20:.0f} MiB: deleted the oldest, "
            f"{path.name} ({size / 2**20:.1f} MiB)"
        )
    return said
