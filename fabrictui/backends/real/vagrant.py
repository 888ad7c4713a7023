"""Machines of a Vagrant project through python-vagrant.

Every python-vagrant call starts `vagrant` (Ruby, 1-2 s or more), so calls
run in a thread, their results are cached, and `status` is never called
again sooner than three times as long as its last call took (at least 10 s).
One `ssh-config` call covers every machine; machines that are not created
simply have no SSH endpoint (a note, not an error). Its text is read by the one
ssh_config parser (`fabrictui.backends.real.ssh.targets_from_ssh_config`): a bad
line is an error naming the machine and the line.

When vagrant fails, the error carries vagrant's own words: a machine-readable
command's `error-exit` / `ui,error` record (`vagrant status` prints its errors
there, not on stderr), else its stderr, on one line; "exit status N" only when
vagrant said nothing.

Vagrant's update check is switched off (VAGRANT_CHECKPOINT_DISABLE): fabrictui
never makes Vagrant talk to the internet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fabrictui import deadlines
from fabrictui.backends.base import BackendError, Unreachable
from fabrictui.backends.real.inventory import (
    HostMeta,
    apply_overrides,
    load_overrides,
    meta_from_name,
)
from fabrictui.backends.real.ssh import SshTarget, targets_from_ssh_config
from fabrictui.model import Host, VmState
from fabrictui.parsers.vagrant import machine_readable_error

log = logging.getLogger(__name__)

VM_ACTIONS = ("up", "halt", "reload")

_STATE_ALIASES = {
    "shutoff": VmState.POWEROFF,  # libvirt
    "stopped": VmState.POWEROFF,
    "paused": VmState.SAVED,
    "suspended": VmState.SAVED,
    "inaccessible": VmState.UNREACHABLE,
}


def vm_state(text: str | None) -> VmState:
    if not text:
        return VmState.UNKNOWN
    try:
        return VmState(text)
    except ValueError:
        return _STATE_ALIASES.get(text, VmState.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Machine:
    name: str
    state: VmState
    provider: str


def _vagrant_env() -> dict[str, str]:
    env = dict(os.environ)
    env["VAGRANT_CHECKPOINT_DISABLE"] = "1"
    env["VAGRANT_BOX_UPDATE_CHECK_DISABLE"] = "1"
    env["VAGRANT_NO_COLOR"] = "1"
    return env


class _StderrFile:
    """Collects one vagrant call's stderr so a failure can say why."""

    def __init__(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="fabrictui-vagrant-", suffix=".err")
        os.close(fd)

    @contextlib.contextmanager
    def open(self) -> Iterator[Any]:
        with open(self.path, "ab") as fh:
            yield fh

    def message(self) -> str:
        """What vagrant wrote to stderr (its last 4000 bytes), on one line."""
        try:
            with open(self.path, "rb") as fh:
                text = fh.read()[-4000:].decode("utf-8", errors="replace")
        except OSError:
            return ""
        return " ".join(text.split())

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)


