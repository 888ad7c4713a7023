"""Issue 30: never the demo lab by surprise. The real command lines, run from an empty
directory with no KUBECONFIG and a HOME of their own: an option that names a lab is
never ignored, a broken kubeconfig stops with one line naming it, and a headless
command with no lab named says how to name one instead of judging the demo lab.

Every server here is on 127.0.0.1: a port nobody listens on (refused) and a socket
that is listening but never answers (silent).
"""

from __future__ import annotations

import json
import shlex
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrictui.backends.real.kube.precheck import ANSWER_SECONDS
from tests._cli import fabrictui_in, kubeconfig, one_line
from tests._require import require
from tests._tui_exit import gone, terminal


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    """An empty working directory (no Vagrantfile, no lab) and a HOME with no kubeconfig."""
    work = tmp_path / "empty"
    (tmp_path / "home").mkdir()
    work.mkdir()
    return work


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listening 127.0.0.1 socket that never accepts or answers: the kernel completes
    the TCP handshake, then nothing more ever comes back."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


# -- no lab named --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv", [["verify"], ["verify", "--json"], ["ping"], ["routes"], ["record", "--duration", "1"]]
)
def test_no_lab_named_exits_2_saying_how_to_name_one(empty: Path, argv: list[str]) -> None:
    line = one_line(fabrictui_in(empty, *argv))
    assert line.startswith(f"fabrictui {argv[0]}: no lab named and none found here")
    for way in ("--lab DIR", "Vagrant project", "--kubeconfig FILE", "KUBECONFIG", "--demo"):
        assert way in line


def test_jump_alone_names_no_lab(empty: Path) -> None:
    line = one_line(fabrictui_in(empty, "verify", "--jump", "ops@127.0.0.1:2222"))
    assert line.startswith("fabrictui verify: --jump ops@127.0.0.1:2222: no lab to reach")


