"""Live pcap from a node: `sudo tcpdump -i IFACE -U -w - <bpf>` over the SshPool.

No PTY (it would rewrite the bytes); stderr is read separately and becomes the
error message when tcpdump fails, in tcpdump's own words.

tcpdump runs under a small `sh` wrapper (`CAPTURE_WRAPPER`) that ends it when
the SSH channel closes, whoever closes it: tcpdump by itself only notices a
closed channel at its next write, so on a quiet link it would run on after the
app was killed (`kill -9`, a terminal that went away). The wrapper starts
tcpdump in the background, reports its pid, and reads its own stdin, which is
the channel: we keep our end open while capturing and never write to it, so
stdin reaches end-of-file only when the channel goes, and the wrapper then
sends tcpdump TERM. tcpdump's stdout and stderr are the channel's own; the
wrapper exits with tcpdump's exit status.

`close()` still checks over SSH (with `pgrep -f`) that the reported pid is
gone, and kills it by pid when it is not: the wrapper is the guard for an app
that cannot clean up, not a reason to skip the check when it can.
Restarting after a failure is the caller's business: a lost stream raises
Unreachable, a tcpdump that exits raises BackendError with its own words.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator

from fabrictui.backends.base import BackendError, CaptureStream, ToolMissing, Unreachable
from fabrictui.backends.real.ssh import RemoteProcess, SshPool
from fabrictui.constants import POD_TRAFFIC_BPF
from fabrictui.parsers.missing import missing_program

log = logging.getLogger(__name__)

# A constant script; the command (tcpdump's argv) arrives as positional arguments, so
# nothing of it is ever pasted into shell text. Line by line:
# - keep the channel (stdin) as fd 3: a background job's stdin is /dev/null in sh;
# - start the command in the background, its stdout/stderr the channel's own;
# - say its pid on stderr (SshCapture reads it; close() checks that pid is gone), then
#   send the shell's own stderr away: its job notices ("Killed") are not tcpdump's words,
#   and tcpdump keeps the channel's stderr it was started with;
# - a watcher subshell reads fd 3 (read is a shell builtin: killing the subshell
#   leaves no reader behind) and, at end-of-file, sends the command TERM;
# - wait for the command, stop the watcher, exit with the command's status.
CAPTURE_WRAPPER = """exec 3<&0
"$@" 3<&- </dev/null &
pid=$!
echo "fabrictui-pid $pid" >&2
exec 2>/dev/null
(while read -r line; do :; done <&3; kill -TERM "$pid") </dev/null >/dev/null 2>&1 &
watcher=$!
exec 3<&-
wait "$pid"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
"""


def capture_argv(interface: str, bpf: str) -> list[str]:
    """tcpdump under the wrapper that ends it when the channel closes, as one argv."""
    return ["sh", "-c", CAPTURE_WRAPPER, "sh", *tcpdump_argv(interface, bpf)]


def tcpdump_argv(interface: str, bpf: str) -> list[str]:
    if not interface or interface.startswith("-") or any(c.isspace() for c in interface):
        raise BackendError(f"bad interface name {interface!r}")
    argv = ["tcpdump", "-i", interface, "-U", "-w", "-"]
    if bpf.strip():
        argv += ["--", bpf]  # `--`: a filter can never become an option
    return argv


class SshCapture(CaptureStream):
    def __init__(
        self,
        pool: SshPool,
        node: str,
        interface: str = "eth0",
        bpf: str = POD_TRAFFIC_BPF,
        sudo: bool = True,
        read_size: int = 65536,
    ) -> None:
        self.pool = pool
        self.node = node
        self.interface = interface
        self.bpf = bpf
        self.sudo = sudo
        self.read_size = read_size
        self.pid: int | None = None
        self.stderr_lines: deque[str] = deque(maxlen=20)
        self._argv = tcpdump_argv(interface, bpf)
        self._process: RemoteProcess | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._pid_seen = asyncio.Event()
        self._closed = False
        self._close_task: asyncio.Future[None] | None = None

    async def start(self) -> None:
        argv = capture_argv(self.interface, self.bpf)
        # The channel's stdin stays open (we never send EOF) until close(): the
        # wrapper takes its end-of-file as "stop tcpdump".
        self._process = await self.pool.open_stream(self.node, argv, sudo=self.sudo)
        self._stderr_task = asyncio.create_task(self._read_stderr())

    async def _read_stderr(self) -> None:
        assert self._process is not None
        stderr = self._process.stderr
        buffer = b""
        with contextlib.suppress(Exception):
            while True:
                data = await stderr.read(4096)
                if not data:
                    break
                buffer += data if isinstance(data, bytes) else data.encode()
                while b"\n" in buffer:
                    raw, buffer = buffer.split(b"\n", 1)
                    self._stderr_line(raw.decode("utf-8", errors="replace").strip())
            if buffer.strip():
                self._stderr_line(buffer.decode("utf-8", errors="replace").strip())
        self._pid_seen.set()

    def _stderr_line(self, line: str) -> None:
        if line.startswith("fabrictui-pid ") and self.pid is None:
            with contextlib.suppress(ValueError):
                self.pid = int(line.split()[1])
            self._pid_seen.set()
        elif line:
            self.stderr_lines.append(line)

    def _failure(self) -> str:
        errors = [
            line
            for line in self.stderr_lines
            if not line.startswith(("listening on", "tcpdump: listening on"))
            and "packets captured" not in line
            and "packets received by filter" not in line
            and "packets dropped by kernel" not in line
        ]
        own = [line for line in errors if line.startswith("tcpdump:")]
        return (own or errors or [""])[0]

    async def chunks(self) -> AsyncIterator[bytes]:
        if self._closed:
            return
        if self._process is None:
            await self.start()
        process = self._process
        assert process is not None
        got_data = False
        while True:
            try:
                data = await process.read(self.read_size)  # Unreachable on loss
            except Unreachable:
                if self._closed:
                    return
                raise
            if not data:
                break
            got_data = True
            yield data
        if self._closed:
            return
        # End of stream: tcpdump exited or the channel went away.
        if self._stderr_task is not None:
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(self._stderr_task), 2.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(process.process.wait_closed(), 2.0)
        status = process.exit_status
        missing = missing_program("\n".join(self.stderr_lines))
        if missing is not None:  # the node has no tcpdump: not a quiet node
            raise ToolMissing(self.node, missing.rsplit("/", 1)[-1])
        why = self._failure()
        if status is None and not why:
            raise Unreachable(f"{self.node}: capture stream lost")
        detail = why or f"tcpdump exited with status {status}"
        if not why and status is not None and status > 128:  # the wrapper's $? for a signal
            detail += f" (killed by signal {status - 128})"
        if not got_data or status not in (0, None):
            raise BackendError(f"{self.node}: capture failed: {detail}")
        raise BackendError(f"{self.node}: capture ended: {detail}")

    @property
    def closed(self) -> bool:
        """close() was called (it may still be stopping tcpdump)."""
        return self._closed

    @property
    def stopped(self) -> bool:
        """close() has finished: nothing of this capture runs on the node."""
        return self._close_task is not None and self._close_task.done()

    async def close(self) -> None:
        """Stop the capture and make sure no tcpdump of ours is left on the node.

        The stopping runs in its own task: a caller cancelled half-way (a worker
        torn down at shutdown) does not cut it short, and every caller, also a
        second one, waits until it is done.
        """
        if self._close_task is None:
            self._closed = True
            self._close_task = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._close_task)

    async def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._pid_seen.wait(), 2.0)
            await process.close()
        if self._stderr_task is not None:
            self._stderr_task.cancel()
            with contextlib.suppress(BaseException):
                await self._stderr_task
        if self.pid is not None:
            await self._ensure_gone(self.pid)

    async def _running_pids(self) -> set[int]:
        pattern = " ".join(self._argv[:6])  # "tcpdump -i IFACE -U -w -"
        result = await self.pool.run(self.node, ["pgrep", "-f", "--", pattern], 5.0)
        return {int(p) for p in result.stdout.split() if p.isdigit()}

    async def _ensure_gone(self, pid: int) -> None:
        try:
            for attempt, signal in enumerate(("TERM", "TERM", "KILL", "KILL")):
                if pid not in await self._running_pids():
                    return
                if attempt == 0:
                    await asyncio.sleep(0.2)  # closing the channel may be ending it already
                    if pid not in await self._running_pids():
                        return
                await self.pool.run(
                    self.node, ["kill", f"-{signal}", str(pid)], 5.0, sudo=self.sudo
                )
                await asyncio.sleep(0.2)
            if pid in await self._running_pids():
                log.warning("%s: tcpdump pid %d still running after KILL", self.node, pid)
        except BackendError as exc:
            # The node is unreachable: nothing we can do now; say so in the log.
            log.warning("%s: could not check that tcpdump %d stopped: %s", self.node, pid, exc)


async def open_ssh_capture(
    pool: SshPool,
    node: str,
    interface: str = "eth0",
    bpf: str = POD_TRAFFIC_BPF,
    sudo: bool = True,
) -> SshCapture:
    capture = SshCapture(pool, node, interface, bpf, sudo)
    await capture.start()
    return capture
