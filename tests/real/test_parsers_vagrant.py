"""Vagrant machine-readable status and ssh-config parsing (tests/data/vagrant/)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fabrictui.model import VmState
from fabrictui.parsers import ParseError
from fabrictui.parsers.vagrant import (
    MachineStatus,
    SshHostConfig,
    decode_machine_readable,
    machine_readable_error,
    parse_machine_readable,
    parse_machine_readable_status,
    parse_ssh_config,
)
from tests._paths import TEST_DATA
from tests._require import require

DATA = TEST_DATA / "vagrant"
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


def load(name: str) -> str:
    return (DATA / name).read_text()


def test_real_status_not_created() -> None:
    machines = parse_machine_readable_status(
        load("vagrant-2.3.4-status-machine-readable-not-created.txt")
    )
    assert machines == [MachineStatus(name, "not_created", "libvirt") for name in NAMES]
    assert {m.vm_state for m in machines} == {VmState.NOT_CREATED}
    name, state, provider = machines[0]  # still a plain tuple
    assert (name, state, provider) == ("spine-sw1", "not_created", "libvirt")


def test_mixed_states_virtualbox() -> None:
    machines = parse_machine_readable_status(
        load("vagrant-2.3.4-status-machine-readable-mixed-virtualbox.txt")
    )
    assert [m.name for m in machines] == NAMES
    assert {m.name: m.state for m in machines if m.state != "running"} == {
        "spine-sw2": "poweroff",
        "k8s-node-l1-1": "aborted",
        "k8s-node-l2-2": "saved",
    }
    assert {m.provider for m in machines} == {"virtualbox"}
    assert machines[1].vm_state is VmState.POWEROFF


def test_unknown_state_maps_to_unknown() -> None:
    text = "1,box,state,gurru_meditation\n"
    (machine,) = parse_machine_readable_status(text)
    assert (machine.state, machine.provider, machine.vm_state) == (
        "gurru_meditation",
        "",
        VmState.UNKNOWN,
    )


def test_escapes_are_decoded() -> None:
    records = parse_machine_readable(load("vagrant-2.3.4-status-machine-readable-not-created.txt"))
    (ui,) = [r for r in records if r.type == "ui"]
    assert ui.data[0] == "info"
    message = ui.data[1]
    assert "VM, run `vagrant status NAME`." in message
    assert message.startswith("Current machine states:\n\nspine-sw1 ")
    assert decode_machine_readable("a%!(VAGRANT_COMMA)b\\nc") == "a,b\nc"


def test_error_exit_is_a_parse_error_with_vagrants_message() -> None:
    with pytest.raises(ParseError, match=r"SSHNotReady.*not yet ready for SSH"):
        parse_machine_readable_status(
            load("vagrant-2.3.4-ssh-config-machine-readable-not-ready.txt")
        )


def test_noise_lines_are_skipped() -> None:
    text = "Vagrant warning: plugin x is deprecated\n1,leaf1,state,running\n"
    assert parse_machine_readable_status(text) == [MachineStatus("leaf1", "running", "")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not vagrant machine-readable"),
        ("Current machine states:\n\nleaf1  running (virtualbox)\n", "not vagrant"),
        ("1,,ui,info,hello\n", "lists no machines"),
        ("1,leaf1,metadata,provider,virtualbox\n", "no state for leaf1"),
        ("1,leaf 1,state,running\n", "not a Vagrant machine name"),
        ("1,leaf1,state,Running Now\n", "not a Vagrant state"),
    ],
)
def test_status_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_machine_readable_status(text)


def test_real_vagrant_status(tmp_path: Path) -> None:
    """Run Debian's vagrant on a Vagrantfile with the reference machine names
    (nothing is created: status only)."""
    require("vagrant")
    defines = "\n".join(f'  config.vm.define "{name}"' for name in NAMES)
    (tmp_path / "Vagrantfile").write_text(
        'Vagrant.configure("2") do |config|\n'
        f'  config.vm.box = "generic/debian12"\n{defines}\nend\n'
    )
    env = {**os.environ, "VAGRANT_CHECKPOINT_DISABLE": "1", "VAGRANT_NO_COLOR": "1"}
    proc = subprocess.run(
        ["vagrant", "status", "--machine-readable"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    machines = parse_machine_readable_status(proc.stdout)
    assert [m.name for m in machines] == NAMES
    assert {m.state for m in machines} == {"not_created"}
    assert all(m.provider for m in machines)


# --- ssh-config ---------------------------------------------------------------------


def test_ssh_config_nine_machines() -> None:
    hosts = parse_ssh_config(load("vagrant-2.3.4-ssh-config-9-machines.txt"))
    assert list(hosts) == NAMES
    assert [h.port for h in hosts.values()] == list(range(2222, 2231))
    assert hosts["spine-sw1"] == SshHostConfig(
        host="spine-sw1",
        hostname="127.0.0.1",
        port=2222,
        user="vagrant",
        identity_files=(
            "/home/user/calico-cumulus/.vagrant/machines/spine-sw1/virtualbox/private_key",
        ),
        user_known_hosts_file="/dev/null",
        strict_host_key_checking="no",
        identities_only=True,
        proxy_jump=None,
        proxy_command=None,
        options=(("passwordauthentication", "no"), ("loglevel", "FATAL")),
    )
    assert hosts["leaf1"].identity_files == (
        "/home/user/calico-cumulus/.vagrant/machines/leaf1/virtualbox/private_key",
        "/home/user/vagrant keys/insecure_private_key",
    )
    assert hosts["k8s-node-l2-2"].proxy_command == "ssh -W %h:%p -q jump@127.0.0.1"
    assert hosts["leaf1"].option("LogLevel") == "FATAL"


def test_ssh_config_syntax_variants() -> None:
    text = (
        "# written by hand\n"
        "Host a b\n"
        "  hostname=127.0.0.1\n"
        "  PORT 2200\n"
        "  ProxyJump jump@127.0.0.1:2201\n"
        "  Port 9999\n"
        "Host a\n"
        "  Port 1\n"
    )
    hosts = parse_ssh_config(text)
    assert hosts["a"] == hosts["b"].__class__(**{**_fields(hosts["b"]), "host": "a"})
    assert (hosts["a"].hostname, hosts["a"].port, hosts["a"].proxy_jump) == (
        "127.0.0.1",
        2200,
        "jump@127.0.0.1:2201",
    )


def _fields(config: SshHostConfig) -> dict[str, object]:
    return {name: getattr(config, name) for name in SshHostConfig.__slots__}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no Host blocks"),
        ("  HostName 127.0.0.1\n", "before any Host"),
        ("Host\n", "Host without a name"),
        ("Host a\n  Port\n", "without a value"),
        ("Host a\n  Port 70000\n", "not a TCP port"),
        ("Host a\n  Port twenty\n", "not a TCP port"),
        ('Host a\n  IdentityFile "/tmp/x\n', "unterminated quote"),
        ("Host a\n  IdentitiesOnly maybe\n", "yes/no"),
        ("Host a\n  -- not an option\n", "not an ssh_config option"),
        ("Host a/b\n", "not a host name"),
    ],
)
def test_ssh_config_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_ssh_config(text)


def test_ssh_config_patterns_apply_in_order_first_value_wins() -> None:
    text = (
        "Host leaf*\n"
        "  User cumulus\n"
        "  IdentityFile /keys/leaf\n"
        "Host leaf1 leaf2 spine1\n"
        "  HostName 127.0.0.1\n"
        "  User vagrant\n"
        "  IdentityFile /keys/own\n"
        "Host * !spine?\n"
        "  Port 2200\n"
        "  UserKnownHostsFile /a/known /b/known\n"
    )
    hosts = parse_ssh_config(text)
    assert list(hosts) == ["leaf1", "leaf2", "spine1"]  # patterns give settings, not hosts
    leaf1, spine1 = hosts["leaf1"], hosts["spine1"]
    assert (leaf1.user, leaf1.port, leaf1.hostname) == ("cumulus", 2200, "127.0.0.1")
    assert leaf1.identity_files == ("/keys/leaf", "/keys/own")  # accumulates, as in ssh
    assert leaf1.user_known_hosts_file == "/a/known"
    assert leaf1.user_known_hosts_files == ("/a/known", "/b/known")
    assert (spine1.user, spine1.port, spine1.identity_files) == ("vagrant", None, ("/keys/own",))
    # Where each value came from, for errors found after parsing.
    assert (leaf1.line_of("user"), leaf1.line_of("port"), leaf1.line_of("host")) == (2, 9, 4)
    assert spine1.line_of("proxyjump") == 4  # not set: the Host line


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Host a\n  User x\n  Port twenty\n", r"^a: line 3: Port 'twenty' is not a TCP port$"),
        ("Host *\n  Port 0\nHost b\n", r"^b: line 2: Port '0' is not a TCP port$"),
        ("Host a b\n  User x\n  = y\n", r"^Host a b: line 3: '= y' is not an ssh_config option$"),
        ("Host a\n  IdentityFile\n", r"^Host a: line 2: IdentityFile without a value$"),
        ("Host a\n  Match all\n", r"^line 2: Match is not supported"),
        ("Include ~/.ssh/other\nHost a\n", r"^line 1: Include is not supported"),
        ("Host * leaf?\n  User x\n", "names no host"),
    ],
)
def test_ssh_config_errors_name_the_host_and_the_line(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_ssh_config(text)


# --- vagrant's own error messages -------------------------------------------------------


def test_machine_readable_error_from_recorded_failures() -> None:
    """Real `vagrant status --machine-readable` of a Vagrantfile whose provider is not
    usable (VirtualBox without VBoxManage) or does not exist: the message is in
    stdout, stderr is empty, the exit status is 1."""
    words = machine_readable_error(
        load("vagrant-2.3.4-status-machine-readable-provider-not-usable.txt")
    )
    assert words is not None
    assert words.startswith(
        "The provider 'virtualbox' that was requested to back the machine 'leaf1' is "
        "reporting that it isn't usable on this system."
    )
    assert "Vagrant could not detect VirtualBox!" in words
    assert "ships with VirtualBox, and requires this" in words  # %!(VAGRANT_COMMA), \n
    assert "\n" not in words and "\\n" not in words and "VAGRANT_COMMA" not in words
    words = machine_readable_error(
        load("vagrant-2.3.4-status-machine-readable-provider-not-found.txt")
    )
    assert words is not None and words.startswith(
        "The provider 'nosuchprovider' could not be found, but was requested to back the "
        "machine 'leaf1'."
    )
    with pytest.raises(ParseError, match=r"ProviderNotUsable.*could not detect VirtualBox"):
        parse_machine_readable_status(
            load("vagrant-2.3.4-status-machine-readable-provider-not-usable.txt")
        )


def test_machine_readable_error_without_an_error() -> None:
    assert (
        machine_readable_error(load("vagrant-2.3.4-status-machine-readable-not-created.txt"))
        is None
    )
    assert machine_readable_error("") is None
    assert machine_readable_error("Vagrant failed to initialize\n") is None  # not records
    # A `ui,error` record alone still says why.
    assert machine_readable_error("1,,ui,error,Box 'x' not found%!(VAGRANT_COMMA) sorry\\n") == (
        "Box 'x' not found, sorry"
    )


def test_ssh_config_name_its_own_block_excludes() -> None:
    # ssh applies no block to it: a host with no settings, not an error or a crash.
    hosts = parse_ssh_config("Host leaf1 !leaf1\n  Port 2200\n")
    assert hosts == {"leaf1": SshHostConfig(host="leaf1")}
    assert hosts["leaf1"].line_of("port") == 1