def test_demo_says_so_in_json_and_text(empty: Path) -> None:
    done = fabrictui_in(empty, "verify", "--demo", "ready", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["lab"] == {"kind": "demo", "name": "demo (ready, seed 1)", "source": "--demo ready"}
    text = fabrictui_in(empty, "ping", "--demo", "ready", "-q", "-c", "1")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == "lab: demo (ready, seed 1) [demo] from --demo ready"


def test_demo_with_a_real_lab_option_is_refused(empty: Path) -> None:
    line = one_line(fabrictui_in(empty, "verify", "--demo", "--kubeconfig", "k"))
    assert (
        line == "fabrictui verify: --demo is the built-in lab: it cannot be used with --kubeconfig"
    )


# -- a kubeconfig that cannot be used --------------------------------------------------------


def test_broken_kubeconfig(empty: Path) -> None:
    broken = empty.parent / "broken-kubeconfig"
    broken.write_text("this: is: not [yaml\n", encoding="utf-8")
    line = one_line(fabrictui_in(empty, "verify", "--kubeconfig", str(broken)))
    assert (
        line
        == f"fabrictui verify: --kubeconfig {broken}: not a kubeconfig: not valid YAML (line 1)"
    )
    plain = empty.parent / "list.yaml"
    plain.write_text("- just\n- a list\n", encoding="utf-8")
    line = one_line(fabrictui_in(empty, "verify", "--json", "--kubeconfig", str(plain)))
    assert line == f"fabrictui verify: --kubeconfig {plain}: not a kubeconfig (no clusters list)"


def test_missing_kubeconfig(empty: Path) -> None:
    line = one_line(fabrictui_in(empty, "ping", "--kubeconfig", "/nonexistent"))
    assert line == "fabrictui ping: --kubeconfig /nonexistent: no such file"


def test_missing_context(empty: Path, closed_port: int) -> None:
    path = kubeconfig(empty.parent / "kc", f"https://127.0.0.1:{closed_port}", context="mine")
    line = one_line(fabrictui_in(empty, "verify", "--kubeconfig", str(path), "--context", "other"))
    assert line == f"fabrictui verify: --kubeconfig {path}: no context 'other' (has: mine)"


def test_server_that_refuses(empty: Path, closed_port: int) -> None:
    server = f"https://127.0.0.1:{closed_port}"
    path = kubeconfig(empty.parent / "kc", server)
    line = one_line(fabrictui_in(empty, "verify", "--kubeconfig", str(path)))
    assert line == (
        f"fabrictui verify: --kubeconfig {path}: context 'lab': server {server} "
        "refused the connection"
    )


def test_server_that_does_not_answer(empty: Path, silent_port: int) -> None:
    server = f"https://127.0.0.1:{silent_port}"
    path = kubeconfig(empty.parent / "kc", server)
    started = time.monotonic()
    line = one_line(fabrictui_in(empty, "verify", "--kubeconfig", str(path)))
    took = time.monotonic() - started
    assert line == (
        f"fabrictui verify: --kubeconfig {path}: context 'lab': server {server} "
        f"did not answer within {ANSWER_SECONDS:g} s"
    )
    assert took < ANSWER_SECONDS + 5, took


def test_kubeconfig_from_the_environment_counts(empty: Path, closed_port: int) -> None:
    server = f"http://127.0.0.1:{closed_port}"
    path = kubeconfig(empty.parent / "kc", server)
    line = one_line(fabrictui_in(empty, "verify", KUBECONFIG=str(path)))
    assert line.startswith(f"fabrictui verify: KUBECONFIG={path}: context 'lab': server {server}")
    line = one_line(fabrictui_in(empty, "verify", KUBECONFIG="/nonexistent"))
    assert line == "fabrictui verify: KUBECONFIG=/nonexistent: no such file"


def test_context_alone_reads_the_default_kubeconfig(empty: Path, closed_port: int) -> None:
    """`--context` names a lab too: in ~/.kube/config, as kubectl reads it; never ignored."""
    line = one_line(fabrictui_in(empty, "verify", "--context", "lab"))
    assert line == (
        "fabrictui verify: --context lab: no kubeconfig to find it in (no --kubeconfig FILE, "
        "no KUBECONFIG, no ~/.kube/config)"
    )
    (empty.parent / "home" / ".kube").mkdir()
    server = f"https://127.0.0.1:{closed_port}"
    kubeconfig(empty.parent / "home" / ".kube" / "config", server, context="lab")
    line = one_line(fabrictui_in(empty, "verify", "--context", "lab"))
    refused = f"context 'lab': server {server} refused the connection"
    assert line == f"fabrictui verify: ~/.kube/config: {refused}"
    # ~/.kube/config alone names no lab: the headless rule still holds
    assert "no lab named" in one_line(fabrictui_in(empty, "verify"))


def test_the_tui_alone_keeps_its_demo_default(empty: Path, tmp_path: Path) -> None:
    """`fabrictui` with nothing naming a lab, in a real terminal: the demo lab, marked DEMO,
    with the hint on how to name a real one (the headless commands exit 2 instead); its
    terminal closed, it is gone (in a tmux server of its own: nothing of it outlives the test)."""
    require(shutil.which("tmux"), "tmux is not installed")
    home = shlex.quote(str(empty.parent / "home"))
    app = shlex.join([sys.executable, "-m", "fabrictui.cli", "--no-record"])
    inner = f"cd {shlex.quote(str(empty))} && exec env -u KUBECONFIG HOME={home} {app}"
    with terminal(tmp_path, "demo-default") as term:
        pid = term.start(["sh", "-c", inner])
        text = ""
        deadline = time.monotonic() + 60  # a first start on a busy machine is slow
        while time.monotonic() < deadline:
            text = term.screen()
            if " DEMO " in text and "No lab named" in text:
                break
            time.sleep(0.2)
        assert " DEMO " in text and "No lab named" in text, text
        assert "--kubeconfig FILE" in text, text
        term.kill()
        gone(pid, "its terminal closed", time.monotonic())


def test_the_tui_stops_on_a_broken_kubeconfig_too(empty: Path) -> None:
    """The TUI keeps its demo default only when nothing names a lab: before any screen."""
    line = one_line(fabrictui_in(empty, "--kubeconfig", "/nonexistent"))
    assert line == "fabrictui: --kubeconfig /nonexistent: no such file"


# -- a real cluster named by its kubeconfig alone: the rehearsal lab -------------------------


# -- the server check's other answers -------------------------------------------------------


@pytest.fixture
def answering() -> Iterator[tuple[int, list[bytes]]]:
    """A 127.0.0.1 server that accepts, sends the bytes queued in the list (nothing: just
    closes) and hangs up, once per connection."""
    import threading

    replies: list[bytes] = []
    stop = threading.Event()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.1)  # closing a socket does not wake a blocked accept(): poll `stop`

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(2.0)
            with conn:
                conn.recv(4096)
                if replies:
                    conn.sendall(replies.pop(0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], replies
    finally:
        stop.set()
        thread.join(5)
        server.close()


def test_server_check_tells_what_answered(answering: tuple[int, list[bytes]]) -> None:
    from fabrictui.backends.real.kube.precheck import server_silence

    port, replies = answering
    assert server_silence("http", "127.0.0.1", port, 2.0) == (
        "closed the connection without answering"
    )
    replies.append(b"SSH-2.0-OpenSSH_9.2\r\n")
    assert server_silence("http", "127.0.0.1", port, 2.0) == "answered, but not as an HTTP server"
    replies.append(b"HTTP/1.1 401 Unauthorized\r\n\r\n")
    assert server_silence("http", "127.0.0.1", port, 2.0) is None  # any HTTP answer will do
    replies.append(b"HTTP/1.1 200 OK\r\n\r\n")
    why = server_silence("https", "127.0.0.1", port, 2.0)  # plain HTTP where TLS is expected
    assert why is not None and why.startswith("did not complete a TLS handshake"), why
