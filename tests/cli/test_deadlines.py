"""Deadlines (issue 29): every client call ends within its deadline when the part it
talks to accepts the connection and then never answers, the deadlines come from one
place that the config file may change, and giving up on a hung call never waits for
it, not even at the process's exit."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrictui import deadlines
from fabrictui.backends.base import Unreachable
from fabrictui.backends.real.kube.calico_bgp import calico_mode, exec_in_calico_node
from fabrictui.backends.real.kube.client import KubeClient
from fabrictui.config import ConfigError, load_settings, settings_for
from fabrictui.model import KubePod

DEADLINE = 1.0
SLACK = 1.5  # thread start, the event loop, a loaded CI machine


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts every connection and never says a word:
    a TLS client waits in its handshake, an SSH client for the server's banner (what a
    SIGSTOPped API server or a black-holed port looks like from the client)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = self.sock.accept()
                self.accepted.append(conn)  # held open, never read nor written

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture(autouse=True)
def _fresh_unanswered() -> Iterator[None]:
    yield
    deadlines.forget_unanswered()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def kubeconfig(path: Path, port: int) -> Path:
    path.write_text(
        textwrap.dedent(
            f"""\
            apiVersion: v1
            kind: Config
            clusters:
            - name: lab
              cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}
            users:
            - name: admin
              user: {{token: "fabrictui-test-token-deadlines-0001"}}
            contexts:
            - name: lab
              context: {{cluster: lab, user: admin}}
            current-context: lab
            """
        )
    )
    return path


POD = KubePod("space1", "nginx-1", 1, 1, "Running", 0, 0.0, "10.64.0.2", "k8s-node-l1-1")

KUBE_CALLS = {
    "list nodes": lambda kube: kube.list_nodes(),
    "list pods": lambda kube: kube.list_pods("space1"),
    "list ippools": calico_mode,  # hung in SSLSocket.do_handshake before (no timeout at all)
    "read deployment": lambda kube: kube.deployment_replicas("space1", "nginx-deployment"),
    "scale deployment": lambda kube: kube.scale_deployment("space1", "nginx-deployment", 4),
    "exec in calico-node": lambda kube: exec_in_calico_node(kube, "k8s-node-l1-1", ["true"], 0.1),
}


@pytest.mark.parametrize("what", sorted(KUBE_CALLS))
async def test_kube_call_ends_at_its_deadline_when_tls_never_answers(
    what: str, silent: SilentServer, tmp_path: Path
) -> None:
    kube = KubeClient(kubeconfig(tmp_path / "kubeconfig", silent.port), request_timeout=DEADLINE)
    started = time.monotonic()
    try:
        with pytest.raises(Unreachable) as caught:
            await asyncio.wait_for(KUBE_CALLS[what](kube), 30)  # a hang fails, never waits
    finally:
        await kube.close()
    took = time.monotonic() - started
    # the whole call: two requests (a list, then the exec) for calico-node
    bound = DEADLINE * (2 if what == "exec in calico-node" else 1) + 0.1 + SLACK
    assert took < bound, f"{what} took {took:.1f} s"
    message = str(caught.value)
    assert what in message and f"the Kubernetes API at https://127.0.0.1:{silent.port}" in message
    assert "Error" not in message.split(":")[0]  # says what was done, not a class name


async def test_kube_ping_deadline_counts_the_ping_itself(
    silent: SilentServer, tmp_path: Path
) -> None:
    """A ping runs for its own timeout on purpose; the deadline adds it to the request's."""
    kube = KubeClient(kubeconfig(tmp_path / "kubeconfig", silent.port), request_timeout=DEADLINE)
    started = time.monotonic()
    try:
        result = await asyncio.wait_for(kube.ping(POD, "10.64.0.3", count=1, timeout=1.0), 30)
    finally:
        await kube.close()
    assert time.monotonic() - started < DEADLINE + 1.0 + SLACK
    assert not result.ok and "Kubernetes API" in (result.error or "")