class VagrantLab:
    """State and SSH endpoints of one Vagrant project's machines."""

    def __init__(self, root: Path, min_interval: float = 10.0) -> None:
        self.root = root.resolve()
        self.min_interval = min_interval
        self.notes: list[str] = []
        self._machines: list[Machine] | None = None
        self._targets: dict[str, SshTarget] = {}
        self._targets_for: tuple[tuple[str, VmState], ...] | None = None
        self._last_started = 0.0
        self._last_duration = 0.0
        self._lock = asyncio.Lock()
        self._overrides = load_overrides(self.root)

    # -- python-vagrant in threads --------------------------------------------------

    def _client(self, err: _StderrFile) -> Any:
        if shutil.which("vagrant") is None:
            raise BackendError("vagrant is not installed (no `vagrant` on PATH)")
        import vagrant

        return vagrant.Vagrant(
            str(self.root),
            quiet_stdout=True,
            quiet_stderr=False,
            env=_vagrant_env(),
            err_cm=err.open,
        )

    def _call(self, what: str, fn: Callable[[Any], Any]) -> Any:
        err = _StderrFile()
        try:
            return fn(self._client(err))
        except FileNotFoundError:
            raise BackendError("vagrant is not installed (no `vagrant` on PATH)") from None
        except subprocess.CalledProcessError as exc:
            raise _failure(f"vagrant {what} in {self.root}", exc, err) from None
        finally:
            err.remove()

    def _status(self) -> list[Machine]:
        statuses = self._call("status", lambda v: v.status())
        return [Machine(s.name, vm_state(s.state), s.provider or "") for s in statuses]

    def _ssh_config(self, machines: list[Machine]) -> tuple[dict[str, SshTarget], list[str]]:
        notes: list[str] = []
        err = _StderrFile()
        text = ""
        try:
            text = self._client(err).ssh_config()
        except subprocess.CalledProcessError as exc:
            # Vagrant stops at the first machine that cannot be reached but has
            # printed the ones before it.
            out = exc.output or b""
            text = out.decode("utf-8", errors="replace") if isinstance(out, bytes) else out
        except FileNotFoundError:
            raise BackendError("vagrant is not installed (no `vagrant` on PATH)") from None
        finally:
            err.remove()
        targets = self._targets_from(text)
        for machine in machines:
            if machine.name in targets or machine.state is not VmState.RUNNING:
                continue
            # A running machine after the one ssh-config stopped at: ask for it alone.
            err = _StderrFile()
            try:
                one = self._client(err).ssh_config(vm_name=machine.name)
                targets.update(self._targets_from(one))
            except subprocess.CalledProcessError:
                notes.append(f"{machine.name}: running but vagrant gives no ssh-config")
            finally:
                err.remove()
        missing = [m.name for m in machines if m.name not in targets]
        if missing:
            notes.append(
                f"no SSH endpoint yet for {len(missing)} machine(s) not running: "
                + ", ".join(missing)
            )
        return {n: t for n, t in targets.items() if any(m.name == n for m in machines)}, notes

    def _targets_from(self, text: str) -> dict[str, SshTarget]:
        if not text.strip():
            return {}  # vagrant stopped before the first machine: no endpoints yet
        origin = f"vagrant ssh-config in {self.root}"
        return targets_from_ssh_config(text, origin, source="vagrant", base_dir=self.root)

    # -- cached reads --------------------------------------------------------------

    async def refresh(self, force: bool = False) -> list[Machine]:
        """Machines and states; calls vagrant only when the rate limit allows."""
        async with self._lock:
            wait = max(self.min_interval, 3 * self._last_duration)
            fresh = time.monotonic() - self._last_started < wait
            if self._machines is not None and fresh and not force:
                return self._machines
            self._last_started = time.monotonic()
            try:
                machines = await self._in_thread("status", self._status)
            finally:
                self._last_duration = time.monotonic() - self._last_started
            key = tuple((m.name, m.state) for m in machines)
            if key != self._targets_for:
                targets, notes = await self._in_thread(
                    "ssh-config", lambda: self._ssh_config(machines)
                )
                self._targets, self._targets_for, self.notes = targets, key, notes
            self._machines = machines
            return machines

    async def _in_thread(self, what: str, fn: Callable[[], Any]) -> Any:
        """A vagrant read within the `vagrant` deadline; a vagrant that hangs (a provider
        stuck on a lock) is left to end on its own, never waited for."""
        seconds = deadlines.current().vagrant
        try:
            return await deadlines.in_thread(fn, seconds, f"vagrant {what}")
        except deadlines.DeadlineExceeded:
            message = f"vagrant {what} in {self.root} did not answer within {seconds:g} s"
            deadlines.note_unanswered(message)
            raise Unreachable(message) from None

    @property
    def last_duration(self) -> float:
        return self._last_duration

    def targets(self) -> dict[str, SshTarget]:
        return dict(self._targets)

    def metas(self, machines: list[Machine]) -> list[HostMeta]:
        return apply_overrides(
            (meta_from_name(m.name) for m in machines), self._overrides, "fabrictui.toml"
        )

    async def list_hosts(self, force: bool = False) -> list[Host]:
        machines = await self.refresh(force)
        hosts = []
        for machine, meta in zip(machines, self.metas(machines), strict=True):
            target = self._targets.get(machine.name)
            hosts.append(
                Host(
                    name=machine.name,
                    role=meta.role,
                    rack=meta.rack,
                    state=machine.state,
                    provider=machine.provider,
                    ssh_endpoint=target.endpoint if target else "",
                    address=meta.address,
                    asn=meta.asn,
                )
            )
        return hosts

    # -- actions ---------------------------------------------------------------------

    async def vm_action(self, host: str, action: str) -> AsyncIterator[str]:
        """`vagrant up|halt|reload HOST`, yielding output lines as they come."""
        if action not in VM_ACTIONS:
            raise BackendError(f"unknown VM action {action!r} (up, halt or reload)")
        machines = self._machines if self._machines is not None else await self.refresh()
        if host.startswith("-") or all(m.name != host for m in machines):
            raise BackendError(f"{host}: no such machine in {self.root}")
        err = _StderrFile()
        try:
            yield f"$ vagrant {action} {host}"
            if action == "halt":
                # python-vagrant's halt() does not stream: report start and end. A halt
                # that outlasts the vagrant deadline is said, and left to finish by itself
                await self._in_thread(f"halt {host}", lambda: self._client(err).halt(vm_name=host))
                yield f"{host} halted"
            else:

                def make() -> Iterator[str]:
                    client = self._client(err)
                    method = client.up if action == "up" else client.reload
                    return method(vm_name=host, stream_output=True)

                async for line in _iterate_in_thread(make):
                    yield line
        except subprocess.CalledProcessError as exc:
            raise _failure(f"vagrant {action} {host}", exc, err) from None
        except FileNotFoundError:
            raise BackendError("vagrant is not installed (no `vagrant` on PATH)") from None
        finally:
            err.remove()
            self._last_started = 0.0  # states changed: next refresh asks vagrant again


