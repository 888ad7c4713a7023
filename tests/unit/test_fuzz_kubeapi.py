"""Properties of the lab API's pure parts: patches, selectors, block allocation
and the store's watch history.

Profiles: "ci" (300 examples a test, the default) and "long" (10,000):
FABRICTUI_FUZZ=long pytest tests/unit/test_fuzz_kubeapi.py
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fabrictui.lab.calico_dataplane import allocate_block
from fabrictui.lab.kubeapi.api.patch import json_patch, merge_patch, strategic_merge
from fabrictui.lab.kubeapi.errors import ApiError
from fabrictui.lab.kubeapi.selection import field_selector, label_selector
from fabrictui.lab.kubeapi.store import Store
from tests._fuzz import fuzz_settings

keys = st.sampled_from(["a", "b", "c", "spec", "metadata", "replicas", "x"])
scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(keys, json_values, max_size=5)
# patches without lists: strategic merge must then agree with a JSON merge patch
list_free = st.recursive(
    scalars, lambda inner: st.dictionaries(keys, inner, max_size=4), max_leaves=12
)


@fuzz_settings()
@given(json_objects, json_objects)
def test_merge_patch_is_idempotent(target: dict[str, Any], patch: dict[str, Any]) -> None:
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once


@fuzz_settings()
@given(json_objects, st.dictionaries(keys, list_free, max_size=5))
def test_strategic_merge_without_lists_is_a_merge_patch(
    target: dict[str, Any], patch: dict[str, Any]
) -> None:
    assert strategic_merge(target, patch) == merge_patch(target, patch)


names = st.sampled_from(["nginx", "sidecar", "init", "calico-node"])
containers = st.lists(
    st.fixed_dictionaries({"name": names}, optional={"image": st.text(max_size=4)}),
    max_size=4,
    unique_by=lambda c: c["name"],
)


@fuzz_settings()
@given(containers, containers)
def test_containers_merge_by_name(live: list[dict[str, Any]], patch: list[dict[str, Any]]) -> None:
    merged = strategic_merge({"containers": live}, {"containers": patch})["containers"]
    merged_names = [c["name"] for c in merged]
    assert len(merged_names) == len(set(merged_names))
    assert set(merged_names) == {c["name"] for c in live} | {c["name"] for c in patch}
    by_name = {c["name"]: c for c in merged}
    for item in patch:
        for field, value in item.items():
            assert by_name[item["name"]][field] == value
    assert strategic_merge({"containers": merged}, {"containers": patch})["containers"] == merged


ops = st.lists(
    st.fixed_dictionaries(
        {
            "op": st.sampled_from(["add", "remove", "replace", "test", "copy", "move", "bogus"]),
            "path": st.sampled_from(["", "/a", "/a/0", "/a/-", "/spec/x", "/b~1c", "a"]),
        },
        optional={"value": json_values, "from": st.sampled_from(["/a", "/spec", "/zz"])},
    ),
    max_size=4,
)


@fuzz_settings()
@given(json_objects, ops)
def test_json_patch_fails_only_with_api_errors(target: dict[str, Any], patch: list[Any]) -> None:
    try:
        json_patch(target, patch)
    except ApiError as err:
        assert err.code == 422


@fuzz_settings()
@given(st.text(max_size=30))
def test_selectors_fail_only_with_api_errors(text: str) -> None:
    obj = {"metadata": {"name": "p", "labels": {"app": "nginx"}}, "spec": {}}
    for parse in (label_selector, field_selector):
        try:
            result = parse(text)(obj)
        except ApiError as err:
            assert err.code == 400
        else:
            assert isinstance(result, bool)


label_keys = st.sampled_from(["app", "tier", "k8s-app", "node-role.kubernetes.io/master"])
label_values = st.text(alphabet="abcxyz-1", min_size=1, max_size=4)


@fuzz_settings()
@given(st.dictionaries(label_keys, label_values, min_size=1), st.data())
def test_selector_of_own_labels_matches(labels: dict[str, str], data: st.DataObject) -> None:
    chosen = data.draw(st.lists(st.sampled_from(sorted(labels)), min_size=1, unique=True))
    obj = {"metadata": {"labels": labels}}
    assert label_selector(",".join(f"{k}={labels[k]}" for k in chosen))(obj)
    assert label_selector(",".join(chosen))(obj)
    assert not label_selector(",".join(f"!{k}" for k in chosen))(obj)
    assert not label_selector(f"{chosen[0]} notin ({labels[chosen[0]]})")(obj)


@fuzz_settings()
@given(
    st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=20, unique=True),
    st.sampled_from(["10.64.0.0/12", "10.200.0.0/22", "172.31.0.0/24"]),
)
def test_blocks_are_distinct_26s_of_the_pool(nodes: list[str], pool: str) -> None:
    net = ipaddress.ip_network(pool)
    capacity = 1 << (26 - net.prefixlen)
    taken: list[str] = []
    for node in nodes:
        if len(taken) == capacity:
            with pytest.raises(RuntimeError):
                allocate_block(pool, node, taken)
            return
        block = ipaddress.ip_network(allocate_block(pool, node, taken))
        assert block.prefixlen == 26 and block.subnet_of(net)
        assert str(block) not in taken
        taken.append(str(block))


store_ops = st.lists(
    st.tuples(st.sampled_from(["create", "update", "delete"]), st.sampled_from("abcd")),
    max_size=25,
)


@fuzz_settings()
@given(store_ops, st.data())
def test_watch_replay_rebuilds_the_present(
    operations: list[tuple[str, str]], data: st.DataObject
) -> None:
    """Applying the events after any resourceVersion to the state at that version
    gives the current state (what a resumed watch relies on)."""
    store = Store()
    snapshots = {store.resource_version: {}}
    for op, name in operations:
        try:
            if op == "create":
                store.create("configmaps", {"metadata": {"name": name, "namespace": "ns"}})
            elif op == "update":
                obj = store.require("configmaps", "ns", name)
                obj["data"] = {"n": str(store.resource_version)}
                store.update("configmaps", obj)
            else:
                store.delete("configmaps", "ns", name)
        except ApiError:
            continue
        snapshots[store.resource_version] = {
            o["metadata"]["name"]: o["metadata"]["resourceVersion"]
            for o in store.list("configmaps")
        }
    since = data.draw(st.sampled_from(sorted(snapshots)))
    watcher, replay = store.watch("configmaps", "ns", since)
    state = dict(snapshots[since])
    for event in replay:
        name = event.obj["metadata"]["name"]
        if event.type == "DELETED":
            state.pop(name)
        else:
            state[name] = event.obj["metadata"]["resourceVersion"]
    store.stop_watch(watcher)
    assert state == snapshots[store.resource_version]
