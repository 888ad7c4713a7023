"""One prepared rehearsal lab for every lab test module that starts from the same state:
Calico in VXLAN mode, every node Ready, nginx at 4 replicas on 4 distinct workers.

Building and preparing a lab costs 40-50 s of CI's 20-minute budget; eight modules began
by building the same one. They now share it. A module takes it with `SharedLab.take()`,
which first proves it healthy by the command a user runs (`fabrictui verify --lab DIR`,
exit 0, 3-5 s): a module that left it broken (a fault not cleared, a process not
resumed) costs the next one a fresh lab, never a wrong result, and the lab that was
replaced is taken down at once. The last lab goes down when the session ends; `lab down`
must have taken every namespace with it (checked then)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from pathlib import Path

from tests._lab_faults import namespace, prepare_workload
from tests._rehearsal_tui import rehearsal_lab

VERIFY_TIMEOUT_S = 90
# why each shared lab was found broken and built again, for the end of CI's log: pytest
# captures what a fixture prints, and the module that broke it is the one before
REPLACED: list[str] = []


class SharedLab:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.built = 0  # how many labs this session built: a number to read in CI's log
        self.replaced: list[str] = []  # why each replaced lab was not healthy
        self._stack: contextlib.ExitStack | None = None
        self._dir: Path | None = None
        self._fresh = False  # built for the module now taking it: no need to verify
        self._taker = ""  # the module that took it last: the one that left it as it is

    def take(self) -> Path:
        """The shared lab, healthy; built (or rebuilt) when it is not."""
        taker = sys._getframe(1).f_globals.get("__name__", "?")
        if self._dir is not None and not self._fresh:
            why = self._unhealthy(self._dir)
            if why:
                why = f"after {self._taker}: {why}"
                self.replaced.append(why)
                REPLACED.append(why)  # said in the suite's summary (tests/conftest.py)
                self.close()
        if self._dir is None:
            self._build()
        self._fresh = False
        self._taker = taker
        assert self._dir is not None
        return self._dir

    def _build(self) -> None:
        self.built += 1
        stack = contextlib.ExitStack()
        try:
            directory = stack.enter_context(rehearsal_lab(self.base / f"lab{self.built}"))
            asyncio.run(prepare_workload(directory))
        except BaseException:
            stack.close()
            raise
        self._stack, self._dir, self._fresh = stack, directory, True

    @staticmethod
    def _unhealthy(directory: Path) -> str:
        """Empty when `fabrictui verify` passes every check; else what it printed."""
        try:
            done = subprocess.run(
                [sys.executable, "-m", "fabrictui.cli", "verify", "--lab", str(directory)],
                capture_output=True,
                text=True,
                timeout=VERIFY_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"verify did not end within {VERIFY_TIMEOUT_S} s"
        if done.returncode == 0:
            return ""
        return f"verify exit {done.returncode}: {(done.stdout + done.stderr)[-1500:]}"

    def close(self) -> None:
        """Take the lab down; every namespace of it must be gone."""
        if self._stack is None or self._dir is None:
            return
        prefix = namespace(self._dir, "")
        stack, self._stack, self._dir = self._stack, None, None
        stack.close()
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert prefix not in left, f"lab down left namespaces behind:\n{left}"
        # nor a pod's resolv.conf folder (/etc/netns/NAME, where `ip netns exec` finds it)
        etc = Path("/etc/netns")
        kept = [p.name for p in etc.iterdir() if p.name.startswith(prefix)] if etc.is_dir() else []
        assert not kept, f"lab down left resolv.conf folders behind: {kept}"
