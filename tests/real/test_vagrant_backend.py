"""The Vagrant backend against a Vagrant project holding the reference lab's nine
machine names (real `vagrant`, nothing is brought up)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabrictui.backends.base import BackendError
from fabrictui.backends.real.inventory import rack_from_name, role_from_name
from fabrictui.backends.real.vagrant import Machine, VagrantLab, _iterate_in_thread, vm_state
from fabrictui.model import Role, VmState
from tests._paths import TEST_DATA
from tests._require import require

NAMES = [
    "spine-sw1",
    "spine-sw2",
    "leaf1",
    "leaf2",
    "k8s-master-l1-1",
    "k8s-node-l1-1",
    "k8s-node-l1-2",
    "k8s-node-l2-1",
    "k8s-node-l2-2",
]

EXPECTED = {
    "spine-sw1": (Role.SPINE, None),
    "spine-sw2": (Role.SPINE, None),
    "leaf1": (Role.LEAF, 1),
    "leaf2": (Role.LEAF, 2),
    "k8s-master-l1-1": (Role.MASTER, 1),
    "k8s-node-l1-1": (Role.WORKER, 1),
    "k8s-node-l1-2": (Role.WORKER, 1),
    "k8s-node-l2-1": (Role.WORKER, 2),
    "k8s-node-l2-2": (Role.WORKER, 2),
}


def write_project(root: Path) -> None:
    machines = "\n".join(
        f'  config.vm.define "{name}" do |m|\n    m.vm.hostname = "{name}"\n  end' for name in NAMES
    )
    (root / "Vagrantfile").write_text(
        'Vagrant.configure("2") do |config|\n'
        '  config.vm.box = "generic/debian12"\n'
        f"{machines}\n"
        "end\n"
    )


def test_roles_and_racks_from_names() -> None:
    for name, (role, rack) in EXPECTED.items():
        assert (role_from_name(name), rack_from_name(name)) == (role, rack), name
    assert role_from_name("router") is Role.OTHER
    assert vm_state("shutoff") is VmState.POWEROFF
    assert vm_state("something-new") is VmState.UNKNOWN


@pytest.mark.slow
async def test_nine_machines_not_created(tmp_path: Path) -> None:
    require("vagrant")
    write_project(tmp_path)
    (tmp_path / "fabrictui.toml").write_text(
        '[hosts.k8s-master-l1-1]\naddress = "10.0.101.100"\n[hosts.spine-sw2]\nrack = 9\n'
    )
    lab = VagrantLab(tmp_path)
    started = time.monotonic()
    hosts = await lab.list_hosts()
    first_call = time.monotonic() - started
    assert [h.name for h in hosts] == NAMES
    for host in hosts:
        role, rack = EXPECTED[host.name]
        if host.name == "spine-sw2":
            rack = 9  # fabrictui.toml override
        assert (host.role, host.rack) == (role, rack), host.name
        assert host.state is VmState.NOT_CREATED
        assert host.ssh_endpoint == ""
        assert host.provider
    master = next(h for h in hosts if h.name == "k8s-master-l1-1")
    assert master.address == "10.0.101.100"
    # Not created machines are a note, not an error.
    assert lab.notes and "9 machine(s)" in lab.notes[0]
    assert lab.targets() == {}

    # Rate limit: asking again at once answers from the cache, without vagrant.
    started = time.monotonic()
    again = await lab.list_hosts()
    assert time.monotonic() - started < 0.1
    assert again == hosts
    assert lab.last_duration >= 0.0
    print(f"vagrant status + ssh-config for 9 machines: {first_call:.2f}s")


@pytest.mark.slow
async def test_vm_action_on_unknown_machine_is_refused(tmp_path: Path) -> None:
    require("vagrant")
    write_project(tmp_path)
    lab = VagrantLab(tmp_path)
    with pytest.raises(BackendError, match="no such machine"):
        async for _ in lab.vm_action("--force", "halt"):
            pass
    with pytest.raises(BackendError, match="unknown VM action"):
        async for _ in lab.vm_action("leaf1", "destroy"):
            pass


@pytest.mark.slow
async def test_halt_of_not_created_machine_streams_and_ends(tmp_path: Path) -> None:
    require("vagrant")
    write_project(tmp_path)
    lab = VagrantLab(tmp_path)
    lines = [line async for line in lab.vm_action("leaf1", "halt")]
    assert lines[0] == "$ vagrant halt leaf1"


def test_bad_override_is_a_backend_error(tmp_path: Path) -> None:
    (tmp_path / "fabrictui.toml").write_text("[hosts.leaf1]\nrole = 'router'\n")
    lab = VagrantLab(tmp_path)
    with pytest.raises(BackendError, match="role must be one of"):
        lab.metas([Machine("leaf1", VmState.RUNNING, "libvirt")])
    (tmp_path / "fabrictui.toml").write_text("[hosts.leaf1\n")
    with pytest.raises(BackendError, match="cannot read"):
        VagrantLab(tmp_path)


STUB = """#!/bin/sh
# A stand-in for vagrant: machine-readable status, ssh-config, streamed up.
echo "$*" >> {log}
case "$1" in
  status)
    printf '%s\\n' 1,leaf1,provider-name,libvirt 1,leaf1,state,running \\
      1,spine-sw1,provider-name,libvirt 1,spine-sw1,state,not_created ;;
  ssh-config)
    if [ -z "$2" ] || [ "$2" = leaf1 ]; then
      cat <<EOC