def test_kube_client_takes_the_configured_deadline(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[deadlines]\nkube_api = 2.5\nssh_connect = 1\n")
    try:
        settings = settings_for(str(config), False)
        assert settings.deadlines.kube_api == 2.5 and settings.deadlines.ssh_connect == 1.0
        assert deadlines.current() is settings.deadlines
        assert KubeClient(None).request_timeout == 2.5
    finally:
        deadlines.use(deadlines.DEFAULTS)
    assert KubeClient(None).request_timeout == deadlines.DEFAULTS.kube_api


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[deadlines]\nkube_ap = 3\n", "deadlines.kube_ap is not a deadline"),
        ("[deadlines]\nkube_api = 0\n", "deadlines.kube_api must be a number of seconds"),
        ("[deadlines]\nvtysh = 'soon'\n", "deadlines.vtysh must be a number of seconds"),
        ("deadlines = 3\n", "[deadlines] is a table"),
    ],
)
def test_a_bad_deadline_in_the_config_names_the_key(tmp_path: Path, text: str, named: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        load_settings(config)


async def test_in_thread_gives_up_at_the_deadline_and_passes_results_on() -> None:
    assert await deadlines.in_thread(lambda: 42, 1.0, "answer") == 42
    with pytest.raises(KeyError):
        await deadlines.in_thread(lambda: {}["x"], 1.0, "raise")
    never = threading.Event()
    started = time.monotonic()
    with pytest.raises(deadlines.DeadlineExceeded, match="wait forever"):
        await deadlines.in_thread(never.wait, 0.3, "wait forever")
    assert time.monotonic() - started < 0.3 + SLACK
    never.set()


EXIT_SCRIPT = """
import asyncio, faulthandler, signal, threading, time
faulthandler.register(signal.SIGUSR1, all_threads=True)  # where it waits, if it does
from fabrictui.backends.real.kube.client import KubeClient
from fabrictui.backends.real.kube.calico_bgp import calico_mode

async def main():
    kube = KubeClient(__import__("pathlib").Path({kubeconfig!r}), request_timeout=60)
    print("calling", flush=True)
    await calico_mode(kube)

asyncio.run(main())
"""


# far below the call's own 60 s (it ends in under a second; a loaded machine is slower)
ENDS_WITHIN = 10.0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_a_process_whose_kube_call_hangs(
    sig: int, silent: SilentServer, tmp_path: Path
) -> None:
    """Ctrl-C (or SIGTERM, where a handler turns it into an orderly end) in the middle of
    a hung API call: the process ends within seconds, not when the call would (60 s here).
    asyncio.run's shutdown joins the default executor's threads: the call must not be one."""
    script = EXIT_SCRIPT.format(kubeconfig=str(kubeconfig(tmp_path / "kc", silent.port)))
    if sig == signal.SIGTERM:  # as `fabrictui record` does: SIGTERM ends the loop
        script = script.replace(
            "asyncio.run(main())",
            "signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))\n"
            "asyncio.run(main())",
        )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as a terminal starts a command: Ctrl-C not ignored. A suite started in the
        # background of a script (as CI may start it) has SIGINT ignored, and a child keeps
        # that: this test then passed only when the call's own 5 s timeout ended it in time
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "calling"
        # the signal once the call is inside its TLS handshake (the server holds the
        # connection), not after a guessed second: on a loaded machine the process may still
        # be importing the client then, which is another test
        connected = time.monotonic()
        while not silent.accepted:
            assert time.monotonic() - connected < 30, "the call never reached the server"
            time.sleep(0.05)
        time.sleep(0.2)
        proc.send_signal(sig)
        started = time.monotonic()
        try:
            proc.wait(timeout=ENDS_WITHIN)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)
            time.sleep(1.0)
            proc.kill()
            _, stacks = proc.communicate()
            pytest.fail(f"still running {ENDS_WITHIN:g} s after the signal; its threads:\n{stacks}")
        assert time.monotonic() - started < ENDS_WITHIN
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_a_poll_that_times_out_says_so_not_its_class_name() -> None:
    """The TUI's first action-log line with the API stopped was `bgp: TimeoutError`."""
    from fabrictui.session.polling import poll_forever

    errors: list[str] = []

    async def hang() -> None:
        await asyncio.Event().wait()

    task = asyncio.create_task(poll_forever(hang, lambda _: None, errors.append, 5.0, 0.2))
    while not errors:
        await asyncio.sleep(0.05)
    task.cancel()
    assert errors[0] == "no answer within 0.2 s"


