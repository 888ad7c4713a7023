"""A real lab's side of a path trace, over the lab's own SSH pool.

Captures at any host and interface are `SshCapture`s (tcpdump under the wrapper that ends it
when the SSH channel closes: nothing outlives a trace, also after `x` or a killed app); the
state reads run the commands of `trace_ports.TRACE_READS` (iproute2 on nodes, vtysh on
switches, with sudo where the switch's login is not root) and return their text, stderr
included: `ip route get` says what it refuses there.
"""

from __future__ import annotations

import asyncio
import time

from fabrictui import deadlines
from fabrictui.backends.base import BackendError, CaptureStream
from fabrictui.backends.real.capture import CAPTURE_WRAPPER, SshCapture, tcpdump_argv
from fabrictui.backends.real.ssh import SshPool
from fabrictui.backends.real.switches import SwitchReader
from fabrictui.backends.trace_ports import read_argv

LISTEN_WAIT = 2.0  # longest wait for tcpdump's "listening on" before the probe goes


class TraceCapture(SshCapture):
    """An `SshCapture` whose tcpdump hands over every packet at once (`--immediate-mode`):
    by default libpcap holds packets up to a second to fill a buffer, and a trace that stops
    its captures right after the probe would lose the last echoes. The option goes after
    `-w -`, so the command still starts as `SshCapture` looks for it when it checks that
    tcpdump is gone; the same wrapper ends it when the SSH channel closes."""

    async def start(self) -> None:
        base = tcpdump_argv(self.interface, self.bpf)  # tcpdump -i IF -U -w - [-- BPF]
        argv = [*base[:6], "--immediate-mode", *base[6:]]
        self._process = await self.pool.open_stream(
            self.node, ["sh", "-c", CAPTURE_WRAPPER, "sh", *argv], sudo=self.sudo
        )
        self._stderr_task = asyncio.create_task(self._read_stderr())


class RemoteTrace:
    def __init__(self, pool: SshPool, switches: SwitchReader, capture_sudo: bool) -> None:
        self.pool = pool
        self.switches = switches
        self.capture_sudo = capture_sudo
        self.captures: list[SshCapture] = []

    async def open_capture(self, host: str, interface: str, bpf: str) -> CaptureStream:
        if host not in self.pool.targets:
            raise BackendError(f"{host}: no SSH endpoint to capture from")
        capture = TraceCapture(self.pool, host, interface, bpf, self.capture_sudo)
        await capture.start()
        self.captures = [c for c in self.captures if not c.stopped]
        self.captures.append(capture)
        try:
            await self._listening(capture)
        except BaseException:  # cancelled while waiting: the caller never gets it to close
            await capture.close()
            raise
        return capture

    @staticmethod
    async def _listening(capture: SshCapture) -> None:
        """Return once tcpdump listens (a probe sent earlier would pass unseen), or said
        something else (an error: the stream will tell), or LISTEN_WAIT passed."""
        deadline = time.monotonic() + LISTEN_WAIT
        while time.monotonic() < deadline:
            if any("listening on" in line for line in capture.stderr_lines):
                return
            if capture.pid is not None and capture.stderr_lines:
                return
            await asyncio.sleep(0.01)

    async def read(self, host: str, read: str, arg: str, is_switch: bool) -> str:
        if host not in self.pool.targets:
            raise BackendError(f"{host}: no SSH endpoint")
        try:
            argv = read_argv(read, arg, is_switch)
        except ValueError as err:
            raise BackendError(str(err)) from None
        if not argv:
            raise BackendError(f"{host}: no {read} read on a {'switch' if is_switch else 'node'}")
        sudo = False
        if is_switch and argv[0] == "vtysh":
            sudo = (await self.switches.detect(host)).sudo
        result = await self.pool.run(host, argv, deadlines.current().vtysh, sudo=sudo)
        text = result.stdout
        if result.stderr.strip() and not result.ok:
            text = (text + "\n" + result.stderr).strip() + "\n"
        return text

    async def close(self) -> None:
        captures, self.captures = list(self.captures), []
        for capture in captures:
            await capture.close()
