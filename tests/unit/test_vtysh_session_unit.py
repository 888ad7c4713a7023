"""VtyshSession against an asyncssh test server on 127.0.0.1 that plays a prompt-based
CLI on a pseudo-terminal the way vtysh with readline does (banner, bracketed-paste
escapes, echo, CR LF line ends, a pager until `terminal length 0`), plus broken
variants: garbage, unsolicited output, a wrong echo, a CLI that exits or hangs.
No root, no FRR.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
import pytest

from fabrictui.backends.base import BackendError
from fabrictui.backends.real.ssh import SshPool, SshTarget
from fabrictui.backends.real.switches import DETECT_SCRIPT, SwitchReader
from fabrictui.backends.real.vtysh import (
    CommandRefused,
    SessionFailed,
    VtyshSession,
    VtyshSessions,
    clean_output,
    split_reply,
    strip_ansi,
)
from fabrictui.parsers.bgp import parse_bgp_summary
from tests._paths import TEST_DATA
from tests._sshd import write_known_hosts

DATA = TEST_DATA / "bgp"
SUMMARY_JSON = (DATA / "frr-8.4-show-bgp-vrf-default-summary.json").read_text()
SUMMARY_TEXT = (DATA / "frr-8.4-show-bgp-summary.txt").read_text()
LONG = "".join(f"line {i}\n" for i in range(60))  # longer than one page
OUTPUTS = {
    "show bgp vrf default summary json": SUMMARY_JSON,
    "show bgp summary json": SUMMARY_JSON,
    "show bgp summary": SUMMARY_TEXT,
    "show long": LONG,
    "show empty": "",
    "show utf8": "Description: caf\u00e9 \u2192 spine\n",
}
PAGE = 20
BP_ON, BP_OFF = b"\x1b[?2004h", b"\x1b[?2004l\r"  # readline's bracketed paste mode


def answer(command: str) -> str:
    if command in OUTPUTS:
        return OUTPUTS[command]
    return f"% Unknown command: {command}\n"


@dataclass
class Behaviour:
    """What the fake CLI does; tests change it between commands."""

    hostname: str = "sw1"
    banner: bytes = b"\r\nHello, this is FakeFRR (version 8.4.4).\r\n\r\n"
    garbage_after: str | None = None  # this command gets garbage and no prompt
    unsolicited_after: str | None = None  # after this command's prompt, more output
    wrong_echo_for: str | None = None
    exit_on: str | None = None  # the CLI exits (end of stream) on this command
    hang_on: str | None = None  # the CLI never answers this command
    lines: list[str] = field(default_factory=list)  # every line the CLI received
    oneshot: list[str] = field(default_factory=list)  # every `vtysh -c` run one-shot
    interactive: int = 0  # interactive CLIs started
    running: int = 0  # interactive CLIs still running
    term_types: list[str | None] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # every command line as received


class FakeSwitch:
    """asyncssh server: `vtysh` on a PTY is the fake CLI; exec commands are answered
    from OUTPUTS (platform probe, `vtysh -c CMD`)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.behaviour = Behaviour()
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key_path = tmp / "client_key"
        self.client_key.write_private_key(str(self.client_key_path))
        self.port = 0
        self._server: asyncssh.SSHAcceptor | None = None
        self.connections: list[asyncssh.SSHServerConnection] = []

    async def start(self) -> None:
        fake = self

        class _Server(asyncssh.SSHServer):
            def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
                fake.connections.append(conn)

        authorized = asyncssh.import_authorized_keys(self.client_key.export_public_key().decode())
        self._server = await asyncssh.create_server(
            _Server,
            "127.0.0.1",
            0,
            server_host_keys=[self.host_key],
            authorized_client_keys=authorized,
            process_factory=self._handle,
            encoding=None,
            line_editor=False,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        write_known_hosts(self.tmp / "known_hosts", self.port, self.host_key)

    def target(self, name: str = "sw1") -> SshTarget:
        return SshTarget(
            name,
            "127.0.0.1",
            self.port,
            user="t",
            identity_files=(str(self.client_key_path),),
            known_hosts=(str(self.tmp / "known_hosts"),),
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for conn in self.connections:
            conn.abort()

    async def _handle(self, process: asyncssh.SSHServerProcess) -> None:
        self.behaviour.commands.append(process.command or "")
        self.behaviour.term_types.append(process.term_type)
        argv = shlex.split(process.command or "")
        while argv[:1] in (["timeout"], ["sudo"]):  # the pool's wrappers
            argv = argv[4:] if argv[0] == "timeout" else argv[argv.index("--") + 1 :]
        b = self.behaviour
        if argv == ["sh", "-c", DETECT_SCRIPT]:
            process.stdout.write(b"uid=1000\nvtysh=/usr/bin/vtysh\n")
            process.exit(0)
        elif argv[:2] == ["vtysh", "-c"]:
            b.oneshot.append(argv[2])
            process.stdout.write(answer(argv[2]).encode())
            process.exit(0 if argv[2] in OUTPUTS else 1)
        elif argv == ["vtysh"] and process.term_type:
            b.interactive += 1
            b.running += 1
            try:
                await self._cli(process)
            finally:
                b.running -= 1
        else:
            process.stderr.write(f"fake switch: {argv}: not found\n".encode())
            process.exit(127)

    async def _cli(self, process: asyncssh.SSHServerProcess) -> None:
        b = self.behaviour
        out = process.stdout
        out.write(b.banner)
        page_length = PAGE
        while True:
            out.write(BP_ON + f"{b.hostname}# ".encode())
            line = b""
            while not line.endswith(b"\n"):
                try:
                    data = await process.stdin.read(1)
                except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged):
                    continue
                if not data:
                    return
                line += data
            command = line.decode().rstrip("\r\n")
            b.lines.append(command)
            echo = "X" + command if command == b.wrong_echo_for else command
            out.write(echo.encode() + BP_OFF + b"\r\n")
            if command == b.exit_on or command == "exit":
                process.exit(0)
                return
            if command in (b.hang_on, b.garbage_after):
                if command == b.garbage_after:
                    out.write(b"\x00\xff\xfe garbage \x1b[31m no prompt follows\r\n")
                # never answers again; ends when the client closes the channel
                with contextlib.suppress(asyncssh.Error, OSError):
                    while await process.stdin.read(1):
                        pass
                return
            if command == "terminal length 0":
                page_length = 0
                continue
            text = answer(command)
            lines = text.splitlines(keepends=True)
            if page_length and len(lines) > page_length:
                # a pager waits for a key after each page
                out.write("".join(lines[:page_length]).replace("\n", "\r\n").encode())
                out.write(b"--More--")
                await process.stdin.read(1)
                lines = lines[page_length:]
            out.write("".join(lines).replace("\n", "\r\n").encode())
            if command == b.unsolicited_after:
                out.write(BP_ON + f"{b.hostname}# ".encode() + b"\r\n% log: neighbor down\r\n")


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeSwitch]:
    server = FakeSwitch(tmp_path)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def pool(fake: FakeSwitch) -> AsyncIterator[SshPool]:
    p = SshPool([fake.target()], connect_timeout=2.0)
    yield p
    await p.close()


