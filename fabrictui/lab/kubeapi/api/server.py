"""The HTTPS front: authentication, discovery, CRUD, watch, patch, apply,
subresources (status, scale, exec, log) and Table output."""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import yaml
from aiohttp import web

from fabrictui.lab.kubeapi.api import discovery, tables
from fabrictui.lab.kubeapi.api.execws import handle_exec
from fabrictui.lab.kubeapi.api.logs import serve_log
from fabrictui.lab.kubeapi.api.openapi import openapi_v2, openapi_v3_group, openapi_v3_index
from fabrictui.lab.kubeapi.api.patch import json_patch, merge_patch, strategic_merge
from fabrictui.lab.kubeapi.api.watching import as_version, serve_watch, truthy, wants_table
from fabrictui.lab.kubeapi.cluster import Cluster
from fabrictui.lab.kubeapi.errors import ApiError
from fabrictui.lab.kubeapi.resources import ResourceType
from fabrictui.lab.kubeapi.selection import field_selector, label_selector
from fabrictui.lab.kubeapi.store import Store

log = logging.getLogger(__name__)
Obj = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ANONYMOUS = frozenset({"/version", "/version/", "/healthz", "/livez", "/readyz"})
CLUSTER_KEY: web.AppKey[Cluster] = web.AppKey("cluster", Cluster)
TOKEN_KEY: web.AppKey[str] = web.AppKey("token", str)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


@web.middleware
async def errors_and_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        if request.path not in ANONYMOUS:
            header = request.headers.get("Authorization", "")
            token = request.app[TOKEN_KEY]
            if not (
                header.startswith("Bearer ")
                and hmac.compare_digest(header[7:].strip().encode(), token.encode())
            ):
                raise ApiError(401, "Unauthorized")
        return await handler(request)
    except ApiError as err:
        return _json(err.status(), err.code)
    except web.HTTPException:
        raise
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception as exc:
        log.exception("%s %s failed", request.method, request.path)
        return _json(ApiError(500, f"internal error: {exc}").status(), 500)


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        raise ApiError(400, "the request has no body")
    ctype = request.content_type
    if "protobuf" in ctype or "cbor" in ctype:
        raise ApiError(
            415,
            f"the lab API reads JSON and YAML bodies only, not {ctype} "
            "(kubectl create/run send protobuf: use kubectl apply -f instead)",
        )
    try:
        if "yaml" in ctype:
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise ApiError(400, f"cannot decode the body ({ctype}): {exc}") from exc


async def _delete_dry_run(request: web.Request) -> bool:
    """dryRun from the query or from a DeleteOptions body (kubectl sends the latter)."""
    if request.query.get("dryRun"):
        return True
    raw = await request.read()
    if not raw:
        return False
    try:
        options = json.loads(raw)
    except ValueError:
        return False
    return bool(isinstance(options, dict) and options.get("dryRun"))


