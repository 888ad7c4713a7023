"""`--kubeconfig FILE --jump HOST` (issue 30): a cluster behind a bastion. The API is
reached through an SSH forward on the jump host, never dialled directly; a jump host that
is down, and a server that does not answer behind it, each stop the command with one line
naming them (exit 2) before anything else runs.

Everything is on 127.0.0.1: the lab's API server (in a thread, memory data plane) and an
SSH server standing in for the bastion, which records every forward it is asked for and
grants only those to loopback (network safety)."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrictui.backends.real.kube.precheck import ANSWER_SECONDS
from fabrictui.lab.kubeapi.harness import ServerThread
from tests._cli import fabrictui_in, kubeconfig, one_line
from tests._sshd import ShellServer, write_known_hosts


class JumpHost:
    """A ShellServer on its own event loop in a thread: the command under test is another
    process, so the bastion must answer while the test waits for it."""

    def __init__(self, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server = ShellServer(tmp)

    def __enter__(self) -> JumpHost:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @property
    def spec(self) -> str:
        return f"tester@127.0.0.1:{self.server.port}"

    def trust_from(self, home: Path) -> None:
        """The user's own ssh setup: the bastion's host key known, their key in ~/.ssh."""
        ssh = home / ".ssh"
        ssh.mkdir(parents=True, exist_ok=True)
        write_known_hosts(ssh / "known_hosts", self.server.port, self.server.host_key)
        shutil.copy(self.server.client_key_path, ssh / "id_ed25519")
        (ssh / "id_ed25519").chmod(0o600)


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    """An empty working directory and a HOME of its own beside it."""
    work = tmp_path / "empty"
    (tmp_path / "home").mkdir()
    work.mkdir()
    return work


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ServerThread]:
    with ServerThread(tmp_path / "lab") as server:
        yield server


@pytest.fixture
def jump(tmp_path: Path, empty: Path) -> Iterator[JumpHost]:
    (tmp_path / "jump").mkdir()
    with JumpHost(tmp_path / "jump") as host:
        host.trust_from(empty.parent / "home")
        yield host


def api_port(api: ServerThread) -> int:
    server = api.server
    assert server is not None
    return int(server.port)


def test_the_api_is_reached_through_the_jump_host(
    empty: Path, api: ServerThread, jump: JumpHost
) -> None:
    kc = str(api.kubeconfig)
    done = fabrictui_in(empty, "verify", "--json", "--kubeconfig", kc, "--jump", jump.spec)
    assert done.returncode == 1, (done.stdout, done.stderr)  # Calico not deployed yet
    doc = json.loads(done.stdout)
    assert doc["lab"]["kind"] == "kubeconfig" and doc["lab"]["source"] == kc
    nodes = next(c for c in doc["checks"] if c["name"] == "nodes Ready")
    assert nodes["state"] == "fail" and "NotReady" in nodes["cause"]  # read from the API
    assert len(nodes["evidence"]) == 5, nodes
    # every API connection went through the bastion, to the server the kubeconfig names
    assert jump.server.forwards and set(jump.server.forwards) == {("127.0.0.1", api_port(api))}


def test_a_jump_host_that_is_down_stops_with_its_name(
    empty: Path, api: ServerThread, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    spec = f"tester@127.0.0.1:{closed}"
    done = fabrictui_in(empty, "verify", "--kubeconfig", str(api.kubeconfig), "--jump", spec)
    assert done.returncode == 2, (done.stdout, done.stderr)
    line = one_line(done)
    assert line.startswith(f"fabrictui verify: --jump {spec}: cannot connect"), line
    assert "Traceback" not in done.stderr


def test_a_server_that_does_not_answer_behind_the_jump_host(empty: Path, jump: JumpHost) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the handshake completes; nothing ever answers
        server = f"https://127.0.0.1:{silent.getsockname()[1]}"
        path = kubeconfig(empty.parent / "kc", server)
        done = fabrictui_in(empty, "ping", "--kubeconfig", str(path), "--jump", jump.spec)
    assert done.returncode == 2, (done.stdout, done.stderr)
    line = one_line(done)
    assert line == (
        f"fabrictui ping: --kubeconfig {path}: context 'lab': server {server} did not answer "
        f"within {ANSWER_SECONDS:g} s (through --jump {jump.spec})"
    ), line
