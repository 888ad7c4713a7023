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


@pytest.fixture(scope="session")
def shared_lab(tmp_path_factory):
    """The one prepared rehearsal lab the lab test modules share (tests/_shared_lab.py):
    taken with `shared_lab.take()`, down when the session ends."""
    from tests._shared_lab import SharedLab

    lab = SharedLab(tmp_path_factory.mktemp("shared-lab"))
    yield lab
    lab.close()
    print(f"\nshared rehearsal lab: built {lab.built} time(s)")
    for why in lab.replaced:
        print(f"  replaced, not healthy after a module: {why[:300]}")


TUI_FOLDERS = {"app", "terminal"}  # tests/app, tests/terminal


def pytest_collection_modifyitems(items) -> None:
    """Every test that uses the shared rehearsal lab, however it reaches it (a module's
    `lab_dir` fixture asks for `shared_lab`), is marked `shared_lab`, and the TUI's tests
    (tests/app, tests/terminal) `tui`: scripts/test runs each group in a pytest of its own
    beside the others."""
    for item in items:
        if "shared_lab" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared_lab)
        if TUI_FOLDERS & set(item.path.parts[-3:-1]):
            item.add_marker(pytest.mark.tui)


def pytest_terminal_summary(terminalreporter) -> None:
    from tests._shared_lab import REPLACED

    for why in REPLACED:
        terminalreporter.write_line(f"shared rehearsal lab built again, not healthy: {why[:800]}")
