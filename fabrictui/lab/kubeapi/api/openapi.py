"""The least OpenAPI kubectl needs.

kubectl validates manifests (`--validate=strict`, the default) by asking the
OpenAPI v3 document of each group version whether the PATCH operation of a
kind accepts the `fieldValidation` query parameter; when it does, kubectl
leaves validation to the server and sends `fieldValidation=Strict`. So the v3
documents here list, for every kind, its paths with the operations and the
`x-kubernetes-group-version-kind` extension, and no schemas. Without schemas
kubectl computes strategic merge patches from its compiled-in types, as it
does for servers without OpenAPI. `/openapi/v2` answers an empty document.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fabrictui.constants import KUBE_VERSION
from fabrictui.lab.kubeapi.resources import Registry, ResourceType

Obj = dict[str, Any]

_QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _operation(rt: ResourceType, version: str, verb: str) -> Obj:
    return {
        "operationId": f"{verb}{rt.kind}",
        "parameters": [
            {"name": p, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
            for p in _QUERY_PARAMS
        ],
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": verb,
        "x-kubernetes-group-version-kind": {
            "group": rt.group,
            "version": version,
            "kind": rt.kind,
        },
    }


def openapi_v3_group(registry: Registry, tail: str) -> Obj | None:
    parts = tail.split("/")
    if parts[0] == "api" and len(parts) == 2:
        group, version = "", parts[1]
    elif parts[0] == "apis" and len(parts) == 3:
        group, version = parts[1], parts[2]
    else:
        return None
    types = registry.in_group_version(group, version)
    if not types:
        return None
    paths: Obj = {}
    prefix = "/" + _gv_path(group, version)
    for rt in types:
        base = (
            f"{prefix}/namespaces/{{namespace}}/{rt.plural}"
            if rt.namespaced
            else (f"{prefix}/{rt.plural}")
        )
        paths[base] = {"post": _operation(rt, version, "post")}
        paths[base + "/{name}"] = {
            "get": _operation(rt, version, "get"),
            "put": _operation(rt, version, "put"),
            "patch": _operation(rt, version, "patch"),
            "delete": _operation(rt, version, "delete"),
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "fabrictui rehearsal lab", "version": KUBE_VERSION},
        "paths": paths,
        "components": {"schemas": {}},
    }


def openapi_v3_index(registry: Registry) -> Obj:
    paths: Obj = {}
    seen: set[tuple[str, str]] = set()
    for rt in registry.types.values():
        for version in rt.versions:
            if (rt.group, version) in seen:
                continue
            seen.add((rt.group, version))
            tail = _gv_path(rt.group, version)
            doc = openapi_v3_group(registry, tail)
            digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
            paths[tail] = {"serverRelativeURL": f"/openapi/v3/{tail}?hash={digest.upper()}"}
    return {"paths": dict(sorted(paths.items()))}


def openapi_v2(accept: str) -> tuple[bytes, str]:
    """An empty Swagger document; as protobuf that is zero bytes."""
    if "protobuf" in accept:
        return b"", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    doc = {"swagger": "2.0", "info": {"title": "fabrictui rehearsal lab", "version": KUBE_VERSION},
           "paths": {}, "definitions": {}}  # fmt: skip
    return json.dumps(doc).encode(), "application/json"
