"""What the API server says about itself, read before anything is applied: `/version`,
the legacy discovery documents (`/api`, `/apis`) and the resource lists of the group
versions a manifest uses. Blocking calls on an ApiClient (the client runs them in a
thread); the choices made from them are pure (`intent/releases.py`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from fabrictui.backends.base import BackendError
from fabrictui.intent.releases import ServerFacts, facts_from_documents


def get_json(api: Any, path: str, timeout: tuple[float, float]) -> dict[str, Any] | None:
    """GET `path` as JSON; None on 404 (what a server that lacks it answers)."""
    from kubernetes.client.exceptions import ApiException

    method, url, headers, _body, _post = api.param_serialize(
        "GET", path, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"]
    )
    try:
        resp = api.call_api(method, url, header_params=headers, _request_timeout=timeout)
        resp.read()
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    if resp.status == 404:
        return None
    if not 200 <= resp.status < 300:
        raise ApiException(status=resp.status, reason=resp.reason)
    raw = resp.data
    try:
        data = json.loads(raw)
    except (ValueError, TypeError):
        raise BackendError(f"GET {path}: the API answered something that is not JSON") from None
    return data if isinstance(data, dict) else {}


def resource_kinds(api: Any, group_version: str, timeout: tuple[float, float]) -> frozenset[str]:
    path = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
    doc = get_json(api, path, timeout) or {}
    return frozenset(
        str(r["kind"])
        for r in doc.get("resources") or ()
        if isinstance(r, dict) and r.get("kind") and "/" not in str(r.get("name", ""))
    )


def read_server_facts(
    api: Any, timeout: tuple[float, float], group_versions: Iterable[str] = ()
) -> ServerFacts:
    """The server's version and served group versions, with the kinds of `group_versions`
    (those it serves) for checking a manifest."""
    version = get_json(api, "/version", timeout)
    if version is None:
        raise BackendError("the API server answers no /version: is this Kubernetes?")
    core = get_json(api, "/api", timeout) or {}
    groups = get_json(api, "/apis", timeout) or {}
    try:
        facts = facts_from_documents(version, core, groups)
    except ValueError as exc:
        raise BackendError(str(exc)) from None
    wanted = sorted({gv for gv in group_versions if facts.serves(gv)})
    kinds = {gv: resource_kinds(api, gv, timeout) for gv in wanted}
    return ServerFacts(facts.version, facts.git_version, facts.group_versions, kinds)
