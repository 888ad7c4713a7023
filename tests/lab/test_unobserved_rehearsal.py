"""What could not be seen is not broken (issue 28), on the rehearsal lab, with the fabric
healthy: a switch's management SSH black-holed (its sshd and sessions stopped: TCP taken,
nothing answers, no reset) and a node's SSH refused (its sshd killed). By the command line,
`verify` exits 3 (nothing failed, something not observed) and its causes name the cut path
and what the other evidence says; with the same switch's BGP really down it fails as
before (exit 1). In a real terminal (tmux), the VMs pane says "running, no SSH" and the
verification says NOT OBSERVED / not seen, never FAIL. One lab for every case.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrictui.actions.verify.apps import APP_CHECKS
from tests._lab_faults import (
    lab_state,
    management_ssh_cut,
    management_ssh_refused,
    process_record,
    respawn,
)
from tests._rehearsal_tui import wait_gone
from tests._require import require

pytestmark = [pytest.mark.lab, pytest.mark.slow]

SPINE = "spine-sw1"
# verify's ping goes from the rack-2 pod on the lowest-named rack-2 worker and captures
# there (checks.choose_ping_pair): with 4 pods on 4 workers, this node
CAPTURE_NODE = "k8s-node-l2-1"
SESSION = f"fabrictui-unobserved-{os.getpid()}"
# A silent path is known only by timeouts: the open connection's keepalives (5 s, 3 missed),
# a new connection's 5 s, and the VM poll (10 s by default, what a user runs with)
SEEN_WITHIN = 60.0


@pytest.fixture(scope="module")
def lab_dir(shared_lab) -> Path:
    return shared_lab.take()  # prepared: Calico and nginx on 4 workers


def verify(lab_dir: Path) -> tuple[int, dict, float]:
    """`fabrictui verify --lab DIR --json`: exit code, the JSON, seconds taken."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", "verify", "--lab", str(lab_dir), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    took = time.monotonic() - started
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout), took


def by_name(out: dict) -> dict[str, dict]:
    return {c["name"]: c for c in out["checks"]}


def test_cli_a_switch_whose_management_ssh_is_black_holed(lab_dir: Path) -> None:
    code, healthy, _ = verify(lab_dir)
    assert code == 0, healthy  # the fabric is whole before the cut
    with management_ssh_cut(lab_dir, SPINE):
        code, out, took = verify(lab_dir)
    print(f"\nverify with {SPINE}'s SSH black-holed: exit {code} in {took:.1f} s")
    checks = by_name(out)
    assert code == 3, out
    assert not [c for c in out["checks"] if c["state"] == "fail"], out
    sessions = checks["leaf BGP sessions"]
    assert sessions["state"] == "pass" and sessions["passed"] is True, sessions
    (unseen,) = sessions["unseen"]
    assert unseen.startswith(f"{SPINE}: management SSH not answering (no SSH answer"), unseen
    assert "its sessions to leaf1 and leaf2 are Established as they see them" in unseen
    assert (
        "pod traffic crosses the fabric: the switch forwards, only its management path is cut"
        in (unseen)
    )
    assert "unreachable" not in json.dumps(out)
    assert checks["cross-rack ping"]["state"] == "pass"


def test_cli_the_same_switch_really_stopped_fails(lab_dir: Path) -> None:
    from fabrictui.lab import frr

    bgpd = process_record(lab_dir, "bgpd", SPINE)
    lab_id = lab_state(lab_dir)["lab_id"]
    with management_ssh_cut(lab_dir, SPINE):
        os.kill(bgpd["pid"], signal.SIGKILL)
        wait_gone(bgpd["pid"])
        try:
            # the leaves see the sessions drop once FRR notices the peer gone
            deadline = time.monotonic() + 30
            while True:
                code, out, _ = verify(lab_dir)
                if code == 1 or time.monotonic() > deadline:
                    break
        finally:
            respawn(lab_dir, bgpd, frr.daemon_argv(lab_id, SPINE, "bgpd"))
    sessions = by_name(out)["leaf BGP sessions"]
    assert code == 1, out
    assert sessions["state"] == "fail" and sessions["passed"] is False, sessions
    assert f"leaf1: session to {SPINE}" in sessions["cause"], sessions
    assert f"{SPINE}: management SSH not answering" in sessions["cause"], sessions
    # the fabric comes back for the next case
    deadline = time.monotonic() + 60
    while verify(lab_dir)[0] != 0:
        assert time.monotonic() < deadline, "the fabric did not come back"
        time.sleep(1)


def test_cli_a_node_whose_ssh_is_refused(lab_dir: Path) -> None:
    with management_ssh_refused(lab_dir, CAPTURE_NODE):
        code, out, took = verify(lab_dir)
    print(f"\nverify with {CAPTURE_NODE}'s SSH refused: exit {code} in {took:.1f} s")
    assert code == 3, out
    assert not [c for c in out["checks"] if c["state"] == "fail"], out
    wire = by_name(out)["VXLAN on the wire"]
    assert wire["state"] == "not_observed" and wire["passed"] is False, wire
    cause = wire["cause"]
    assert cause.startswith(f"{CAPTURE_NODE}: management SSH refused ("), cause
    assert "cannot capture on its eth0" in cause and "the API says it is Ready" in cause, cause
    # the nginx image has no ping and the node-side probe needs that node's SSH: the ping
    # from its pod is not probed, each method saying why (never a failure of the path)
    ping = by_name(out)["cross-rack ping"]
    assert ping["state"] == "not_observed", ping
    assert "no ping in image nginx:1.17" in ping["cause"], ping
    assert f"{CAPTURE_NODE}: ssh refused" in ping["cause"], ping