def test_a_pane_says_which_part_fails_since_when_and_what_it_shows() -> None:
    from fabrictui.model import LabInfo
    from fabrictui.session.state import LabState

    now = [time.mktime((2026, 12, 7, 6, 43, 5, 0, 0, -1))]
    state = LabState(LabInfo(name="t", kind="test"), lambda: now[0], poll_seconds={"bgp": 3})
    state.answered("bgp")
    now[0] += 3
    error = "the Kubernetes API at https://127.0.0.1:1 did not answer within 10 s (list ippools)"
    state.failed("bgp", error)
    now[0] += 12
    problem = state.freshness(("bgp",)).problem
    assert problem == f"bgp: {error}; failing for 12 s, showing what it said at 06:43:05"
    state.answered("bgp")  # it answers again: nothing left to say
    assert state.freshness(("bgp",)).problem is None


# -- SSH, vtysh, vagrant: the same deadlines, from the same place -----------------------


async def test_ssh_and_vtysh_reads_end_at_the_configured_deadlines(silent: SilentServer) -> None:
    """A switch whose SSH port accepts and never answers: a BGP read (a vtysh session,
    then the one-shot command) ends within the configured deadlines and names the switch."""
    from fabrictui.backends.real.ssh import SshPool, SshTarget
    from fabrictui.backends.real.switches import SwitchReader

    deadlines.use(deadlines.Deadlines(ssh_connect=0.5, vtysh=1.0))
    try:
        target = SshTarget("leaf9", "127.0.0.1", silent.port, user="x", known_hosts=("/none",))
        pool = SshPool([target])
        reader = SwitchReader(pool)
        assert (pool.connect_timeout, reader.timeout) == (0.5, 1.0)
        started = time.monotonic()
        reading = await asyncio.wait_for(reader.read("leaf9"), 30)
        took = time.monotonic() - started
    finally:
        deadlines.use(deadlines.DEFAULTS)
        await pool.close()
    # connecting once: asyncssh's own timeout and the pool's 1 s more waiting for it
    assert took < 0.5 + 1.0 + SLACK, f"{took:.1f} s"
    assert reading.summary is None and "leaf9: no SSH answer" in (reading.error or "")
    assert any(line.startswith("leaf9: no SSH answer") for line in deadlines.unanswered())


