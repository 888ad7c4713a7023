"""Bad input to the real backends' pure parts: only the documented error escapes.

ssh configs and inventories raise only BackendError; API objects of any shape
convert without raising (the API is not ours to trust). FABRICTUI_FUZZ=long
runs 10,000 examples per test.
"""

from __future__ import annotations

import contextlib
import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from fabrictui.backends.base import BackendError
from fabrictui.backends.real.inventory import load_inventory_file
from fabrictui.backends.real.kube.manifests import load_calico_manifest
from fabrictui.backends.real.ssh import parse_jump, targets_from_ssh_config
from fabrictui.backends.real.switches import platform_from_probe
from fabrictui.parsers.kube import node_from_api, pod_from_api
from tests._fuzz import fuzz_settings

SETTINGS = fuzz_settings(HealthCheck.function_scoped_fixture)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)

KEYS = [
    "Host", "HostName", "Port", "User", "IdentityFile", "IdentitiesOnly",
    "UserKnownHostsFile", "StrictHostKeyChecking", "ProxyJump", "LogLevel",
]  # fmt: skip
config_line = st.one_of(
    st.tuples(st.sampled_from(KEYS), st.text(max_size=30)).map(lambda kv: f"  {kv[0]} {kv[1]}"),
    st.text(max_size=40),
)


@SETTINGS
@given(st.lists(config_line, max_size=12))
def test_ssh_config_raises_only_backend_error(lines: list[str]) -> None:
    try:
        targets = targets_from_ssh_config("\n".join(lines), "fuzz", source="vagrant")
    except BackendError:
        return
    for target in targets.values():
        assert 0 < target.port < 65536
        assert not target.host.startswith("-")


@SETTINGS
@given(st.text(alphabet=string.printable, max_size=40))
def test_jump_spec_raises_only_backend_error(spec: str) -> None:
    try:
        target = parse_jump(spec)
    except BackendError:
        return
    assert target.host and not target.host.startswith("-")


host_entry = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.text(max_size=10), json_values),
        "host": st.one_of(st.just("127.0.0.1"), json_values),
        "port": st.one_of(st.integers(-5, 70000), json_values),
        "user": json_values,
        "key": json_values,
        "role": st.one_of(st.sampled_from(["leaf", "spine", "worker", "x"]), json_values),
        "rack": json_values,
        "address": json_values,
        "asn": json_values,
        "ssh": json_values,
        "known_hosts": json_values,
    },
)
inventory_doc = st.fixed_dictionaries(
    {},
    optional={
        "hosts": st.one_of(st.lists(host_entry, max_size=4), json_values),
        "name": json_values,
        "kubeconfig": json_values,
        "known_hosts": json_values,
        "vni": json_values,
        "vxlan_port": json_values,
        "pod_pool": json_values,
        "links": json_values,
        "jump": json_values,
    },
)


valid_hosts = st.lists(
    st.fixed_dictionaries(
        {"name": st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True), "host": st.just("h")}
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda h: h["name"],
)
inventory_with_hosts = st.tuples(inventory_doc, valid_hosts).map(
    lambda pair: {**pair[0], "hosts": pair[1]}
)


@SETTINGS
@given(st.one_of(inventory_doc, inventory_with_hosts, json_values))
def test_inventory_raises_only_backend_error(tmp_path_factory: Any, doc: Any) -> None:
    path = Path(tmp_path_factory.mktemp("inv")) / "lab.json"
    path.write_text(json.dumps(doc))
    with contextlib.suppress(BackendError):
        load_inventory_file(path)


@SETTINGS
@given(st.binary(max_size=200))
def test_inventory_bytes_raise_only_backend_error(tmp_path_factory: Any, data: bytes) -> None:
    directory = Path(tmp_path_factory.mktemp("inv"))
    for name in ("lab.json", "lab.toml"):
        (directory / name).write_bytes(data)
        with contextlib.suppress(BackendError):
            load_inventory_file(directory / name)


api_object = st.dictionaries(
    st.sampled_from(["metadata", "spec", "status", "kind"]),
    st.one_of(
        json_values,
        st.dictionaries(
            st.sampled_from(
                [
                    "name", "namespace", "labels", "annotations", "ownerReferences",
                    "creationTimestamp", "deletionTimestamp", "containers", "initContainers",
                    "nodeName", "phase", "reason", "podIP", "conditions", "addresses",
                    "containerStatuses", "initContainerStatuses", "nodeInfo", "uid",
                ]
            ),
            json_values,
            max_size=6,
        ),
    ),
    max_size=4,
)  # fmt: skip


@SETTINGS
@given(api_object)
def test_api_objects_of_any_shape_convert(obj: dict[str, Any]) -> None:
    pod_from_api(obj)
    node_from_api(obj)


@SETTINGS
@given(st.text(max_size=200))
def test_platform_probe_any_output(text: str) -> None:
    platform = platform_from_probe(text)
    assert platform.commands


@SETTINGS
@given(st.text(max_size=300))
def test_calico_manifest_any_text(tmp_path_factory: Any, text: str) -> None:
    path = Path(tmp_path_factory.mktemp("m")) / "calico.yaml"
    path.write_text(text)
    with contextlib.suppress(BackendError):
        load_calico_manifest("10.64.0.0/12", path)


@SETTINGS
@given(st.lists(config_line, max_size=12))
def test_inventory_ssh_config_raises_only_backend_error(
    tmp_path_factory: Any, lines: list[str]
) -> None:
    directory = Path(tmp_path_factory.mktemp("inv"))
    (directory / "ssh_config").write_text("\n".join(lines))
    path = directory / "lab.json"
    path.write_text(json.dumps({"hosts": [{"name": "leaf1"}], "ssh_config": "ssh_config"}))
    with contextlib.suppress(BackendError):
        load_inventory_file(path)


def test_inventory_bad_ssh_config_names_file_host_and_line(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host leaf1\n  HostName 192.0.2.11\n  Port 22a\n")
    path = tmp_path / "lab.json"
    path.write_text(json.dumps({"hosts": [{"name": "leaf1"}], "ssh_config": "ssh_config"}))
    with pytest.raises(BackendError) as caught:
        load_inventory_file(path)
    assert str(caught.value) == f"{config}: leaf1: line 3: Port '22a' is not a TCP port"
    config.write_text("Host leaf1\n  HostName 192.0.2.11\n  Port 22\n")
    assert load_inventory_file(path).ssh_config == config
