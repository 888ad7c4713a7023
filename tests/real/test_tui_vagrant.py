"""The TUI in a Vagrant project holding the reference lab's nine machines,
none created (real `vagrant` from Debian's packages): the VM pane lists them
with their real state, and nothing fails or leaks a traceback."""

from __future__ import annotations

import argparse
import asyncio

from fabrictui.app import make_app
from fabrictui.backends.select import open_backend
from fabrictui.config import Settings
from tests._require import require
from tests.real.test_vagrant_backend import EXPECTED, write_project


async def wait_for(pilot, condition, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        assert loop.time() < end, "condition not met in time"
        await pilot.pause(0.1)


async def test_vm_pane_lists_the_nine_machines_not_created(tmp_path, monkeypatch):
    require("vagrant")
    write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    args = argparse.Namespace(demo=None, lab=None, seed=1, kubeconfig=None, context=None, jump=None)
    backend = open_backend(args)  # finds the Vagrantfile in the current directory
    assert backend.info().kind == "vagrant" and not backend.info().badge
    app = make_app(backend, Settings(host_poll_seconds=10, fabric_poll_seconds=5))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: len(app.state.hosts) == 9)
        table = app.query_one("#vm-table")
        rows = {key: [str(cell) for cell in table.get_row(key)] for key in table.keys}
        assert set(rows) == set(EXPECTED)
        for name, (role, rack) in EXPECTED.items():
            assert rows[name][1] == role.value
            assert rows[name][2] == ("-" if rack is None else str(rack))
            assert rows[name][3] == "not_created"
        await pilot.pause(1.0)
        await pilot.press("2", "3", "4", "1")
        history = "\n".join(app.query_one("#action-log").history)
        assert "Traceback" not in history
        fabric = str(app.query_one("#fabric-text").render())
        assert "Traceback" not in fabric


async def test_failing_vagrant_status_shows_vagrants_own_words(tmp_path, monkeypatch):
    """`vagrant status` exits 1 with its reason only in its machine-readable output
    (here: a provider that does not exist): the log says what vagrant said, on one
    line, not just "exit status 1"."""
    require("vagrant")
    write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VAGRANT_DEFAULT_PROVIDER", "fabrictui-no-such-provider")
    args = argparse.Namespace(demo=None, lab=None, seed=1, kubeconfig=None, context=None, jump=None)
    backend = open_backend(args)
    app = make_app(backend, Settings(host_poll_seconds=10, fabric_poll_seconds=5))
    words = "The provider 'fabrictui-no-such-provider' could not be found, but was requested"
    async with app.run_test(size=(160, 48)) as pilot:

        def history() -> str:
            return "\n".join(app.query_one("#action-log").history)

        await wait_for(pilot, lambda: words in history())
        lines = [line for line in history().splitlines() if words in line]
        assert all("\\n" not in line and "VAGRANT_COMMA" not in line for line in lines)
        assert "failed: exit status 1" not in history()
        assert "Traceback" not in history()