async def test_a_hung_vagrant_is_not_waited_for_past_its_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`vagrant status` that never returns (a provider stuck on a lock)."""
    from fabrictui.backends.real.vagrant import VagrantLab

    bin_dir, pid_file = tmp_path / "bin", tmp_path / "vagrant.pid"
    bin_dir.mkdir()
    fake = bin_dir / "vagrant"
    fake.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 600\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin")
    (tmp_path / "Vagrantfile").write_text("")
    deadlines.use(deadlines.Deadlines(vagrant=1.0))
    try:
        started = time.monotonic()
        with pytest.raises(Unreachable, match=r"vagrant status in .* did not answer within 1 s"):
            await asyncio.wait_for(VagrantLab(tmp_path).refresh(), 30)
        assert time.monotonic() - started < 1.0 + SLACK
    finally:
        deadlines.use(deadlines.DEFAULTS)
        if pid_file.exists():  # the stuck vagrant ends with the test
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


async def test_a_part_that_answers_again_is_read_at_the_next_refresh() -> None:
    """A part that did not answer is asked again at the usual pace, not after a doubling
    backoff: a pane is live again one refresh after the part answers."""
    from fabrictui.session.polling import poll_forever

    calls: list[float] = []
    results: list[str] = []

    async def fetch() -> str:
        calls.append(time.monotonic())
        if len(calls) <= 5:
            raise Unreachable("the Kubernetes API at https://127.0.0.1:1 did not answer")
        return "answer"

    task = asyncio.create_task(poll_forever(fetch, results.append, lambda _: None, 0.1, 1.0))
    try:
        await asyncio.wait_for(_until(lambda: bool(results)), 5)
    finally:
        task.cancel()
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert max(gaps) < 0.1 + 0.15, gaps  # doubling would have waited 0.2, 0.4, ... 3.2 s


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.02)


def test_no_message_is_a_bare_exception_class() -> None:
    assert deadlines.describe(TimeoutError(), "verify") == "verify: no answer in time"
    assert deadlines.describe(OSError(), "watching") == (
        "watching failed (OSError, without a message)"
    )
    assert deadlines.describe(Unreachable("leaf1: no SSH answer"), "x") == "leaf1: no SSH answer"


def test_ctrl_c_at_a_confirmation_prompt_ends_the_command(tmp_path: Path) -> None:
    """The prompt is read in a thread: Ctrl-C must not then wait for the answer (the loop's
    default executor joined that thread at the end of asyncio.run)."""
    import shutil

    from tests._require import require

    require(shutil.which("tmux"), "tmux is not installed")
    session, pid_file = f"fabrictui-confirm-{os.getpid()}", tmp_path / "pid"
    command = (
        f"echo $$ > {pid_file}; exec env FABRICTUI_STATE_DIR={tmp_path / 'state'} "
        f"FABRICTUI_CONFIG_DIR={tmp_path / 'config'} PYTHONWARNINGS=ignore "
        f"{sys.executable} -m fabrictui.cli scale --demo ready --replicas 3"
    )
    tmux = ["tmux"]
    subprocess.run([*tmux, "new-session", "-d", "-s", session, command], check=True)
    try:
        started = time.monotonic()
        while (
            "Proceed?"
            not in subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
        ):
            assert time.monotonic() - started < 30, "no prompt"
            time.sleep(0.1)
        pid = int(pid_file.read_text())
        subprocess.run([*tmux, "send-keys", "-t", session, "C-c"], check=True)
        asked = time.monotonic()
        while Path(f"/proc/{pid}").exists() and time.monotonic() - asked < 5:
            time.sleep(0.05)
        assert not Path(f"/proc/{pid}").exists(), "still waiting for an answer after Ctrl-C"
    finally:
        subprocess.run([*tmux, "kill-session", "-t", session], capture_output=True)
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_the_process_ends_with_its_code_while_a_call_still_hangs() -> None:
    script = (
        "import threading, time\n"
        "from fabrictui import deadlines\n"
        "threading.Thread(target=time.sleep, args=(60,), name='fabrictui-call: x',"
        " daemon=True).start()\n"
        "print('result', flush=True)\n"
        "deadlines.end_process(2)\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
    )
    assert (done.returncode, done.stdout) == (2, "result\n")
    assert time.monotonic() - started < 5


async def test_a_call_in_its_thread_keeps_the_callers_context():
    """A Kubernetes call runs in a thread of its own: the audited action it belongs to (a
    context variable) must go along, or its API calls vanish from the audit log."""
    import contextvars

    from fabrictui import deadlines

    action = contextvars.ContextVar("action", default=None)
    action.set("deploy-calico")
    assert await deadlines.in_thread(action.get, 5.0, "read the action") == "deploy-calico"