def _failure(what: str, exc: subprocess.CalledProcessError, err: _StderrFile) -> BackendError:
    """A failed vagrant call, in vagrant's own words when it gave any."""
    out = exc.output or b""
    text = out.decode("utf-8", errors="replace") if isinstance(out, bytes) else str(out)
    words = machine_readable_error(text) or err.message()
    if not words:
        return BackendError(f"{what} failed: exit status {exc.returncode}")
    if len(words) > _MESSAGE_LIMIT:
        words = words[: _MESSAGE_LIMIT - 1] + "…"
    return BackendError(f"vagrant: {words} ({what} failed, exit status {exc.returncode})")


# Vagrant explains an error in a paragraph; the reason is in its first few sentences.
_MESSAGE_LIMIT = 400

# Lines of a streamed `vagrant up/reload` waiting for the event loop. When the queue
# is full the reading thread waits and stops reading vagrant's stdout, so once the
# pipe's buffer is full vagrant itself blocks on its next write: nothing is dropped,
# and a consumer that falls behind slows vagrant down instead of growing memory.
LINE_QUEUE_SIZE = 256


async def _iterate_in_thread(
    make: Callable[[], Iterator[str]], queue_size: int = LINE_QUEUE_SIZE
) -> AsyncIterator[str]:
    """Consume a blocking line generator in a thread, yielding lines as they arrive,
    through a queue of at most `queue_size` entries (see LINE_QUEUE_SIZE). When the
    consumer stops early, the thread stops waiting for room and ends."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, object]] = asyncio.Queue(maxsize=queue_size)
    stop = threading.Event()

    def put(item: tuple[str, object]) -> bool:
        """Hand `item` to the loop, waiting while the queue is full; False once the
        consumer has gone (the item is then not delivered)."""
        try:
            future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
        except RuntimeError:  # the loop is closed
            return False
        while True:
            try:
                future.result(timeout=0.25)
                return True
            except FutureTimeout:
                if stop.is_set():
                    future.cancel()
                    return False
            except CancelledError:
                return False

    def work() -> None:
        try:
            for line in make():
                if not put(("line", line)) or stop.is_set():
                    return
            put(("done", None))
        except BaseException as exc:  # handed to the consumer, re-raised there
            put(("error", exc))

    # a daemon thread of its own, not the loop's default executor, whose shutdown joins it:
    # a vagrant that never ends must not keep fabrictui from ending (docs/deadlines.md)
    threading.Thread(target=work, name="fabrictui-vagrant-lines", daemon=True).start()
    try:
        while True:
            kind, value = await queue.get()
            if kind == "line":
                yield str(value).rstrip("\r\n")
            elif kind == "error":
                assert isinstance(value, BaseException)
                raise value
            else:
                break
    finally:
        stop.set()
