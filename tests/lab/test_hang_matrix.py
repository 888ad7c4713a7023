"""The hang matrix (issue 29) on the rehearsal lab, by the command lines a user types.

Each lab part is made to hang the way a real one does, accepting connections and never
answering: the Kubernetes API server SIGSTOPped, a switch's and a node's sshd
SIGSTOPped (the kernel still completes TCP handshakes into its backlog, nothing sends
the SSH banner). Only the lab's own processes are stopped, all on 127.0.0.1. For each
part and each headless command:

- the command ends within its documented bound (docs/deadlines.md): its time on the
  healthy lab plus twice the hung part's deadline plus 1 s;
- when it needed the part: exit code 2 (it could not do its job) or 3 (it did, but what the
  part would have shown was not observed), the part named on stderr ("not answering: ...");
  otherwise exit 0 (it did not wait on it);
- SIGTERM in the middle of it ends it within 5 s.

Short deadlines come from a config file (`[deadlines]`), one lab serves the whole
matrix. The measured table is printed (pytest -s) and, with FABRICTUI_HANG_TABLE=FILE,
written to FILE.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrictui.lab.lab import read_state
from tests._require import require

# its own prepared lab, in the second lab group of scripts/test: the matrix is the longest
# module on the shared lab, and the groups then take about as long as each other
pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.second_shared_lab]

DEADLINES = {"kube_api": 2.0, "ssh_connect": 2.0, "ssh_command": 3.0, "vtysh": 2.0}
# how long a part that hangs may hold a command at one wait: the API's deadline; for
# SSH the connection's (asyncssh's own timeout, and 1 s more for the pool's wait on it)
WAIT = {"kube": DEADLINES["kube_api"], "switch": DEADLINES["ssh_connect"] + 1.0}
WAIT["node"] = WAIT["switch"]
SWITCH, NODE = "leaf1", "k8s-node-l2-1"  # NODE holds the trace's source pod
LOAD_SLACK = 1.5  # a shared 2-core CI machine: start-up jitter
RECORD_SECONDS = 4
SIGTERM_AFTER = 1.5  # into the command: inside its wait on the hung part
SIGTERM_BOUND = 5.0

PARTS = ("kube", "switch", "node")
COMMANDS = ("verify", "routes", "ping", "trace", "scale", "record", "capture", "lab status")
# the commands that need each part: they exit 2 or 3 naming it; the others must not wait on it
NEEDS = {
    "kube": set(COMMANDS),
    "switch": {"verify", "routes", "trace", "record", "lab status"},
    "node": {"verify", "ping", "trace", "record", "capture", "lab status"},  # its pods ping from it
}
NAMED = {
    "kube": ("the Kubernetes API at https://127.0.0.1:", "kube API: runs but does not answer"),
    "switch": (f"{SWITCH}: no SSH answer", f"{SWITCH}: sshd runs but sends no SSH banner"),
    "node": (f"{NODE}: no SSH answer", f"{NODE}: sshd runs but sends no SSH banner"),
}
MEASURED: dict[tuple[str, str], tuple[float, float, int, float]] = {}


class Lab:
    def __init__(self, directory: Path, config: Path) -> None:
        self.dir = directory
        self.config = config
        state = read_state(directory)
        assert state is not None
        self.lab_id = str(state["lab_id"])
        self.pids = {(p["role"], p.get("host")): int(p["pid"]) for p in state["processes"]}
        pods = json.loads(
            subprocess.run(
                ["kubectl", "--kubeconfig", str(directory / "kubeconfig"), "get", "pods",
                 "-n", "space1", "-o", "json"],
                capture_output=True, text=True, check=True, timeout=30,
            ).stdout
        )["items"]  # fmt: skip
        on = {p["spec"]["nodeName"]: p for p in pods}
        self.src = on[NODE]["metadata"]["name"]
        self.src_ip = on[NODE]["status"]["podIP"]
        self.dst_ip = next(p["status"]["podIP"] for n, p in on.items() if "-l1-" in n)
        self.baseline: dict[str, float] = {}

    def pid_of(self, part: str) -> int:
        if part == "kube":
            return self.pids[("kubeapi", None)]
        return self.pids[("sshd", SWITCH if part == "switch" else NODE)]

    def argv(self, command: str, output: Path) -> list[str]:
        lab, cfg = ["--lab", str(self.dir)], ["--config", str(self.config)]
        args = {
            "verify": ["verify", "-q", *lab, *cfg],
            "routes": ["routes", *lab, *cfg],
            "ping": ["ping", "-q", "-c", "1", *lab, *cfg],
            "trace": ["trace", "-q", "--from", f"space1/{self.src}", "--to", self.dst_ip,
                      *lab, *cfg],
            "scale": ["scale", "--replicas", "4", "--yes", "--timeout", "10", *lab, *cfg],
            "record": ["record", "--duration", f"{RECORD_SECONDS}s", "-o", str(output),
                       *lab, *cfg],
            "capture": ["capture", "--node", NODE, "--count", "2", *lab, *cfg],
            "lab status": ["lab", "status", "--dir", str(self.dir)],
        }[command]  # fmt: skip
        return [sys.executable, "-m", "fabrictui.cli", *args]

    def traffic(self) -> list[subprocess.Popen]:
        """Pings to NODE's pod from every pod (inside the lab's own namespaces): frames
        for `capture --node` to catch."""
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        prefix = f"ftl-{self.lab_id}-pod-"
        spaces = [line.split()[0] for line in listed.splitlines() if line.startswith(prefix)]
        return [
            subprocess.Popen(
                ["ip", "netns", "exec", ns, "ping", "-q", "-i", "0.2", "-w", "60", self.src_ip],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for ns in spaces
        ]


def start(argv: list[str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True, env=env,
    )  # fmt: skip


def finish(proc: subprocess.Popen, timeout: float) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise


def run(lab: Lab, command: str, tmp: Path, timeout: float) -> tuple[float, int, str, str]:
    traffic = lab.traffic() if command == "capture" else []
    started = time.monotonic()
    try:
        proc = start(lab.argv(command, tmp / f"{command}.sqlite"))
        out, err = finish(proc, timeout)
    finally:
        for ping in traffic:
            ping.terminate()
            ping.wait()
    return time.monotonic() - started, proc.returncode, out, err


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, shared_lab) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("hangs")
    config = base / "config.toml"
    config.write_text("[deadlines]\n" + "".join(f"{k} = {v}\n" for k, v in DEADLINES.items()))
    the_lab = Lab(shared_lab.take(), config)  # prepared: Calico and nginx on 4 workers
    for command in COMMANDS:  # each command's time on the healthy lab
        took, code, out, err = run(the_lab, command, base, 60)
        assert code == 0, f"{command} on the healthy lab: {code}\n{out[-800:]}\n{err[-800:]}"
        the_lab.baseline[command] = took
    yield the_lab
    _report()


def _report() -> None:
    if not MEASURED:
        return
    lines = [
        "| part hung | command | healthy (s) | hung (s) | bound (s) | exit | SIGTERM to end (s) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for (part, command), (healthy, took, code, term) in MEASURED.items():
        bound = healthy + 2 * WAIT[part] + 1.0
        lines.append(
            f"| {part} | {command} | {healthy:.1f} | {took:.1f} | {bound:.1f} | {code} "
            f"| {term:.2f} |"
        )
    table = "\n".join(lines)
    print(f"\n\nhang matrix (deadlines {DEADLINES}):\n{table}")
    target = os.environ.get("FABRICTUI_HANG_TABLE")
    if target:
        Path(target).write_text(table + "\n")


class Hung:
    """The part stopped for the block, and always resumed after it."""

    def __init__(self, lab: Lab, part: str) -> None:
        self.pid = lab.pid_of(part)

    def __enter__(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def __exit__(self, *exc: object) -> None:
        os.kill(self.pid, signal.SIGCONT)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("part", PARTS)
def test_a_hung_part_never_hangs_a_command(
    lab: Lab, part: str, command: str, tmp_path: Path
) -> None:
    healthy = lab.baseline[command]
    bound = healthy + 2 * WAIT[part] + 1.0
    with Hung(lab, part):
        took, code, out, err = run(lab, command, tmp_path, bound + 30)
    with Hung(lab, part):  # SIGTERM in the middle: ends within 5 s whatever is stuck
        traffic = lab.traffic() if command == "capture" else []
        try:
            proc = start(lab.argv(command, tmp_path / "term.sqlite"))
            time.sleep(SIGTERM_AFTER)
            proc.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            finish(proc, SIGTERM_BOUND + 10)
            term = time.monotonic() - sent
        finally:
            for ping in traffic:
                ping.terminate()
                ping.wait()
    MEASURED[(part, command)] = (healthy, took, code, term)
    said = f"exit {code} after {took:.1f} s\nstdout: {out[-600:]}\nstderr: {err[-1200:]}"
    assert "Traceback" not in err, said
    assert took <= bound + LOAD_SLACK, f"over its bound of {bound:.1f} s: {said}"
    assert term <= SIGTERM_BOUND, f"SIGTERM took {term:.1f} s to end {command}"
    if command in NEEDS[part]:
        assert code in (2, 3), said
        wanted = NAMED[part][1] if command == "lab status" else NAMED[part][0]
        assert wanted in err, f"the part is not named ({wanted!r}): {said}"
    else:
        assert code == 0, said
    if command == "record":  # what still answered was recorded
        assert (tmp_path / "record.sqlite").stat().st_size > 0, said


# -- the TUI in a real terminal (tmux): the API stopped, then resumed -----------------

TMUX = f"fabrictui-hangs-{os.getpid()}"
FABRIC_POLL = 1.0
# one refresh deadline of the Kubernetes pane: the next bgp poll, its read's deadline,
# and the screen's once-a-second tick
REFRESH = FABRIC_POLL + DEADLINES["kube_api"] + 1.0


def tmux(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False)


def on_screen() -> str:
    return tmux("capture-pane", "-p", "-t", TMUX).stdout


def wait_screen(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition(on_screen()):
        assert time.monotonic() - started < timeout, f"not within {timeout:.0f} s: {what}\n" + (
            on_screen()
        )
        time.sleep(0.2)
    return time.monotonic() - started


def zoom_kube() -> None:
    for key in ("3", "z"):  # one at a time: focus first, then zoom what has it
        tmux("send-keys", "-t", TMUX, key)
        time.sleep(0.5)


def test_the_tui_names_the_hung_api_in_its_pane_and_recovers(lab: Lab, tmp_path: Path) -> None:
    require(shutil.which("tmux"), "tmux is not installed")
    config = tmp_path / "tui.toml"
    config.write_text(lab.config.read_text() + f"[poll]\nfabric = {FABRIC_POLL}\nhosts = 2\n")
    pid_file = tmp_path / "pid"
    command = (
        # the terminal's size set before the app reads it (a new tmux pane may start 80x24)
        f"stty cols 160 rows 48; echo $$ > {pid_file}; "
        f"exec env FABRICTUI_STATE_DIR={tmp_path / 'state'} PYTHONWARNINGS=ignore "
        f"{sys.executable} -m fabrictui.cli --lab {lab.dir} --config {config} --no-record"
    )
    tmux("kill-session", "-t", TMUX)
    assert tmux("new-session", "-d", "-s", TMUX, "-x", "160", "-y", "48", command).returncode == 0
    hung = Hung(lab, "kube")
    try:
        # the Kubernetes pane read: its Services and pods (which pod rows fit the pane
        # depends on how many Services the lab has, so no pod's name is waited for)
        wait_screen(lambda s: "nginx-service" in s and "Running" in s, 60, "the pods on screen")
        zoom_kube()  # the Kubernetes pane, zoomed: all of its border shows
        wait_screen(lambda s: "╭─ 3 Kubernetes" in s and "╭─ 2 Fabric" not in s, 10, "zoomed")
        with hung:
            seen = wait_screen(
                lambda s: "Kubernetes API at https://127.0.0.1" in s and "failing for" in s,
                REFRESH + 3.0,
                "the Kubernetes pane names the API",
            )
            screen = on_screen()
            assert "showing what it said at" in screen, screen
            time.sleep(4 * FABRIC_POLL)  # several refreshes fail: no backoff may follow them
            tmux("send-keys", "-t", TMUX, "z")  # every pane: the others stay live
            wait_screen(
                lambda s: re.search(r"updated [0-2]s ago", s) is not None,
                FABRIC_POLL + 2.0,
                "the fabric and VM panes still refresh",
            )
            screen = on_screen()
            assert "TimeoutError" not in screen and "Traceback" not in screen, screen
            zoom_kube()
        recovered = wait_screen(
            lambda s: "failing for" not in s,
            REFRESH + 3.0,
            "the pane recovers once the API answers",
        )
        print(
            f"\nTUI: the API named in its pane {seen:.1f} s after SIGSTOP, live again "
            f"{recovered:.1f} s after SIGCONT (one refresh: {REFRESH:.0f} s)"
        )
    finally:
        tmux("kill-session", "-t", TMUX)
        if pid_file.exists():  # however the app takes its terminal's end, it goes
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