Host leaf1
  HostName 127.0.0.1
  User {user}
  Port {port}
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no
  IdentityFile {key}
  IdentitiesOnly yes
  LogLevel FATAL

EOC
    fi
    if [ -z "$2" ]; then
      echo "The provider for this Vagrant-managed machine is reporting that it" >&2
      exit 1
    fi ;;
  up)
    for step in "Bringing machine up" "Waiting for SSH" "Machine booted"; do
      echo "==> $2: $step"
    done ;;
  halt) echo "==> $2: Attempting graceful shutdown" ;;
  *) echo "stub: $*" >&2; exit 1 ;;
esac
"""


async def test_vagrant_forward_reached_without_host_key_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A stand-in `vagrant` whose ssh-config points at a real sshd on 127.0.0.1 the
    way Vagrant does (StrictHostKeyChecking no, known hosts /dev/null)."""
    import logging

    from fabrictui.backends.real.backend import RealLabBackend
    from tests._sshd import SSHD, RealSshd

    require(SSHD, "OpenSSH server (/usr/sbin/sshd) is not installed")
    sshd_dir = tmp_path / "sshd"
    sshd_dir.mkdir()
    sshd = RealSshd(sshd_dir)
    sshd.start()
    try:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        calls = tmp_path / "calls"
        stub = bin_dir / "vagrant"
        stub.write_text(
            STUB.format(log=calls, user=sshd.user, port=sshd.port, key=sshd.client_key_path)
        )
        stub.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
        project = tmp_path / "project"
        project.mkdir()
        (project / "Vagrantfile").write_text("")
        caplog.set_level(logging.WARNING, logger="fabrictui.backends.real.ssh")

        backend = RealLabBackend.for_vagrant(project)
        try:
            await backend.start()
            hosts = {h.name: h for h in await backend.list_hosts()}
            assert hosts["leaf1"].state is VmState.RUNNING
            assert hosts["leaf1"].ssh_endpoint == f"{sshd.user}@127.0.0.1:{sshd.port}"
            assert hosts["spine-sw1"].ssh_endpoint == ""
            assert backend.info().expected_sessions == (("leaf1", "spine-sw1"),)
            result = await backend.pool.run("leaf1", ["echo", "inside"])
            assert result.stdout == "inside\n"
            reading = await backend.bgp_summary("spine-sw1")
            assert reading.error and "no SSH endpoint" in reading.error
            argv = backend.ssh_command("leaf1")
            assert argv is not None and "StrictHostKeyChecking=no" in argv
            lines = [line async for line in backend.vm_action("leaf1", "up")]
            assert lines == [
                "$ vagrant up leaf1",
                "==> leaf1: Bringing machine up",
                "==> leaf1: Waiting for SSH",
                "==> leaf1: Machine booted",
            ]
        finally:
            await backend.close()
        warnings = [r.getMessage() for r in caplog.records if "NOT checked" in r.getMessage()]
        assert len(warnings) == 1 and "leaf1" in warnings[0]
        invocations = calls.read_text().splitlines()
        # One ssh-config for all machines (its output before the failure is used),
        # status once at start and once after `up`, never once per poll.
        assert invocations == [
            "status --machine-readable",
            "ssh-config",
            "up leaf1",
            "status --machine-readable",
        ]
    finally:
        sshd.kill()


# --- vagrant's own words when it fails -----------------------------------------------------

DATA = TEST_DATA / "vagrant"


