"""Choosing the lab from command-line options, as the TUI and every headless
command do: `--demo`, `--lab DIR`, a Vagrant project in the current directory,
else the built-in demo lab (marked DEMO, with a hint on how to use a real lab).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fabrictui.backends.base import BackendError, LabBackend

NO_LAB_HINT = (
    "No lab found here: showing the built-in DEMO lab. Run fabrictui in a Vagrant project "
    "directory, or pass --lab DIR (a Vagrant project or a rehearsal lab from `fabrictui lab up`)."
)


def open_backend(args: argparse.Namespace) -> LabBackend:
    """Build (not start) the backend the options ask for. Raises BackendError."""
    demo = getattr(args, "demo", None)
    lab_dir = getattr(args, "lab", None)
    if demo is not None:
        return _demo(demo, getattr(args, "seed", 1), hint="")
    if lab_dir is not None:
        path = Path(lab_dir)
        if not path.is_dir():
            raise BackendError(f"--lab {lab_dir}: no such directory")
        return _real_lab(path, args)
    if Path("Vagrantfile").is_file():
        return _real_lab(Path("."), args)
    return _demo("fresh", getattr(args, "seed", 1), hint=NO_LAB_HINT)


def _demo(scenario: str, seed: int, hint: str) -> LabBackend:
    from fabrictui.backends.demo import DemoBackend

    return DemoBackend(scenario=scenario, seed=seed, hint=hint)


def _real_lab(path: Path, args: argparse.Namespace) -> LabBackend:
    raise BackendError(f"{path}: real labs are not supported yet")
