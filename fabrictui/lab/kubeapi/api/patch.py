"""JSON merge patch, a practical strategic merge patch, and JSON patch.

The strategic merge here knows the list merge keys of the fields that
workloads and kubectl's three-way patches touch (containers, env, ports,
volumes, conditions ...) by field name, which is what makes `kubectl apply`
and `kubectl scale` behave. Other lists are replaced, as in a merge patch.
Directives kubectl emits (`$setElementOrder/…`, `$retainKeys`, `$patch`,
`$deleteFromPrimitiveList/…`) are honoured or dropped.
"""

from __future__ import annotations

import copy
from typing import Any

from fabrictui.lab.kubeapi.errors import ApiError

MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "hostAliases": "ip",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
    "addresses": "type",
}
# primitive lists with patchStrategy merge
MERGED_PRIMITIVE_LISTS = {"finalizers"}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _ports_key(items: list[Any]) -> str | None:
    for item in items:
        if isinstance(item, dict):
            if "containerPort" in item:
                return "containerPort"
            if "port" in item:
                return "port"
    return None


def _merge_list(field: str, target: list[Any], patch: list[Any]) -> list[Any]:
    key = MERGE_KEYS.get(field)
    if field == "ports":
        key = _ports_key(patch) or _ports_key(target)
    if key is None:
        if field in MERGED_PRIMITIVE_LISTS:
            out = list(target)
            out.extend(v for v in patch if v not in out)
            return out
        return [strip_directives(v) for v in patch if not _is_delete(v)]
    result = [copy.deepcopy(v) for v in target]
    for item in patch:
        if not isinstance(item, dict):
            continue
        ident = item.get(key)
        index = next(
            (i for i, v in enumerate(result) if isinstance(v, dict) and v.get(key) == ident),
            None,
        )
        if _is_delete(item):
            if index is not None:
                del result[index]
            continue
        if item.get("$patch") == "replace":
            item = {k: v for k, v in item.items() if k != "$patch"}
            if index is None:
                result.append(strip_directives(item))
            else:
                result[index] = strip_directives(item)
            continue
        if index is None:
            result.append(strip_directives(item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result


def _is_delete(item: Any) -> bool:
    return isinstance(item, dict) and item.get("$patch") == "delete"


def strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: strip_directives(v)
            for k, v in value.items()
            if not k.startswith("$") and v is not None
        }
    if isinstance(value, list):
        return [strip_directives(v) for v in value if not _is_delete(v)]
    return value


def strategic_merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return strip_directives({k: v for k, v in patch.items() if k != "$patch"})
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            current = result.get(key)
            result[key] = _merge_list(key, current if isinstance(current, list) else [], value)
        elif isinstance(value, dict):
            result[key] = strategic_merge(result.get(key), value)
        else:
            result[key] = value
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _container(doc: Any, parts: list[str]) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, parts[-1]


def json_patch(target: Any, ops: list[dict[str, Any]]) -> Any:
    """RFC 6902 (add, remove, replace, test, copy, move)."""
    doc = copy.deepcopy(target)
    try:
        for op in ops:
            kind, parts = op["op"], _pointer(op["path"])
            if kind == "test":
                node, last = _container(doc, parts)
                actual = node[int(last)] if isinstance(node, list) else node[last]
                if actual != op["value"]:
                    raise ApiError(422, f"test failed at {op['path']}")
                continue
            if kind in ("copy", "move"):
                src_node, src_last = _container(doc, _pointer(op["from"]))
                value = (
                    src_node[int(src_last)] if isinstance(src_node, list) else src_node[src_last]
                )
                if kind == "move":
                    if isinstance(src_node, list):
                        del src_node[int(src_last)]
                    else:
                        del src_node[src_last]
                kind, op = "add", {"value": copy.deepcopy(value)}
            if not parts:
                doc = copy.deepcopy(op["value"])
                continue
            node, last = _container(doc, parts)
            if kind == "add":
                if isinstance(node, list):
                    index = len(node) if last == "-" else int(last)
                    node.insert(index, copy.deepcopy(op["value"]))
                else:
                    node[last] = copy.deepcopy(op["value"])
            elif kind == "remove":
                if isinstance(node, list):
                    del node[int(last)]
                else:
                    del node[last]
            elif kind == "replace":
                if isinstance(node, list):
                    node[int(last)] = copy.deepcopy(op["value"])
                else:
                    if last not in node:
                        raise ApiError(422, f"replace of missing path {op['path']}")
                    node[last] = copy.deepcopy(op["value"])
            else:
                raise ApiError(422, f"unknown JSON patch op {kind!r}")
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise ApiError(422, f"JSON patch failed: {exc}") from exc
    return doc
