"""Switch platform detection and BGP reads over SSH (asyncssh test servers that
run commands through /bin/sh with stand-in vtysh/net on PATH)."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fabrictui.backends.real.ssh import SshPool, SshTarget
from fabrictui.backends.real.switches import (
    NCLU_JSON,
    VTYSH_JSON,
    SwitchReader,
    platform_from_probe,
)
from tests._paths import TEST_DATA
from tests._sshd import ShellServer, free_port

DATA = TEST_DATA / "bgp"


def fake_cli(bin_dir: Path, name: str, output: Path | None, exit_status: int = 0) -> None:
    """A stand-in CLI that logs its argv and prints a fixture."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    body = f'printf "%s\\n" "$*" >> {bin_dir}/calls\n'
    if output is not None:
        body += f"cat {output}\n"
    else:
        body += 'echo "failed to connect to any daemons." >&2\n'
    body += f"exit {exit_status}\n"
    script = bin_dir / name
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)


def test_platform_from_probe() -> None:
    frr = platform_from_probe("uid=0\nvtysh=/usr/bin/vtysh\n")
    assert (frr.name, frr.sudo, frr.commands[0]) == ("frr", False, VTYSH_JSON)
    cumulus = platform_from_probe("uid=1000\nvtysh=/usr/bin/vtysh\nnet=/usr/bin/net\n")
    assert (cumulus.name, cumulus.sudo) == ("nclu", True)
    assert cumulus.commands[:2] == (VTYSH_JSON, NCLU_JSON)
    assert platform_from_probe("uid=1000\nvtysh=/x\nnet=/y\nnv=/z\n").name == "nvue"
    nothing = platform_from_probe("uid=1000\n")
    assert nothing.sudo and nothing.commands


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[dict[str, ShellServer]]:
    base_path = "/usr/bin:/bin"
    layouts = {
        "spine-sw1": [("vtysh", DATA / "frr-8.4-show-bgp-vrf-default-summary.json", 0)],
        "leaf1": [("net", DATA / "nclu-leaf1-show-bgp-summary.json", 0)],
        "spine-sw2": [("vtysh", None, 1)],
    }
    servers: dict[str, ShellServer] = {}
    for name, clis in layouts.items():
        home = tmp_path / name
        home.mkdir()
        for cli, output, status in clis:
            fake_cli(home / "bin", cli, output, status)
        env = {"PATH": f"{home / 'bin'}:{base_path}", "HOME": str(home)}
        server = ShellServer(home, env=env)
        await server.start()
        server.known_hosts()
        servers[name] = server
    yield servers
    for server in servers.values():
        await server.stop()


def targets(servers: dict[str, ShellServer]) -> list[SshTarget]:
    result = [
        SshTarget(
            name,
            "127.0.0.1",
            s.port,
            user="t",
            identity_files=(str(s.client_key_path),),
            known_hosts=(str(s.tmp / "known_hosts"),),
        )
        for name, s in servers.items()
    ]
    result.append(SshTarget("leaf2", "127.0.0.1", free_port(), user="t"))
    return result


async def test_read_all_switches_concurrently(servers: dict[str, ShellServer]) -> None:
    pool = SshPool(targets(servers), connect_timeout=2.0)
    reader = SwitchReader(pool)
    try:
        started = time.monotonic()
        readings = {
            r.switch: r for r in await reader.read_all(["spine-sw1", "leaf1", "spine-sw2", "leaf2"])
        }
        elapsed = time.monotonic() - started
        sw1 = readings["spine-sw1"]
        assert sw1.error is None and sw1.summary is not None and sw1.summary.peers
        assert reader.platform("spine-sw1").name == "frr"  # type: ignore[union-attr]
        leaf1 = readings["leaf1"]
        assert leaf1.error is None and leaf1.summary is not None
        assert any(p.established for p in leaf1.summary.peers)
        assert reader.platform("leaf1").name == "nclu"  # type: ignore[union-attr]
        sw2 = readings["spine-sw2"]
        assert sw2.summary is None and "failed to connect to any daemons" in (sw2.error or "")
        leaf2 = readings["leaf2"]
        assert leaf2.summary is None and "cannot connect" in (leaf2.error or "")
        assert all("\n" not in (r.error or "") for r in readings.values())
        assert elapsed < 3.0
        # The JSON command went out exactly as intended, one-shot after the vtysh
        # session (plain `vtysh`, no arguments) failed: this test server has no terminal.
        calls = (servers["spine-sw1"].tmp / "bin" / "calls").read_text().splitlines()
        assert sorted(calls) == ["", "-c show bgp vrf default summary json"]
        assert reader.session_reads == 0
        # A second read reuses detection and the command that worked.
        before = len(servers["leaf1"].commands)
        await reader.read("leaf1")
        assert len(servers["leaf1"].commands) == before + 1
        assert servers["leaf1"].commands[-1].endswith("net show bgp summary json")
    finally:
        await pool.close()
    assert os.path.exists(servers["leaf1"].tmp / "bin" / "calls")
