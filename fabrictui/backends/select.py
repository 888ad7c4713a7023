"""Choosing the lab from command-line options, as the TUI and every headless
command do. In order: `--demo`; `--lab DIR` or a Vagrant project in the current
directory; a kubeconfig the user named (`--kubeconfig FILE`, `--context NAME`,
KUBECONFIG in the environment) alone. Nothing named: the TUI opens the built-in
demo lab (marked DEMO, with a hint); a headless command stops with `NoLab`, so
no verdict ever comes from a lab the user did not ask for.

An option that names a lab is never ignored: a kubeconfig the user named is
checked first (the file, its context, its server answering), and a broken one
stops everything with one line naming it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.backends.real.kube.precheck import check_kubeconfig

NO_LAB_HINT = (
    "No lab named and none found here: this is the built-in DEMO lab. For a real one, run "
    "fabrictui in a Vagrant project, or pass --lab DIR or --kubeconfig FILE."
)
NO_LAB = (
    "no lab named and none found here: pass --lab DIR (a rehearsal lab, or an inventory), "
    "run in a Vagrant project, pass --kubeconfig FILE (or set KUBECONFIG), "
    "or --demo for the built-in demo lab"
)
_REAL_LAB_OPTIONS = ("lab", "kubeconfig", "context", "jump")


class NoLab(BackendError):
    """No option names a lab and there is none in the current directory."""


def open_backend(args: argparse.Namespace, *, demo_by_default: bool = False) -> LabBackend:
    """Build (not start) the backend the options ask for. Raises BackendError (NoLab when
    nothing names a lab and `demo_by_default` is off: the headless commands)."""
    demo = getattr(args, "demo", None)
    seed = getattr(args, "seed", 1)
    faults = list(getattr(args, "demo_fault", None) or [])
    if demo is not None:
        both = [f"--{o}" for o in _REAL_LAB_OPTIONS if getattr(args, o, None)]
        if both:
            raise BackendError(f"--demo is the built-in lab: it cannot be used with {both[0]}")
        return _demo(demo, seed, hint="", source=f"--demo {demo}", faults=faults)
    if faults:
        raise BackendError(f"--demo-fault {faults[0]}: faults are for the demo lab (--demo)")
    lab_dir = getattr(args, "lab", None)
    if lab_dir is not None:
        path = Path(lab_dir)
        if not path.exists():
            raise BackendError(f"--lab {lab_dir}: no such directory or inventory file")
        return _real_lab(path, args)
    if Path("Vagrantfile").is_file():
        return _real_lab(Path("."), args)
    alone = _kubeconfig_alone(args)
    if alone is not None:
        path, origin = alone
        jump = getattr(args, "jump", None)
        # behind --jump the server is asked through the tunnel, when the lab starts
        target = check_kubeconfig(path, origin, getattr(args, "context", None), probe=not jump)
        # imported once the kubeconfig is known good: it pulls in the SSH and Kubernetes clients
        from fabrictui.backends.real.kubeconfig import KubeconfigLabBackend

        return KubeconfigLabBackend.for_kubeconfig(target, jump)
    if getattr(args, "jump", None):
        raise BackendError(
            f"--jump {args.jump}: no lab to reach through it; name one with --lab DIR or "
            "--kubeconfig FILE, or run in a Vagrant project"
        )
    if demo_by_default:
        return _demo("fresh", seed, hint=NO_LAB_HINT, source="built-in: no lab named")
    raise NoLab(NO_LAB)


def _demo(
    scenario: str, seed: int, hint: str, source: str, faults: list[str] | None = None
) -> LabBackend:
    from fabrictui.backends.demo import DemoBackend

    backend = DemoBackend(scenario=scenario, seed=seed, hint=hint)
    backend.source = source
    for fault in faults or ():  # as if picked from the palette before the command ran
        backend.inject_fault(fault)
    return backend


def _env_kubeconfig() -> tuple[Path, str] | None:
    """KUBECONFIG's first existing file (kubectl merges them all; fabrictui reads one),
    else its first entry (so the check says it does not exist); None when unset."""
    entries = [e for e in os.environ.get("KUBECONFIG", "").split(os.pathsep) if e]
    for entry in entries:
        path = Path(os.path.expanduser(entry))
        if path.is_file():
            return path, f"KUBECONFIG={entry}"
    if entries:
        return Path(os.path.expanduser(entries[0])), f"KUBECONFIG={entries[0]}"
    return None


def _named_kubeconfig(args: argparse.Namespace) -> tuple[Path, str] | None:
    explicit = getattr(args, "kubeconfig", None)
    if explicit:
        return Path(os.path.expanduser(explicit)), f"--kubeconfig {explicit}"
    return _env_kubeconfig()


def _kubeconfig_alone(args: argparse.Namespace) -> tuple[Path, str] | None:
    """The kubeconfig (and how it was named) when it is all that names a lab; None: none."""
    context = getattr(args, "context", None)
    named = _named_kubeconfig(args)
    if named is None and context:
        default = Path(os.path.expanduser("~/.kube/config"))
        if not default.is_file():
            raise BackendError(
                f"--context {context}: no kubeconfig to find it in (no --kubeconfig FILE, "
                "no KUBECONFIG, no ~/.kube/config)"
            )
        named = default, "~/.kube/config"
    return named


def _lab_kubeconfig(args: argparse.Namespace) -> Path | None:
    """With a lab: the kubeconfig the user named on top of it, checked; None leaves the
    lab's own (the rehearsal lab's file, the Vagrant master's admin.conf), which is the
    lab's to report on, not a typo of the user's."""
    context = getattr(args, "context", None)
    named = _named_kubeconfig(args)
    if named is None or (named[1].startswith("KUBECONFIG=") and not named[0].is_file()):
        return None
    path, origin = named
    check_kubeconfig(path, origin, context)
    return path


def _real_lab(path: Path, args: argparse.Namespace) -> LabBackend:
    """A Vagrant project (Vagrantfile), a rehearsal lab (inventory.json), or a
    hand-written inventory (the file itself, or DIR/inventory.toml)."""
    from fabrictui.backends.real.backend import RealLabBackend
    from fabrictui.backends.real.inventory import load_inventory_file, load_rehearsal

    kubeconfig = _lab_kubeconfig(args)
    context = getattr(args, "context", None)
    jump = getattr(args, "jump", None)
    if path.is_file():
        inventory = load_inventory_file(path)
        backend = RealLabBackend.for_inventory(inventory, kubeconfig, context, jump)
    elif (path / "Vagrantfile").is_file():
        backend = RealLabBackend.for_vagrant(path, kubeconfig, context, jump)
    elif (path / "inventory.json").is_file():
        backend = RealLabBackend.for_inventory(load_rehearsal(path), kubeconfig, context, jump)
    elif (path / "inventory.toml").is_file():
        inventory = load_inventory_file(path / "inventory.toml")
        backend = RealLabBackend.for_inventory(inventory, kubeconfig, context, jump)
    else:
        raise BackendError(
            f"{path}: not a lab (no Vagrantfile, inventory.json from `fabrictui lab up`, "
            "or inventory.toml)"
        )
    backend.source = str(path.resolve())
    # BGP sessions from Prometheus when one is set (docs/telemetry.md), else over SSH
    from fabrictui.backends.real.prometheus.setting import prometheus_url

    backend.use_prometheus(prometheus_url(args, path))
    return backend