class Api:
    def __init__(self, cluster: Cluster, server_address: str) -> None:
        self.cluster = cluster
        self.server_address = server_address

    @property
    def store(self) -> Store:
        return self.cluster.store

    # -- discovery ---------------------------------------------------------------

    async def version(self, request: web.Request) -> web.Response:
        return _json(discovery.version_info(self.cluster.profile))

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def api_root(self, request: web.Request) -> web.Response:
        return _json(discovery.core_versions(self.server_address))

    async def apis_root(self, request: web.Request) -> web.Response:
        return _json(discovery.group_list(self.cluster.registry))

    async def openapi_v2(self, request: web.Request) -> web.Response:
        body, ctype = openapi_v2(request.headers.get("Accept", ""))
        return web.Response(body=body, content_type=ctype)

    async def openapi_v3(self, request: web.Request) -> web.Response:
        return _json(openapi_v3_index(self.cluster.registry))

    async def openapi_v3_gv(self, request: web.Request) -> web.Response:
        doc = openapi_v3_group(self.cluster.registry, request.match_info["tail"])
        if doc is None:
            raise ApiError(404, "no such group version")
        return _json(doc)

    # -- resources ---------------------------------------------------------------

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if parts[0] == "api":
            if len(parts) < 2:
                return await self.api_root(request)
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) < 2:
                return await self.apis_root(request)
            if len(parts) < 3:
                doc = discovery.group(self.cluster.registry, parts[1])
                if doc is None:
                    raise ApiError(404, "the server could not find the requested resource")
                return _json(doc)
            group, version, rest = parts[1], parts[2], parts[3:]
        registry = self.cluster.registry
        if not rest:
            doc = discovery.resource_list(registry, group, version)
            if doc is None:
                raise ApiError(404, "the server could not find the requested resource")
            return _json(doc)
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            candidate = registry.lookup(group, version, rest[2])
            if candidate is not None and candidate.namespaced:
                namespace, rest = rest[1], rest[2:]
        rt = registry.lookup(group, version, rest[0])
        if rt is None or len(rest) > 3:
            raise ApiError(404, "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if rt.namespaced and name is not None and namespace is None:
            raise ApiError(404, "the server could not find the requested resource")
        if not rt.namespaced and namespace is not None:
            raise ApiError(404, "the server could not find the requested resource")
        if sub is not None and rt.subresource(sub) is None:
            raise ApiError(404, "the server could not find the requested resource")
        method = request.method
        if name is None:
            if method == "GET":
                if truthy(request.query.get("watch")):
                    return await self.watch(request, rt, version, namespace)
                return self.list(request, rt, version, namespace)
            if method == "POST":
                return self.create(await _body(request), request, rt, version, namespace)
            if method == "DELETE":
                dry_run = await _delete_dry_run(request)
                return self.delete_collection(request, rt, version, namespace, dry_run)
            raise ApiError(405, f"{method} is not supported on a collection")
        ns = namespace or ""
        if sub == "exec":
            pod = self.store.require(rt.key, ns, name)
            return await handle_exec(request, self.cluster, pod)
        if sub == "log":
            pod = self.store.require(rt.key, ns, name)
            return await serve_log(request, self.store, self.cluster.podlogs, pod)
        if sub == "scale":
            return await self.scale(request, rt, ns, name)
        if method == "GET":
            obj = as_version(rt, version, self.store.require(rt.key, ns, name))
            if wants_table(request) and sub is None:
                include = request.query.get("includeObject", "Metadata")
                return _json(
                    tables.table(rt.key, [obj], obj["metadata"]["resourceVersion"], include)
                )
            return _json(obj)
        if method == "PUT":
            return self.replace(await _body(request), request, rt, version, ns, name, sub)
        if method == "PATCH":
            return await self.patch(request, rt, version, ns, name, sub)
        if method == "DELETE":
            if await _delete_dry_run(request):
                return _json(as_version(rt, version, self.store.require(rt.key, ns, name)))
            return self.delete(rt, version, ns, name)
        raise ApiError(405, f"{method} is not supported here")

    def _filter(self, request: web.Request) -> Callable[[Obj], bool]:
        by_label = label_selector(request.query.get("labelSelector"))
        by_field = field_selector(request.query.get("fieldSelector"))
        return lambda obj: by_label(obj) and by_field(obj)

    def list(
        self, request: web.Request, rt: ResourceType, version: str, namespace: str | None
    ) -> web.Response:
        match = self._filter(request)
        items = [as_version(rt, version, o) for o in self.store.view(rt.key, namespace) if match(o)]
        rv = str(self.store.resource_version)
        if wants_table(request):
            include = request.query.get("includeObject", "Metadata")
            return _json(tables.table(rt.key, items, rv, include))
        return _json(
            {
                "kind": f"{rt.kind}List",
                "apiVersion": rt.api_version(version),
                "metadata": {"resourceVersion": rv},
                "items": items,
            }
        )

    async def watch(
        self, request: web.Request, rt: ResourceType, version: str, namespace: str | None
    ) -> web.StreamResponse:
        return await serve_watch(request, self.store, rt, version, namespace, self._filter(request))

    def create(
        self, body: Any, request: web.Request, rt: ResourceType, version: str, namespace: str | None
    ) -> web.Response:
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be an object")
        meta = body.setdefault("metadata", {})
        if rt.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise ApiError(400, "the namespace of the object does not match the URL")
            meta["namespace"] = namespace or meta.get("namespace") or "default"
        if rt.subresource("status") is not None and not rt.from_crd:
            body.pop("status", None)
        self.cluster.admit(rt, body)
        if request.query.get("dryRun"):
            return _json(as_version(rt, version, body), 201)
        return _json(as_version(rt, version, self.store.create(rt.key, body)), 201)

    def _write(self, rt: ResourceType, old: Obj, new: Obj, sub: str | None, check_rv: bool) -> Obj:
        meta = new.setdefault("metadata", {})
        meta["name"] = old["metadata"]["name"]
        if rt.namespaced:
            meta["namespace"] = old["metadata"]["namespace"]
        if sub == "status":
            kept = copy.deepcopy(old)
            kept["status"] = new.get("status", {})
            if check_rv and meta.get("resourceVersion"):
                kept["metadata"]["resourceVersion"] = meta["resourceVersion"]
            new = kept
        elif rt.subresource("status") is not None:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        self.cluster.admit(rt, new, old)
        return self.store.update(rt.key, new, check_rv=check_rv)

    def replace(
        self, body: Any, request: web.Request, rt: ResourceType, version: str,
        ns: str, name: str, sub: str | None,
    ) -> web.Response:  # fmt: skip
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be an object")
        if body.get("metadata", {}).get("name", name) != name:
            raise ApiError(400, "the name of the object does not match the URL")
        old = self.store.require(rt.key, ns, name)
        return _json(as_version(rt, version, self._write(rt, old, body, sub, True)))

    async def patch(
        self, request: web.Request, rt: ResourceType, version: str, ns: str, name: str,
        sub: str | None,
    ) -> web.Response:  # fmt: skip
        ctype = request.content_type
        if ctype == "application/apply-patch+yaml" and not self.cluster.profile.server_side_apply:
            # what a server without server-side apply (before 1.16, gate off) answers
            raise ApiError(
                415,
                "the body of the request was in an unknown format - accepted media types "
                "include: application/json-patch+json, application/merge-patch+json, "
                "application/strategic-merge-patch+json",
                reason="UnsupportedMediaType",
            )
        patch = await _body(request)
        old = self.store.get(rt.key, ns, name)
        if ctype == "application/apply-patch+yaml":
            if not isinstance(patch, dict):
                raise ApiError(400, "an apply patch must be an object")
            if old is None:
                if sub is not None:
                    raise ApiError(404, f'{rt.key} "{name}" not found')
                meta = patch.setdefault("metadata", {})
                meta["name"] = name
                if rt.namespaced:
                    meta["namespace"] = ns
                return self.create(patch, request, rt, version, ns if rt.namespaced else None)
            new = strategic_merge(old, patch)
        else:
            if old is None:
                resource, _, group = rt.key.partition(".")
                raise ApiError(
                    404,
                    f'{rt.key} "{name}" not found',
                    details={"name": name, "group": group, "kind": resource},
                )
            if ctype == "application/merge-patch+json":
                new = merge_patch(old, patch)
            elif ctype == "application/strategic-merge-patch+json":
                new = strategic_merge(old, patch)
            elif ctype == "application/json-patch+json":
                if not isinstance(patch, list):
                    raise ApiError(400, "a JSON patch must be a list of operations")
                new = json_patch(old, patch)
            else:
                raise ApiError(415, f"the patch content type {ctype!r} is not supported")
        if request.query.get("dryRun"):
            return _json(as_version(rt, version, new))
        check = bool(isinstance(patch, dict) and patch.get("metadata", {}).get("resourceVersion"))
        return _json(as_version(rt, version, self._write(rt, old, new, sub, check)))

    def delete(self, rt: ResourceType, version: str, ns: str, name: str) -> web.Response:
        obj = self.store.delete(rt.key, ns, name)
        return _json(as_version(rt, version, obj))

    def delete_collection(
        self,
        request: web.Request,
        rt: ResourceType,
        version: str,
        namespace: str | None,
        dry_run: bool,
    ) -> web.Response:
        match = self._filter(request)
        deleted = []
        for obj in self.store.list(rt.key, namespace):
            if match(obj):
                meta = obj["metadata"]
                if dry_run:
                    deleted.append(obj)
                else:
                    deleted.append(
                        self.store.delete(rt.key, meta.get("namespace", ""), meta["name"])
                    )
        return _json(
            {
                "kind": f"{rt.kind}List",
                "apiVersion": rt.api_version(version),
                "metadata": {"resourceVersion": str(self.store.resource_version)},
                "items": [as_version(rt, version, o) for o in deleted],
            }
        )

    # -- scale ---------------------------------------------------------------------

    def _scale_of(self, obj: Obj) -> Obj:
        from fabrictui.lab.kubeapi.api.tables import selector_text

        meta = obj["metadata"]
        selector = selector_text(obj.get("spec", {}).get("selector"))
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if k in meta
            },
            "spec": {"replicas": obj.get("spec", {}).get("replicas", 1)},
            "status": {
                "replicas": obj.get("status", {}).get("replicas", 0),
                "selector": "" if selector == "<none>" else selector,
            },
        }

    async def scale(
        self, request: web.Request, rt: ResourceType, ns: str, name: str
    ) -> web.Response:
        obj = self.store.require(rt.key, ns, name)
        current = self._scale_of(obj)
        if request.method == "GET":
            return _json(current)
        body = await _body(request)
        if request.method == "PUT":
            new = body
        elif request.method == "PATCH":
            ctype = request.content_type
            if ctype == "application/json-patch+json":
                new = json_patch(current, body)
            elif ctype == "application/strategic-merge-patch+json":
                new = strategic_merge(current, body)
            else:
                new = merge_patch(current, body)
        else:
            raise ApiError(405, f"{request.method} is not supported on scale")
        try:
            replicas = int(new["spec"]["replicas"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(422, "Scale.spec.replicas must be an integer") from exc
        if replicas < 0:
            raise ApiError(422, "Scale.spec.replicas must be >= 0", reason="Invalid")
        obj["spec"]["replicas"] = replicas
        updated = self.store.update(rt.key, obj)
        return _json(self._scale_of(updated))


def make_app(cluster: Cluster, token: str, server_address: str) -> web.Application:
    app = web.Application(middlewares=[errors_and_auth], client_max_size=64 * 1024 * 1024)
    app[CLUSTER_KEY] = cluster
    app[TOKEN_KEY] = token
    api = Api(cluster, server_address)
    for path in ("/version", "/version/"):  # the Python client's VersionApi asks the latter
        app.router.add_get(path, api.version)
    for path in ANONYMOUS - {"/version", "/version/"}:
        app.router.add_get(path, api.health)
    app.router.add_get("/openapi/v2", api.openapi_v2)
    app.router.add_get("/openapi/v3", api.openapi_v3)
    app.router.add_get("/openapi/v3/{tail:.+}", api.openapi_v3_gv)
    app.router.add_route("*", "/api", api.dispatch)
    app.router.add_route("*", "/api/{tail:.*}", api.dispatch)
    app.router.add_route("*", "/apis", api.dispatch)
    app.router.add_route("*", "/apis/{tail:.*}", api.dispatch)
    return app
