"""Shared by the TUI-on-the-rehearsal-lab tests: bring a lab up (always down
again), open it with the real backends exactly as `fabrictui --lab DIR` does,
wait on app state instead of sleeping, and read what the user sees.

Everything fabrictui talks to is on 127.0.0.1; lab addresses exist only in the
lab's namespaces.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from fabrictui.app import FabricApp, make_app
from fabrictui.backends.real.backend import RealLabBackend
from fabrictui.backends.select import open_backend
from fabrictui.config import Settings
from fabrictui.ui.screens.confirm import AskScreen, ChoiceScreen, ConfirmScreen
from fabrictui.ui.widgets.pane import Pane
from tests._require import require
from tests._sshd import descendants

WORKERS = ("k8s-node-l1-1", "k8s-node-l1-2", "k8s-node-l2-1", "k8s-node-l2-2")
NODES = ("k8s-master-l1-1", *WORKERS)
PANES = ("pane-vms", "pane-fabric", "pane-kube", "pane-overlay")


def require_lab_tools() -> None:
    require(os.geteuid() == 0, "the rehearsal lab needs root")
    require("/usr/lib/frr/bgpd", "FRR is not installed")
    require("/usr/sbin/sshd", "OpenSSH server is not installed")
    require("tcpdump")
    require("kubectl")


@contextlib.contextmanager
def rehearsal_lab(directory: Path) -> Iterator[Path]:
    """A reference rehearsal lab in `directory`, taken down on exit (also on failure)."""
    require_lab_tools()
    from fabrictui.lab.lab import running_lab

    with running_lab(directory) as result:
        assert result.kube == "up", result.kube
        yield directory


def open_lab(lab_dir: Path, kubeconfig: str | None = None) -> RealLabBackend:
    """The backend `fabrictui --lab DIR [--kubeconfig FILE]` would use."""
    args = argparse.Namespace(
        demo=None, lab=str(lab_dir), kubeconfig=kubeconfig, context=None, jump=None
    )
    backend = open_backend(args)
    assert isinstance(backend, RealLabBackend)
    return backend


def lab_app(lab_dir: Path, kubeconfig: str | None = None, **settings) -> FabricApp:
    values = {"fabric_poll_seconds": 0.5, "host_poll_seconds": 1.0, "ping_count": 2}
    values.update(settings)
    return make_app(open_lab(lab_dir, kubeconfig), Settings(**values))


# -- waiting ------------------------------------------------------------------------


async def wait_for(pilot, condition: Callable[[], object], timeout: float = 30.0, what=""):
    """Poll `condition` (letting the app run) until it is true; returns the seconds taken."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not condition():
        assert loop.time() - started < timeout, f"not met within {timeout:.0f} s: {what}"
        await pilot.pause(0.05)
    return loop.time() - started


async def finish_action(app: FabricApp, pilot, timeout: float = 90.0) -> None:
    await wait_for(pilot, lambda: app.runner.current is not None, timeout, "action started")
    await wait_for(pilot, lambda: not app.runner.current.is_running, timeout, "action finished")
    await pilot.pause(0.1)


async def loaded(app: FabricApp, pilot, timeout: float = 30.0) -> None:
    await wait_for(
        pilot,
        lambda: (
            app.state.readings and app.state.hosts and len(app.state.kube_state()[0]) == len(NODES)
        ),
        timeout,
        "hosts, switches and nodes shown",
    )


def nginx_running(app: FabricApp) -> list:
    return [p for p in app.state.kube_state()[1] if p.namespace == "space1" and p.running]


async def deploy_and_scale(app: FabricApp, pilot, replicas: int = 4) -> None:
    """D, y, y → every node Ready; S, enter, y → `replicas` nginx pods running."""
    await pilot.press("D")
    await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), 10, "deploy mode asked")
    await pilot.press("y")  # the focused mode, VXLAN, as a user used to `y` would
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10, "deploy confirm")
    await pilot.press("y")
    await finish_action(app, pilot)
    await wait_for(
        pilot, lambda: all(n.ready for n in app.state.kube_state()[0]), 60, "all nodes Ready"
    )
    await pilot.press("S")
    await wait_for(pilot, lambda: isinstance(app.screen, AskScreen), 10, "replicas asked")
    if replicas != 4:
        app.screen.query_one("#ask-input").value = str(replicas)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10, "scale confirm")
    await pilot.press("y")
    await finish_action(app, pilot)
    await wait_for(
        pilot, lambda: len(nginx_running(app)) == replicas, 60, f"{replicas} nginx pods running"
    )


# -- what the user sees --------------------------------------------------------------


def log_lines(app: FabricApp) -> list[str]:
    return list(app.query_one("#action-log").history)


def pane(app: FabricApp, pane_id: str) -> Pane:
    return app.screen_stack[0].query_one(f"#{pane_id}", Pane)


def pane_text(app: FabricApp, pane_id: str) -> str:
    """The pane's border subtitle (age, problem) and its visible text."""
    widget = pane(app, pane_id)
    parts = [str(widget.border_subtitle or "")]
    if pane_id == "pane-fabric":
        parts.append(str(widget.query_one("#fabric-text").render()))
    elif pane_id == "pane-overlay":
        parts.extend(widget.query_one("#frame-log").lines)
    else:
        for table in widget.query("DataTable"):
            for row in range(table.row_count):
                parts.append(" ".join(str(c) for c in table.get_row_at(row)))
    return "\n".join(parts)


def screen_text(app: FabricApp) -> str:
    return "\n".join([*log_lines(app), *(pane_text(app, p) for p in PANES)])


def assert_no_traceback(app: FabricApp) -> None:
    text = screen_text(app)
    assert "Traceback" not in text, text[-2000:]


def feeds_alive(app: FabricApp) -> list[str]:
    """Names of the feeds still running (a dead one is a bug)."""
    return app.feeds.running()


async def assert_responsive(app: FabricApp, pilot, timeout: float = 5.0) -> float:
    """A key press is handled: `t` changes the theme. Returns how long it took."""
    before = app.theme
    loop = asyncio.get_running_loop()
    started = loop.time()
    await pilot.press("t")
    await wait_for(pilot, lambda: app.theme != before, timeout, "key handled")
    return loop.time() - started


# -- processes of the lab ----------------------------------------------------------------


def lab_namespaces(lab_dir: Path) -> list[str]:
    from fabrictui.lab.lab import read_state
    from fabrictui.lab.netns import list_netns

    state = read_state(lab_dir)
    assert state is not None
    prefix = f"ftl-{state['lab_id']}-"
    return [name for name in list_netns() if name.startswith(prefix)]


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def processes_in(namespace: str, names: tuple[str, ...]) -> list[tuple[int, str]]:
    """(pid, name) of every process called one of `names` inside `namespace`."""
    out = subprocess.run(
        ["ip", "netns", "pids", namespace], capture_output=True, text=True, check=False
    ).stdout
    found = []
    for token in out.split():
        if token.isdigit() and comm(int(token)) in names:
            found.append((int(token), comm(int(token))))
    return found


def kill_tree(pid: int) -> None:
    for p in [*descendants(pid), pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


def wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}").exists() else ""
        if ") Z" in stat:
            return
        assert time.monotonic() < deadline, f"pid {pid} still running"
        time.sleep(0.05)
