"""Running the real command line in a test, and seeing where it hung when it does.

A command that outlives its timeout is sent SIGABRT: with `-X faulthandler` Python then
prints every thread's stack to stderr before it dies, and the test fails with that stack
instead of a bare TimeoutExpired."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest


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
