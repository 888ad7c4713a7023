"""Fixtures shared by every test: the user's machine is never touched (config
and state directories are redirected into a temporary folder)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    base = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("FABRICTUI_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("FABRICTUI_STATE_DIR", str(base / "state"))
    return base
