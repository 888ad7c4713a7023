"""Choosing the lab from command-line options, as the TUI and every headless
command do: `--demo`, `--lab DIR`, a Vagrant project in the current directory,
else the built-in demo lab (marked DEMO, with a hint on how to use a real lab).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fabrictui.backends.base import BackendError, LabBackend

NO_LAB_HINT = (
    "No lab found here: this is the built-in DEMO lab. For a real one, run fabrictui in a "
    "Vagrant project or pass --lab DIR."
)


def open_backend(args: argparse.Namespace) -> LabBackend:
    """Build (not start) the backend the options ask for. Raises BackendError."""
    demo = getattr(args, "demo", None)
    lab_dir = getattr(args, "lab", None)
    if demo is not None:
        return _demo(demo, getattr(args, "seed", 1), hint="")
    if lab_dir is not None:
        path = Path(lab_dir)
        if not path.exists():
            raise BackendError(f"--lab {lab_dir}: no such directory or inventory file")
        return _real_lab(path, args)
    if Path("Vagrantfile").is_file():
        return _real_lab(Path("."), args)
    return _demo("fresh", getattr(args, "seed", 1), hint=NO_LAB_HINT)


def _demo(scenario: str, seed: int, hint: str) -> LabBackend:
    from fabrictui.backends.demo import DemoBackend

    return DemoBackend(scenario=scenario, seed=seed, hint=hint)


def _real_lab(path: Path, args: argparse.Namespace) -> LabBackend:
    """A Vagrant project (Vagrantfile), a rehearsal lab (inventory.json), or a
    hand-written inventory (the file itself, or DIR/inventory.toml)."""
    from fabrictui.backends.real.backend import RealLabBackend
    from fabrictui.backends.real.inventory import load_inventory_file, load_rehearsal

    kubeconfig = getattr(args, "kubeconfig", None)
    context = getattr(args, "context", None)
    jump = getattr(args, "jump", None)
    if path.is_file():
        inventory = load_inventory_file(path)
        return RealLabBackend.for_inventory(inventory, kubeconfig, context, jump)
    if (path / "Vagrantfile").is_file():
        return RealLabBackend.for_vagrant(path, kubeconfig, context, jump)
    if (path / "inventory.json").is_file():
        return RealLabBackend.for_inventory(load_rehearsal(path), kubeconfig, context, jump)
    if (path / "inventory.toml").is_file():
        inventory = load_inventory_file(path / "inventory.toml")
        return RealLabBackend.for_inventory(inventory, kubeconfig, context, jump)
    raise BackendError(
        f"{path}: not a lab (no Vagrantfile, inventory.json from `fabrictui lab up`, "
        "or inventory.toml)"
    )