# -- the same two cases in a real terminal -------------------------------------------------


# one tmux server per terminal: another test's server (the default socket) keeps its own
# sizes and its sessions are not ours to see, and a server of ours still exiting after the
# last test would refuse the next session ("server exited unexpectedly")
SOCKETS = itertools.count()
socket = [f"{SESSION}-0"]


def tmux(*args: str) -> subprocess.CompletedProcess:
    argv = ["tmux", "-L", socket[0], *args]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION).stdout


def wait_screen(needle: str, timeout: float) -> float:
    """Seconds until `needle` is on the terminal."""
    started = time.monotonic()
    while needle not in (text := screen()):
        assert "Traceback" not in text, text
        assert time.monotonic() - started < timeout, f"{needle!r} not shown:\n{text}"
        time.sleep(0.2)
    return time.monotonic() - started


def vm_rows(name: str) -> list[str]:
    """The VMs pane's lines (the left half of the terminal) that name `name`."""
    return [line[:100] for line in screen().splitlines() if name in line[:100]]


@pytest.fixture
def terminal(lab_dir: Path, tmp_path: Path) -> Iterator[None]:
    """`fabrictui --lab DIR` in a 200x50 tmux session, its VM pane drawn."""
    require(shutil.which("tmux"), "tmux is not installed")
    env = " ".join(
        f"{key}={os.environ[key]}"
        for key in ("FABRICTUI_CONFIG_DIR", "FABRICTUI_STATE_DIR", "PYTHONPATH")
        if key in os.environ
    )
    pid_file = tmp_path / "pid"
    socket[0] = f"{SESSION}-{next(SOCKETS)}"
    # the terminal's size is the terminal's: COLUMNS/LINES from the test's environment
    # (Textual reads them first) would pin the app to 80x24
    command = (
        f"echo $$ > {pid_file}; exec env -u COLUMNS -u LINES {env} {sys.executable}"
        f" -m fabrictui.cli --lab {lab_dir}"
    )
    done = tmux("new-session", "-d", "-s", SESSION, "-x", "200", "-y", "50", command)
    assert done.returncode == 0, done.stderr
    try:
        wait_screen("k8s-node-l2-2", 60)
        yield
    finally:
        tmux("kill-server")
        tmp = os.environ.get("TMUX_TMPDIR", "/tmp")
        Path(tmp, f"tmux-{os.getuid()}", socket[0]).unlink(missing_ok=True)
        if pid_file.exists():
            pid = int(pid_file.read_text())
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def verify_in_terminal(title: str) -> str:
    """`V`: the verification's screen once its title says `title`; closed again after."""
    tmux("send-keys", "-t", SESSION, "V")
    wait_screen(title, 90)
    text = screen()
    assert "lab NOT healthy" not in text and " FAIL " not in text, text
    tmux("send-keys", "-t", SESSION, "Escape")
    return text


def test_tui_a_switch_whose_management_ssh_is_black_holed(lab_dir: Path, terminal: None) -> None:
    wait_screen(f"{SPINE}  ", 30)
    with management_ssh_cut(lab_dir, SPINE):
        seen = wait_screen("running, no SSH", SEEN_WITHIN)
        rows = vm_rows(SPINE)
        assert any("running, no SSH" in row for row in rows), rows
        assert not any("unreachable" in row for row in rows), rows
        print(f"\n{SPINE} SSH black-holed: VMs pane 'running, no SSH' within {seen:.2f} s")
        shown = verify_in_terminal("nothing failed, something NOT")
        assert f"not seen: {SPINE}: management SSH not answering" in shown, shown


def test_tui_a_node_whose_ssh_is_refused(lab_dir: Path, terminal: None) -> None:
    with management_ssh_refused(lab_dir, CAPTURE_NODE):
        seen = wait_screen("running, no SSH", SEEN_WITHIN)
        rows = vm_rows(CAPTURE_NODE)
        assert any("running, no SSH" in row for row in rows), rows
        assert not any("unreachable" in row for row in rows), rows
        print(f"\n{CAPTURE_NODE} SSH refused: VMs pane 'running, no SSH' within {seen:.2f} s")
        # path MTU and nginx-service use a pod the other nodes can probe from; "network
        # policy" needs the API alone; cluster DNS runs getent in a pod through the API
        total = 6 + len(APP_CHECKS)
        shown = verify_in_terminal(
            f"{total - 2}/{total} checks pass, 2 not observed — nothing failed, something"
        )
        assert "NOT OBSERVED  VXLAN on the wire" in shown, shown
        assert f"not observed: {CAPTURE_NODE}: management SSH refused" in shown, shown
