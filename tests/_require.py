"""Skip a test when a real component is missing, except in CI where that is a failure.

Shared by every test module (only add to it): `require("sshd")` checks a tool
on PATH (or an absolute path), `require(condition, reason)` any condition.
With the environment variable CI=true, a missing component fails the test
instead of skipping it, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil

import pytest


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(tool_or_condition: str | bool, reason: str | None = None) -> None:
    """Skip (or, with CI=true, fail) unless the tool exists / the condition holds."""
    if isinstance(tool_or_condition, str):
        tool = tool_or_condition
        found = os.access(tool, os.X_OK) if os.path.isabs(tool) else shutil.which(tool)
        ok = bool(found)
        reason = reason or f"{tool} is not installed"
    else:
        ok = bool(tool_or_condition)
        reason = reason or "requirement not met"
    if ok:
        return
    if _in_ci():
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)
