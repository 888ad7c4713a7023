"""SSH servers for tests, all on 127.0.0.1: an asyncssh server that runs each
command through the local /bin/sh (recording the exact command string), a
plain TCP server that accepts and never answers, and a real OpenSSH sshd
started from a throwaway config in a temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import asyncssh

SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_known_hosts(path: Path, port: int, key: asyncssh.SSHKey) -> None:
    line = f"[127.0.0.1]:{port} {key.export_public_key().decode().strip()}\n"
    with path.open("a") as f:
        f.write(line)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, grandchildren, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            found.append(c)
            todo.append(c)
    return found


class ShellServer:
    """asyncssh server: each exec request runs `/bin/sh -c COMMAND` locally."""

    def __init__(
        self,
        tmp: Path,
        host_key: asyncssh.SSHKey | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.tmp = tmp
        self.env = env
        self.host_key = host_key or asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key_path = tmp / "client_key"
        self.client_key.write_private_key(str(self.client_key_path))
        self.commands: list[str] = []
        self.connections: list[asyncssh.SSHServerConnection] = []
        self.connection_count = 0
        self.forwards: list[tuple[str, int]] = []
        self.port = 0
        self._server: asyncssh.SSHAcceptor | None = None

    async def start(self, port: int = 0) -> None:
        server = self

        class _Server(asyncssh.SSHServer):
            def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
                server.connections.append(conn)
                server.connection_count += 1

            def connection_requested(
                self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
            ) -> bool:
                # A jump host: forward only to loopback (network safety).
                server.forwards.append((dest_host, dest_port))
                return dest_host == "127.0.0.1"

        authorized = asyncssh.import_authorized_keys(self.client_key.export_public_key().decode())
        self._server = await asyncssh.create_server(
            _Server,
            "127.0.0.1",
            port,
            server_host_keys=[self.host_key],
            authorized_client_keys=authorized,
            process_factory=self._handle,
            encoding=None,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, process: asyncssh.SSHServerProcess) -> None:
        command = process.command or ""
        self.commands.append(command)
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            env=self.env,
        )
        try:
            out, err = await proc.communicate()
            process.stdout.write(out)
            process.stderr.write(err)
            process.exit(proc.returncode if proc.returncode >= 0 else 255)
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()

    def known_hosts(self) -> Path:
        path = self.tmp / "known_hosts"
        write_known_hosts(path, self.port, self.host_key)
        return path

    async def stop(self) -> None:
        """Stop listening and drop every open connection (a killed server)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for conn in self.connections:
            conn.abort()
        self.connections.clear()


class HangingServer:
    """Accepts TCP connections, reads, never writes a byte."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers.append(writer)
            with contextlib.suppress(ConnectionError):
                while await reader.read(4096):
                    pass

        self._server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for w in self._writers:
            w.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class RealSshd:
    """OpenSSH sshd on 127.0.0.1 with its own host key, client key and config."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.host_key_path = tmp / "ssh_host_ed25519_key"
        self.client_key_path = tmp / "id_ed25519"
        self.authorized_keys = tmp / "authorized_keys"
        self.config = tmp / "sshd_config"
        self.user = os.environ.get("USER") or "root"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tmp / "sshd.log"
        for path in (self.host_key_path, self.client_key_path):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True
            )
        self.authorized_keys.write_text(Path(f"{self.client_key_path}.pub").read_text())
        self.authorized_keys.chmod(0o600)
        self.config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.host_key_path}",
                    f"AuthorizedKeysFile {self.authorized_keys}",
                    "UsePAM no",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "PermitRootLogin prohibit-password",
                    "StrictModes no",
                    "PidFile none",
                    "",
                ]
            )
        )

    def known_hosts_line(self) -> str:
        kind, blob = Path(f"{self.host_key_path}.pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {blob}\n"

    def start(self) -> None:
        os.makedirs("/run/sshd", exist_ok=True)  # privilege separation directory
        log = self.log.open("ab")
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-o", "LogLevel=INFO", "-f", str(self.config)],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        self._wait_listening()

    def _wait_listening(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log.read_text()[-500:]}")
            if f"port {self.port}" in self.log.read_text():
                return
            time.sleep(0.02)
        raise RuntimeError("sshd did not start listening")

    def kill(self) -> None:
        """Kill sshd and every session it forked (all connections drop)."""
        if self.proc is None:
            return
        for pid in [*descendants(self.proc.pid), self.proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=5)
        self.proc = None
