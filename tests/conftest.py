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


@pytest.fixture
async def fresh():
    """A started demo lab before Calico, sped up for tests (closed afterwards)."""
    from tests.demo_helpers import fast_backend

    backend = fast_backend("fresh")
    await backend.start()
    yield backend
    await backend.close()


@pytest.fixture
async def ready():
    """A started demo lab after the seed's steps, sped up for tests."""
    from tests.demo_helpers import fast_backend

    backend = fast_backend("ready")
    await backend.start()
    yield backend
    await backend.close()