async def until(condition: Callable[[], bool], seconds: float = 3.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


# --- pure helpers -------------------------------------------------------------------------


def test_strip_ansi_and_clean_output() -> None:
    raw = b"\x1b[?2004hsw1# \x1b[1mbold\x1b[0m\x1b]0;title\x07 x\x1b=\r\nnext\r\n"
    assert strip_ansi(raw) == b"sw1# bold x\r\nnext\r\n"
    assert clean_output(b"a\r\nb\r\n\r\nc\rd") == b"a\nb\n\ncd"
    assert strip_ansi(b"no escapes") == b"no escapes"


def test_split_reply() -> None:
    prompt = b"leaf1# "
    reply = b"show x" + BP_OFF + b'\r\n{\r\n  "a":1\r\n}\r\n' + BP_ON + prompt
    assert split_reply("show x", reply, prompt) == b'{\n  "a":1\n}\n'
    assert split_reply("show x", b"show x\r\n" + prompt, prompt) == b""
    with pytest.raises(SessionFailed, match="out of step"):
        split_reply("show x", b"show y\r\nout\r\n" + prompt, prompt)
    with pytest.raises(SessionFailed, match="prompt"):
        split_reply("show x", b"show x\r\nout\r\n", prompt)


# --- SshPool.open_interactive ---------------------------------------------------------------


async def test_open_interactive_quotes_uses_a_terminal_and_holds_a_slot(fake: FakeSwitch) -> None:
    pool = SshPool([fake.target()], connect_timeout=2.0, max_sessions=1)
    seen: list[tuple[str, str]] = []
    pool.add_observer(lambda host, line: seen.append((host, line)))
    try:
        proc = await pool.open_interactive("sw1", ["vtysh", "-N", "a b; reboot"], sudo=True)
        assert fake.behaviour.commands == ["sudo -n -- vtysh -N 'a b; reboot'"]
        assert seen == [("sw1", "sudo -n -- vtysh -N 'a b; reboot'")]
        await proc.close()
        proc = await pool.open_interactive("sw1", ["vtysh"], term_type="vt100")
        assert await until(lambda: len(fake.behaviour.term_types) == 2)
        assert fake.behaviour.term_types == ["dumb", "vt100"]
        # the session holds the host's only slot: a command waits until it is closed
        waiting = asyncio.create_task(pool.run("sw1", ["vtysh", "-c", "show empty"]))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        proc.write(b"show utf8\n")
        await proc.close()
        assert (await asyncio.wait_for(waiting, 5.0)).ok
    finally:
        await pool.close()


# --- the session ----------------------------------------------------------------------------


async def test_prompt_paging_and_echo(fake: FakeSwitch, pool: SshPool) -> None:
    fake.behaviour.banner = b"\r\nwelcome \xff\xfe\x1b[32m (garbage in the banner)\x1b[0m\r\n"
    session = VtyshSession(pool, "sw1", sudo=True)
    try:
        await session.open()
        assert session.prompt == b"sw1# "
        assert fake.behaviour.lines == ["terminal length 0"]  # paging off, first thing
        assert fake.behaviour.term_types == ["dumb"]  # the interactive one; no exec before
        for command, expected in OUTPUTS.items():
            assert await session.run(command) == expected, command
        # long output arrives whole: without `terminal length 0` it would stop at --More--
        assert await session.run("show long") == LONG
        assert await session.run("show nothing") == "% Unknown command: show nothing\n"
        assert parse_bgp_summary(await session.run("show bgp summary json")).peers
        assert session.commands_run == len(OUTPUTS) + 3
        assert fake.behaviour.interactive == 1
    finally:
        await session.close()
    assert fake.behaviour.lines[-1] == "exit"
    assert await until(lambda: fake.behaviour.running == 0)


async def test_output_equals_the_one_shot_output(fake: FakeSwitch, pool: SshPool) -> None:
    session = VtyshSession(pool, "sw1")
    try:
        for command in [*OUTPUTS, "show nothing"]:
            oneshot = await pool.run("sw1", ["vtysh", "-c", command], sudo=True)
            assert await session.run(command) == oneshot.stdout
    finally:
        await session.close()


async def test_other_prompts(fake: FakeSwitch, pool: SshPool) -> None:
    fake.behaviour.hostname = "spine-sw1.lab"
    session = VtyshSession(pool, "sw1")
    try:
        assert await session.run("show bgp summary") == SUMMARY_TEXT
        assert session.prompt == b"spine-sw1.lab# "
    finally:
        await session.close()


async def test_concurrent_callers_are_serialized(fake: FakeSwitch, pool: SshPool) -> None:
    session = VtyshSession(pool, "sw1")
    commands = ["show bgp summary json", "show bgp summary", "show long", "show utf8"] * 10
    try:
        outputs = await asyncio.gather(*(session.run(c) for c in commands))
        assert outputs == [OUTPUTS[c] for c in commands]
        assert fake.behaviour.lines == ["terminal length 0", *commands]
    finally:
        await session.close()


async def test_commands_a_session_cannot_carry_are_refused(pool: SshPool) -> None:
    session = VtyshSession(pool, "sw1")
    try:
        for bad in ["", "show x\nshow y", "show ?", "configure terminal", "exit", "show\tbgp"]:
            with pytest.raises(CommandRefused):
                await session.run(bad)
        assert not session.is_open  # nothing was started for them
        assert await session.run("show empty") == ""
    finally:
        await session.close()


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("garbage_after", "timed out"),
        ("hang_on", "timed out"),
        ("exit_on", "end of stream"),
        ("wrong_echo_for", "out of step"),
    ],
)
async def test_a_broken_cli_closes_the_session(
    fake: FakeSwitch, pool: SshPool, what: str, message: str
) -> None:
    setattr(fake.behaviour, what, "show bgp summary")
    session = VtyshSession(pool, "sw1", command_timeout=0.5)
    try:
        assert await session.run("show empty") == ""
        with pytest.raises(BackendError, match=message) as caught:
            await session.run("show bgp summary")
        assert isinstance(caught.value, SessionFailed)
        assert "\n" not in str(caught.value)
        assert not session.is_open
        with pytest.raises(SessionFailed):
            await session.run("show empty")  # a failed session is never re-opened
        assert fake.behaviour.interactive == 1
    finally:
        await session.close()
    assert await until(lambda: fake.behaviour.running == 0)  # the channel was closed


