"""Results and streams of remote commands, and one-line error texts."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import asyncssh

from fabrictui.backends.base import Unreachable


@dataclass(frozen=True, slots=True)
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


def one_line(text: object, limit: int = 160) -> str:
    line = " ".join(str(text).split())
    if "PRIVATE KEY" in line or "BEGIN " in line:
        return "(details withheld)"
    return line if len(line) <= limit else line[: limit - 1] + "…"


class RemoteProcess:
    """A remote command streaming bytes (no PTY, stderr separate).

    Holds one of the host's session slots until `close()`.
    """

    def __init__(self, host: str, command: str, process: asyncssh.SSHClientProcess, release):
        self.host = host
        self.command = command
        self.process = process
        self._release = release

    @property
    def stdout(self) -> asyncssh.SSHReader:
        return self.process.stdout

    @property
    def stderr(self) -> asyncssh.SSHReader:
        return self.process.stderr

    @property
    def exit_status(self) -> int | None:
        return self.process.exit_status

    async def read(self, n: int = 65536) -> bytes:
        """Up to `n` bytes of stdout; b"" at end of stream. Raises Unreachable on loss."""
        try:
            data = await self.process.stdout.read(n)
        except (asyncssh.Error, OSError) as exc:
            raise Unreachable(f"{self.host}: stream lost: {one_line(exc)}") from None
        return data if isinstance(data, bytes) else data.encode()

    def write(self, data: bytes) -> None:
        """Send `data` to the command's stdin. Raises Unreachable when the channel is gone."""
        try:
            self.process.stdin.write(data)
        except (asyncssh.Error, OSError, BrokenPipeError) as exc:
            raise Unreachable(f"{self.host}: stream lost: {one_line(exc)}") from None

    def abort(self) -> None:
        """Close the channel now, without waiting (for a caller being cancelled)."""
        try:
            abandon(self.process)
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()

    async def close(self, timeout: float = 3.0) -> None:
        """Close the channel (the remote command sees EOF/SIGPIPE) and free the slot."""
        try:
            with contextlib.suppress(asyncssh.Error, OSError):
                self.process.send_signal("TERM")
            self.process.close()
            with contextlib.suppress(asyncssh.Error, OSError, TimeoutError):
                await asyncio.wait_for(self.process.wait_closed(), timeout)
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


def abandon(process: asyncssh.SSHClientProcess) -> None:
    """Stop waiting for a command: ask for KILL (OpenSSH may refuse) and close the channel."""
    with contextlib.suppress(asyncssh.Error, OSError):
        process.send_signal("KILL")
    process.close()


def decode_text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="replace")