def fake_vagrant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> Path:
    """A stand-in `vagrant` on PATH running `script` (sh); returns a project dir."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "vagrant"
    stub.write_text("#!/bin/sh\n" + script)
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    project = tmp_path / "project"
    project.mkdir()
    (project / "Vagrantfile").write_text("")
    return project


def assert_one_line_of_vagrants_words(message: str) -> None:
    assert message.startswith("vagrant: ")
    assert "\n" not in message and "\\n" not in message and "VAGRANT_COMMA" not in message
    assert "exit status 1" in message  # as context, after vagrant's words


@pytest.mark.slow
async def test_status_failure_carries_vagrants_own_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real vagrant, a provider that does not exist: `vagrant status` exits 1 with its
    reason only in the machine-readable output (stderr is empty)."""
    require("vagrant")
    write_project(tmp_path)
    monkeypatch.setenv("VAGRANT_DEFAULT_PROVIDER", "fabrictui-no-such-provider")
    lab = VagrantLab(tmp_path)
    with pytest.raises(BackendError) as caught:
        await lab.list_hosts()
    message = str(caught.value)
    assert_one_line_of_vagrants_words(message)
    assert message.startswith(
        "vagrant: The provider 'fabrictui-no-such-provider' could not be found, but was "
        "requested to back the machine 'spine-sw1'. Please use a provider that exists."
    )
    assert f"(vagrant status in {tmp_path} failed, exit status 1)" in message


async def test_status_failure_recorded_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = DATA / "vagrant-2.3.4-status-machine-readable-provider-not-usable.txt"
    project = fake_vagrant(tmp_path, monkeypatch, f"cat '{recorded}'\nexit 1\n")
    with pytest.raises(BackendError) as caught:
        await VagrantLab(project).list_hosts()
    message = str(caught.value)
    assert_one_line_of_vagrants_words(message)
    assert "The provider 'virtualbox' that was requested to back the machine 'leaf1'" in message
    assert "Vagrant could not detect VirtualBox!" in message
    words, _, context = message.partition(" (vagrant status in ")
    assert len(words) <= len("vagrant: ") + 400 and words.endswith("…")  # a paragraph, cut
    assert context == f"{project} failed, exit status 1)"


async def test_failure_without_machine_readable_words_uses_stderr_then_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = fake_vagrant(
        tmp_path,
        monkeypatch,
        'echo "Vagrant failed to initialize:" >&2\necho "  bad" >&2\nexit 3\n',
    )
    with pytest.raises(BackendError, match=r"^vagrant: Vagrant failed to initialize: bad \("):
        await VagrantLab(project).list_hosts()
    quiet = tmp_path / "quiet"
    quiet.mkdir()
    project = fake_vagrant(quiet, monkeypatch, "exit 3\n")
    with pytest.raises(BackendError, match=r"^vagrant status in .* failed: exit status 3$"):
        await VagrantLab(project).list_hosts()


async def test_bad_ssh_config_names_the_machine_and_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = (
        'case "$1" in\n'
        "  status) echo 1,leaf1,state,running ;;\n"
        "  ssh-config) printf 'Host leaf1\\n  HostName 127.0.0.1\\n  Port 22O2\\n' ;;\n"
        "esac\n"
    )
    project = fake_vagrant(tmp_path, monkeypatch, script)
    with pytest.raises(BackendError) as caught:
        await VagrantLab(project).list_hosts()
    assert str(caught.value) == (
        f"vagrant ssh-config in {project}: leaf1: line 3: Port '22O2' is not a TCP port"
    )


# --- streamed output: bounded between the thread and the event loop -------------------------


async def test_streamed_lines_go_through_a_bounded_queue() -> None:
    produced = 0
    finished = threading.Event()

    def make() -> Iterator[str]:
        def lines() -> Iterator[str]:
            nonlocal produced
            try:
                for i in range(10_000):
                    produced += 1
                    yield f"line {i}\n"
            finally:
                finished.set()

        return lines()

    seen = []
    async with contextlib.aclosing(_iterate_in_thread(make, queue_size=4)) as stream:
        async for line in stream:
            seen.append(line)
            await asyncio.sleep(0.001)  # a consumer slower than the producer
            # The queue's 4, one waiting for room, one just handed over: no more.
            assert produced - len(seen) <= 6
            if len(seen) == 50:
                break
    assert seen == [f"line {i}" for i in range(50)]
    # The consumer gone, the thread stops waiting for room and ends.
    assert await asyncio.to_thread(finished.wait, 2.0)
    assert produced <= 56