async def test_unsolicited_output_is_caught_before_the_next_command(
    fake: FakeSwitch, pool: SshPool
) -> None:
    fake.behaviour.unsolicited_after = "show empty"
    session = VtyshSession(pool, "sw1", command_timeout=0.5)
    try:
        # the extra output after the prompt never ends in a prompt: this command fails,
        # or (when it arrived later) the next one does; never a wrong answer
        with contextlib.suppress(SessionFailed):
            assert await session.run("show empty") == ""
            await asyncio.sleep(0.05)
            await session.run("show utf8")
            pytest.fail("out-of-step session answered")
        assert not session.is_open
    finally:
        await session.close()


async def test_no_prompt_at_all(fake: FakeSwitch, pool: SshPool) -> None:
    fake.behaviour.hostname = "not a prompt"
    session = VtyshSession(pool, "sw1", open_timeout=0.5)
    with pytest.raises(SessionFailed, match="no vtysh prompt"):
        await session.run("show empty")
    assert await until(lambda: fake.behaviour.running == 0)
    await session.close()


# --- sessions per switch and the reader -----------------------------------------------------


async def test_sessions_back_off_after_a_failure(fake: FakeSwitch, pool: SshPool) -> None:
    sessions = VtyshSessions(pool, backoff_initial=0.3, backoff_max=1.0)
    try:
        assert await sessions.run("sw1", "show empty", 1.0) == ""
        fake.behaviour.exit_on = "show bgp summary"
        with pytest.raises(SessionFailed):
            await sessions.run("sw1", "show bgp summary", 1.0)
        assert not sessions.available("sw1")
        with pytest.raises(SessionFailed, match="backing off"):
            await sessions.run("sw1", "show empty", 1.0)
        fake.behaviour.exit_on = None
        assert await until(lambda: sessions.available("sw1"))
        assert await sessions.run("sw1", "show bgp summary", 1.0) == SUMMARY_TEXT
        assert sessions.opened == 2 and fake.behaviour.interactive == 2
    finally:
        await sessions.close()
    assert await until(lambda: fake.behaviour.running == 0)
    with pytest.raises(SessionFailed):  # closed: no new session
        await sessions.run("sw1", "show empty", 1.0)


