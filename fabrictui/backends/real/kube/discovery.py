"""What the API server says about itself, read before anything is applied: `/version`,
the legacy discovery documents (`/api`, `/apis`) and the resource lists of the group
versions a manifest uses. Blocking calls on an ApiClient (the client runs them in a
thread); the choices made from them are pure (`intent/releases.py`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from fabrictui.backends.base import BackendError
from fabrictui.intent.releases import ServerFacts, facts_from_documents


def get_json(
    what: str, call: Callable[..., Any], timeout: tuple[float, float], *args: str
) -> dict[str, Any] | None:
    """A discovery document through the client's typed call (raw JSON, auth as for every
    call); None on 404 (what a server answers for a group version it lacks)."""
    from kubernetes.client.exceptions import ApiException

    try:
        resp = call(*args, _preload_content=False, _request_timeout=timeout)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    try:
        data = json.loads(resp.data)
    except (ValueError, TypeError):
        raise BackendError(f"GET {what}: the API answered something that is not JSON") from None
    return data if isinstance(data, dict) else {}


def resource_kinds(api: Any, group_version: str, timeout: tuple[float, float]) -> frozenset[str]:
    from kubernetes import client

    if "/" in group_version:
        group, version = group_version.split("/", 1)
        call = client.CustomObjectsApi(api).get_api_resources
        doc = get_json(f"/apis/{group_version}", call, timeout, group, version)
    elif group_version == "v1":
        doc = get_json("/api/v1", client.CoreV1Api(api).get_api_resources, timeout)
    else:
        doc = None
    return frozenset(
        str(r["kind"])
        for r in (doc or {}).get("resources") or ()
        if isinstance(r, dict) and r.get("kind") and "/" not in str(r.get("name", ""))
    )


def read_server_facts(
    api: Any, timeout: tuple[float, float], group_versions: Iterable[str] = ()
) -> ServerFacts:
    """The server's version and served group versions, with the kinds of `group_versions`
    (those it serves) for checking a manifest."""
    from kubernetes import client

    version = get_json("/version", client.VersionApi(api).get_code, timeout)
    if version is None:
        raise BackendError("the API server answers no /version: is this Kubernetes?")
    core = get_json("/api", client.CoreApi(api).get_api_versions, timeout) or {}
    groups = get_json("/apis", client.ApisApi(api).get_api_versions, timeout) or {}
    try:
        facts = facts_from_documents(version, core, groups)
    except ValueError as exc:
        raise BackendError(str(exc)) from None
    wanted = sorted({gv for gv in group_versions if facts.serves(gv)})
    kinds = {gv: resource_kinds(api, gv, timeout) for gv in wanted}
    return ServerFacts(facts.version, facts.git_version, facts.group_versions, kinds)
