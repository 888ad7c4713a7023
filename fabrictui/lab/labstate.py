"""The running rehearsal lab's state with named fields, and its file DIR/state.json.

`up` records each thing before the step that creates it, so `down` can clean up after a
crash; `status` reads it back. The file's format (`fabrictui-lab-state/1`) is unchanged
from when the state was a plain dict: keys this version does not know are kept on rewrite,
and `read_state`/`write_state` still hand the raw document to scripts that edit it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_FORMAT = "fabrictui-lab-state/1"
STATE_FILE = "state.json"

_KNOWN = {
    "format",
    "lab_id",
    "dir",
    "created_dir",
    "status",
    "step",
    "started",
    "shape",
    "namespaces",
    "frr_dirs",
    "processes",
    "ports",
    "files",
    "up_seconds",
}


class LabError(RuntimeError):
    """A one-line, human-readable reason why a lab command could not do its job."""


class StateError(LabError):
    """DIR/state.json cannot be read or is not a rehearsal lab's state."""


@dataclass
class ProcessRecord:
    """A process the lab started: enough to tell later whether it is still ours."""

    role: str  # "zebra", "bgpd", "sshd", "kubeapi"
    host: str | None  # None for the API server
    pid: int
    start_time: int | None  # clock ticks since boot; None: gone before it could be read
    marker: str = ""  # text its command line carries (FRR path space, sshd config, lab dir)
    log: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProcessRecord:
        start = data.get("start_time")
        return cls(
            role=str(data.get("role", "")),
            host=data.get("host"),
            pid=int(data["pid"]),
            start_time=int(start) if start is not None else None,
            marker=str(data.get("marker") or ""),
            log=str(data.get("log") or ""),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "host": self.host,
            "pid": self.pid,
            "start_time": self.start_time,
            "marker": self.marker,
            "log": self.log,
        }


@dataclass
class RunningLab:
    lab_id: str
    dir: str
    created_dir: bool = False  # `up` made the directory: `down` removes it whole
    status: str = "starting"  # "starting", "up", "stopping"
    step: str = "plan"  # the step `up` is in (or "done")
    started: float = 0.0  # time.time() when `up` began
    spines: int = 2
    racks: int = 2
    nodes_per_rack: int = 2
    namespaces: list[str] = field(default_factory=list)
    frr_dirs: list[str] = field(default_factory=list)
    processes: list[ProcessRecord] = field(default_factory=list)
    ssh_ports: dict[str, int] | None = None  # host -> port, once sshd is being set up
    kube_port: int | None = None
    files: list[str] = field(default_factory=list)
    up_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # keys from a newer writer, kept

    def processes_of(self, role: str) -> list[ProcessRecord]:
        return [r for r in self.processes if r.role == role]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunningLab:
        try:
            shape = data.get("shape") or {}
            ports = data.get("ports") or {}
            ssh = ports.get("ssh")
            kube = ports.get("kube")
            up_seconds = data.get("up_seconds")
            return cls(
                lab_id=str(data["lab_id"]),
                dir=str(data.get("dir", "")),
                created_dir=bool(data.get("created_dir", False)),
                status=str(data.get("status", "")),
                step=str(data.get("step", "")),
                started=float(data.get("started", 0.0)),
                spines=int(shape.get("spines", 2)),
                racks=int(shape.get("racks", 2)),
                nodes_per_rack=int(shape.get("nodes_per_rack", 2)),
                namespaces=[str(n) for n in data.get("namespaces", [])],
                frr_dirs=[str(d) for d in data.get("frr_dirs", [])],
                processes=[ProcessRecord.from_json(r) for r in data.get("processes", [])],
                ssh_ports={str(k): int(v) for k, v in ssh.items()} if ssh is not None else None,
                kube_port=int(kube) if kube is not None else None,
                files=[str(f) for f in data.get("files", [])],
                up_seconds=float(up_seconds) if up_seconds is not None else None,
                extra={k: v for k, v in data.items() if k not in _KNOWN},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateError(f"malformed lab state: {exc!r}") from exc

    def to_json(self) -> dict[str, Any]:
        ports: dict[str, Any] = {}
        if self.ssh_ports is not None:
            ports["ssh"] = self.ssh_ports
        if self.kube_port is not None:
            ports["kube"] = self.kube_port
        doc: dict[str, Any] = {
            "format": STATE_FORMAT,
            "lab_id": self.lab_id,
            "dir": self.dir,
            "created_dir": self.created_dir,
            "status": self.status,
            "step": self.step,
            "started": self.started,
            "shape": {
                "spines": self.spines,
                "racks": self.racks,
                "nodes_per_rack": self.nodes_per_rack,
            },
            "namespaces": list(self.namespaces),
            "frr_dirs": list(self.frr_dirs),
            "processes": [r.to_json() for r in self.processes],
            "ports": ports,
            "files": list(self.files),
        }
        if self.up_seconds is not None:
            doc["up_seconds"] = self.up_seconds
        doc.update(self.extra)
        return doc


def state_path(lab_dir: Path) -> Path:
    return lab_dir / STATE_FILE


def read_state(lab_dir: Path) -> dict[str, Any] | None:
    """The raw state document (None when no lab is recorded in `lab_dir`)."""
    path = state_path(lab_dir)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise StateError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        raise StateError(f"{path} is not a rehearsal lab state file")
    return data


def write_state(lab_dir: Path, state: RunningLab | Mapping[str, Any]) -> None:
    """Replace the state file atomically (a crash leaves the old or the new one)."""
    doc = state.to_json() if isinstance(state, RunningLab) else dict(state)
    path = state_path(lab_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)


def load_state(lab_dir: Path) -> RunningLab | None:
    data = read_state(lab_dir)
    if data is None:
        return None
    try:
        return RunningLab.from_json(data)
    except StateError as exc:
        raise StateError(f"{state_path(lab_dir)}: {exc}") from exc