async def test_reader_prefers_the_session_and_falls_back(fake: FakeSwitch, pool: SshPool) -> None:
    reader = SwitchReader(pool, timeout=1.0)
    reader.sessions.backoff_initial = 0.3
    try:
        for _ in range(3):
            reading = await reader.read("sw1")
            assert reading.error is None and reading.summary is not None
        assert (reader.session_reads, reader.oneshot_reads) == (3, 0)
        assert fake.behaviour.oneshot == [] and fake.behaviour.interactive == 1
        # the CLI hangs: the session times out (half the reader's timeout), one-shot answers
        fake.behaviour.hang_on = "show bgp vrf default summary json"
        reading = await reader.read("sw1")
        assert reading.error is None and reading.summary is not None
        assert (reader.session_reads, reader.oneshot_reads) == (3, 1)
        assert fake.behaviour.oneshot == ["show bgp vrf default summary json"]
        fake.behaviour.hang_on = None
        assert await until(lambda: reader.sessions.available("sw1"))
        reading = await reader.read("sw1")
        assert reading.error is None and (reader.session_reads, reader.oneshot_reads) == (4, 1)
        assert fake.behaviour.interactive == 2
        # sessions off: one-shot only
        reader.use_sessions = False
        await reader.read("sw1")
        assert (reader.session_reads, reader.oneshot_reads) == (4, 2)
    finally:
        await reader.close()
    assert await until(lambda: fake.behaviour.running == 0)
