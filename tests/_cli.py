"""Running the real command line in a test, and seeing where it hung when it does.

A command that outlives its timeout is sent SIGABRT: with `-X faulthandler` Python then
prints every thread's stack to stderr before it dies, and the test fails with that stack
instead of a bare TimeoutExpired."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests._paths import ROOT


def run_fabrictui(
    args: list[str], timeout: float, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-X", "faulthandler", "-m", "fabrictui.cli", *args]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            try:
                _, stderr = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, stderr = proc.communicate()
            pytest.fail(f"`fabrictui {' '.join(args)}` still ran after {timeout} s:\n{stderr}")
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


def kubeconfig(path: Path, server: str, context: str = "lab") -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: c\n  cluster: {{server: '{server}'}}\n"
        f"contexts:\n- name: {context}\n  context: {{cluster: c, user: u}}\n"
        f"current-context: {context}\n"
        "users:\n- name: u\n  user: {token: not-a-real-token}\n",
        encoding="utf-8",
    )
    return path


def fabrictui_in(cwd: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command from `cwd`, with a HOME of its own beside it and no KUBECONFIG of the
    machine's: only what the test names chooses the lab."""
    base = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    base.update(HOME=str(cwd.parent / "home"), PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", *argv],
        cwd=cwd,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a command that stopped with exit 2, nothing on stdout."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]
