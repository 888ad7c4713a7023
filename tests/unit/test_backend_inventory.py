"""Inventories (rehearsal inventory.json, hand-written TOML/JSON), fabrictui.toml
overrides, lab selection, and hostile names coming from an inventory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from fabrictui.backends.base import BackendError
from fabrictui.backends.real.backend import RealLabBackend, expected_sessions, ssh_argv_for
from fabrictui.backends.real.inventory import load_inventory_file, load_rehearsal
from fabrictui.backends.real.ssh import SshTarget, parse_jump
from fabrictui.backends.select import open_backend
from fabrictui.model import Role

REHEARSAL = {
    "format": "fabrictui-inventory/1",
    "name": "rehearsal",
    "kind": "rehearsal",
    "lab_id": "a1b2c3",
    "ssh_config": "ssh_config",
    "known_hosts": "known_hosts",
    "kubeconfig": "kubeconfig",
    "pod_pool": "10.64.0.0/12",
    "vni": 4096,
    "vxlan_port": 4789,
    "hosts": [
        {
            "name": "spine-sw1",
            "role": "spine",
            "rack": None,
            "asn": 65001,
            "address": "172.16.255.1",
            "platform": "frr",
            "ssh": {"host": "127.0.0.1", "port": 40001, "user": "root", "identity_file": "keys/k"},
        },
        {
            "name": "leaf1",
            "role": "leaf",
            "rack": 1,
            "asn": 65101,
            "address": "172.16.255.101",
            "ssh": {"host": "127.0.0.1", "port": 40002, "user": "root", "identity_file": "keys/k"},
        },
        {
            "name": "k8s-node-l1-1",
            "role": "worker",
            "rack": 1,
            "address": "10.0.101.101",
            "ssh": {"host": "127.0.0.1", "port": 40003, "user": "root", "identity_file": "keys/k"},
        },
    ],
    "links": [
        {
            "a": "spine-sw1",
            "a_port": "swp1",
            "a_ip": "172.16.0.0/31",
            "b": "leaf1",
            "b_port": "swp51",
            "b_ip": "172.16.0.1/31",
        }
    ],
    "kube_api": {"host": "127.0.0.1", "port": 40443},
}


def test_rehearsal_inventory(tmp_path: Path) -> None:
    (tmp_path / "inventory.json").write_text(json.dumps(REHEARSAL))
    (tmp_path / "fabrictui.toml").write_text('[hosts.k8s-node-l1-1]\naddress = "10.9.9.9"\n')
    inv = load_rehearsal(tmp_path)
    assert inv.kind == "rehearsal" and inv.lab_id == "a1b2c3"
    assert [m.name for m in inv.hosts] == ["spine-sw1", "leaf1", "k8s-node-l1-1"]
    assert inv.host("spine-sw1").asn == 65001 and inv.host("spine-sw1").platform == "frr"
    assert inv.host("k8s-node-l1-1").address == "10.9.9.9"  # override
    t = inv.targets["leaf1"]
    assert (t.host, t.port, t.user) == ("127.0.0.1", 40002, "root")
    assert t.identity_files == (str(tmp_path / "keys/k"),) and t.identities_only
    assert t.known_hosts == (str(tmp_path / "known_hosts"),) and t.check_host_key
    assert inv.kubeconfig == tmp_path / "kubeconfig"
    assert expected_sessions(list(inv.hosts)) == (("leaf1", "spine-sw1"),)
    peers = dict(RealLabBackend.for_inventory(inv).info().peer_addresses)
    assert peers["172.16.0.0"] == "spine-sw1" and peers["172.16.0.1"] == "leaf1"
    assert peers["172.16.255.101"] == "leaf1"


def test_rehearsal_inventory_rejects_other_formats(tmp_path: Path) -> None:
    (tmp_path / "inventory.json").write_text(json.dumps({**REHEARSAL, "format": "x/9"}))
    with pytest.raises(BackendError, match="not a fabrictui inventory"):
        load_rehearsal(tmp_path)
    (tmp_path / "inventory.json").write_text("{not json")
    with pytest.raises(BackendError, match="cannot read"):
        load_rehearsal(tmp_path)


HAND_WRITTEN = """\
name = "bench"
kubeconfig = "~/.kube/bench"
known_hosts = "lab_known_hosts"
jump = "ops@bastion.example:2222"

[[hosts]]
name = "leaf1"
host = "192.0.2.11"
user = "cumulus"
key = "keys/lab"
role = "leaf"
rack = 1

[[hosts]]
name = "spine01"
host = "192.0.2.1"
port = 2201
user = "cumulus"

[[hosts]]
name = "k8s-node-l2-1"
ssh = { host = "192.0.2.21", user = "vagrant" }
"""


def test_hand_written_toml_inventory(tmp_path: Path) -> None:
    path = tmp_path / "inventory.toml"
    path.write_text(HAND_WRITTEN)
    inv = load_inventory_file(path)
    assert (inv.name, inv.kind, inv.jump) == ("bench", "inventory", "ops@bastion.example:2222")
    roles = {m.name: (m.role, m.rack) for m in inv.hosts}
    assert roles == {
        "leaf1": (Role.LEAF, 1),
        "spine01": (Role.SPINE, None),
        "k8s-node-l2-1": (Role.WORKER, 2),
    }
    assert inv.targets["spine01"].port == 2201
    assert inv.targets["leaf1"].known_hosts == (str(tmp_path / "lab_known_hosts"),)
    assert inv.targets["k8s-node-l2-1"].user == "vagrant"
    backend = open_backend(
        argparse.Namespace(demo=None, lab=str(tmp_path), kubeconfig=None, context=None, jump=None)
    )
    assert isinstance(backend, RealLabBackend) and backend.kind == "inventory"
    assert backend.jump == "ops@bastion.example:2222"
    argv = backend.ssh_command("spine01")
    assert argv is not None
    assert argv[:3] == ["ssh", "-p", "2201"]
    assert argv[-3:] == ["-J", "ops@bastion.example:2222", "cumulus@192.0.2.1"]


def test_json_inventory_file_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "lab.json"
    path.write_text(json.dumps({"hosts": [{"name": "leaf1", "host": "192.0.2.11"}]}))
    assert load_inventory_file(path).targets["leaf1"].port == 22
    bad_cases = {
        "no hosts listed": {"hosts": []},
        "listed twice": {"hosts": [{"name": "a", "host": "h"}, {"name": "a", "host": "h"}]},
        "bad ssh port": {"hosts": [{"name": "a", "host": "h", "port": 0}]},
        "needs a name": {"hosts": [{"name": "-oProxyCommand=x", "host": "h"}]},
        "bad ssh host": {"hosts": [{"name": "a", "host": "-oProxyCommand=touch /tmp/x"}]},
        "role must be one of": {"hosts": [{"name": "a", "host": "h", "role": "router"}]},
    }
    for message, data in bad_cases.items():
        path.write_text(json.dumps(data))
        with pytest.raises(BackendError, match=message):
            load_inventory_file(path)


def test_hostile_names_stay_names(tmp_path: Path) -> None:
    hostile = ["space1;reboot", "$(id)", "`id`", "a\nb", "ü" * 300]
    path = tmp_path / "lab.json"
    path.write_text(
        json.dumps({"hosts": [{"name": n, "host": "127.0.0.1", "port": 2222} for n in hostile]})
    )
    inv = load_inventory_file(path)
    assert [m.name for m in inv.hosts] == hostile
    for name in hostile:
        argv = ssh_argv_for(inv.targets[name])
        # The name is a key, never part of what runs: the ssh argv holds only the endpoint.
        assert all(name not in arg for arg in argv)


def test_select_errors(tmp_path: Path) -> None:
    args = argparse.Namespace(
        demo=None, lab=str(tmp_path), kubeconfig=None, context=None, jump=None
    )
    with pytest.raises(BackendError, match="not a lab"):
        open_backend(args)
    args.lab = str(tmp_path / "missing")
    with pytest.raises(BackendError, match="no such directory"):
        open_backend(args)
    (tmp_path / "Vagrantfile").write_text("")
    args.lab = str(tmp_path)
    backend = open_backend(args)
    assert isinstance(backend, RealLabBackend) and backend.kind == "vagrant"


def test_targets_refuse_option_like_values() -> None:
    with pytest.raises(ValueError):
        SshTarget("x", "-oProxyCommand=id")
    with pytest.raises(ValueError):
        SshTarget("x", "h", user="-l")
    with pytest.raises(BackendError):
        parse_jump("-oProxyCommand=id")


async def test_kubeconfig_fetched_from_master_and_tunnelled(tmp_path: Path) -> None:
    """No kubeconfig given: read the master's over SSH and reach its API through
    an SSH forward (here the API is a fake one on 127.0.0.1)."""
    from tests._fakeapi import FakeApi
    from tests._sshd import ShellServer

    api = FakeApi()
    token = "tunnel-token-7c2e9f"
    api.handler = lambda path, query, headers: (
        200,
        json.dumps({"metadata": {"resourceVersion": "1"}, "items": []}).encode(),
        False,
    )
    admin_conf = tmp_path / "admin.conf"
    admin_conf.write_text(
        f"""\
apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "http://127.0.0.1:{api.port}"}}}}]
users: [{{name: u, user: {{token: {token}}}}}]
contexts: [{{name: k, context: {{cluster: c, user: u}}}}]
current-context: k
"""
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sudo = bin_dir / "sudo"
    sudo.write_text('#!/bin/sh\n[ "$1" = -n ] && shift; [ "$1" = -- ] && shift; exec "$@"\n')
    sudo.chmod(0o755)
    server = ShellServer(tmp_path, env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)})
    await server.start()
    known = server.known_hosts()
    inv_path = tmp_path / "lab.json"
    inv_path.write_text(
        json.dumps(
            {
                "hosts": [
                    {
                        "name": "k8s-master-l1-1",
                        "host": "127.0.0.1",
                        "port": server.port,
                        "user": "vagrant",
                        "key": str(server.client_key_path),
                        "known_hosts": str(known),
                    }
                ]
            }
        )
    )
    backend = RealLabBackend.for_inventory(load_inventory_file(inv_path))
    backend.kube.kubeconfig = None  # as on a jump host with no kubeconfig at all
    backend.master_kubeconfigs = (str(admin_conf),)
    try:
        assert await backend.list_nodes() == []
        assert set(server.forwards) == {("127.0.0.1", api.port)}
        assert any(cmd.endswith(f"cat {admin_conf}") for cmd in server.commands)
        assert api.requests and all(r[3] == f"Bearer {token}" for r in api.requests)
        assert backend.kube.server_override is not None
        assert backend.kube.server_override.startswith("http://127.0.0.1:")
        # The tunnel is reused, not rebuilt, for the next call.
        tunnel = backend._tunnel
        await backend.list_pods()
        assert backend._tunnel is tunnel
    finally:
        await backend.close()
        await server.stop()
        api.stop()
