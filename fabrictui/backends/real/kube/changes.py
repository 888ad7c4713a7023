"""What fabrictui changes in a cluster, as blocking calls on an ApiClient (the client
runs them in a thread): manifests applied by server-side apply or, where the server has
none (Kubernetes before 1.16), by create-or-replace; and the demo workload."""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from typing import Any

from fabrictui import audit
from fabrictui.backends.base import DemoWorkload
from fabrictui.backends.real.kube.manifests import workload_objects
from fabrictui.intent.releases import SERVER_SIDE_APPLY
from fabrictui.parsers.kube import as_dict

FIELD_MANAGER = "fabrictui"
CRD_WAIT_S = 10.0  # a CRD just created is served once Established (about a second)


def covers(wanted: Any, live: Any) -> bool:
    """Whether every field `wanted` sets has that value in `live` (what the server added,
    defaults and status, does not count): applying `wanted` would change nothing."""
    if isinstance(wanted, Mapping):
        return isinstance(live, Mapping) and all(
            k in live and covers(v, live[k]) for k, v in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(live, list)
            and len(wanted) == len(live)
            and all(covers(w, x) for w, x in zip(wanted, live, strict=True))
        )
    return bool(wanted == live)


def object_label(doc: Mapping[str, Any]) -> str:
    """`kind.group/name` as kubectl prints it (`daemonset.apps/calico-node`)."""
    api_version = str(doc.get("apiVersion", ""))
    group = api_version.split("/")[0] if "/" in api_version else ""
    name = as_dict(doc.get("metadata")).get("name", "")
    return f"{str(doc.get('kind', '')).lower()}{'.' + group if group else ''}/{name}"


def _resource(dyn: Any, api_version: str, kind: str) -> Any:
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    deadline = time.monotonic() + CRD_WAIT_S
    while True:
        try:
            return dyn.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            if time.monotonic() > deadline:
                raise
            dyn.resources.invalidate_cache()  # a CRD applied just before
            time.sleep(0.2)


def _live(resource: Any, name: str, namespace: str | None) -> Any:
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import NotFoundError

    try:
        return resource.get(name=name, namespace=namespace)
    except (NotFoundError, ApiException) as exc:
        if getattr(exc, "status", 404) != 404:
            raise
    return None


def _where(resource: Any, doc: Mapping[str, Any]) -> tuple[str, str | None]:
    meta = as_dict(doc.get("metadata"))
    namespace = meta.get("namespace") or ("default" if resource.namespaced else None)
    return str(meta.get("name", "")), namespace


def preview_documents(api: Any, docs: Sequence[Mapping[str, Any]]) -> list[str]:
    """For the plan: each object and whether it is new, unchanged or would change.
    Kinds not served yet (defined by a CRD of the same manifest) are new."""
    from kubernetes import dynamic
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    dyn = dynamic.DynamicClient(api)
    lines = []
    for doc in docs:
        label = object_label(doc)
        try:
            resource = dyn.resources.get(
                api_version=str(doc.get("apiVersion", "")), kind=str(doc.get("kind", ""))
            )
        except ResourceNotFoundError:
            lines.append(f"{label}: new")
            continue
        name, namespace = _where(resource, doc)
        live = _live(resource, name, namespace)
        if live is None:
            lines.append(f"{label}: new")
        elif covers(dict(doc), live.to_dict()):
            lines.append(f"{label}: exists, unchanged")
        else:
            lines.append(f"{label}: exists, would change")
    return lines


def apply_documents(
    api: Any, docs: Sequence[Mapping[str, Any]], method: str = SERVER_SIDE_APPLY
) -> list[str]:
    """Apply in order: server-side apply (field manager fabrictui, conflicts forced) or,
    on a server without it, create what is missing and replace the fields that differ
    (a merge patch, guarded by the resourceVersion just read)."""
    from kubernetes import dynamic

    dyn = dynamic.DynamicClient(api)
    lines = []
    for doc in docs:
        kind = str(doc.get("kind", ""))
        api_version = str(doc.get("apiVersion", ""))
        resource = _resource(dyn, api_version, kind)
        name, namespace = _where(resource, doc)
        before = _live(resource, name, namespace)
        where = f"{api_version} {kind} {namespace + '/' if namespace else ''}{name}"
        if method == SERVER_SIDE_APPLY:
            audit.record_call(f"PATCH (server-side apply, fieldManager={FIELD_MANAGER}) {where}")
            resource.server_side_apply(
                body=dict(doc),
                name=name,
                namespace=namespace,
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
            )
            # by content, not by resourceVersion: a controller writing the object's status
            # meanwhile (a DaemonSet's) must not make an unchanged apply look "configured"
            if before is None:
                verb = "created"
            elif covers(dict(doc), before.to_dict()):
                verb = "unchanged"
            else:
                verb = "configured"
        elif before is None:
            audit.record_call(
                f"POST (create; no server-side apply: field ownership not recorded) {where}"
            )
            resource.create(body=dict(doc), namespace=namespace)
            verb = "created"
        elif covers(dict(doc), before.to_dict()):
            verb = "unchanged"  # the same idempotence as an apply: no write at all
        else:
            # A merge patch of the fields the document sets, not a PUT of the whole object:
            # a PUT would drop what the document leaves out (a Node annotation document
            # would wipe the node's labels), a merge patch replaces only what differs.
            body = copy.deepcopy(dict(doc))
            body.setdefault("metadata", {})["resourceVersion"] = before.metadata.resourceVersion
            audit.record_call(
                f"PATCH (merge patch of the manifest's fields; no server-side apply: field "
                f"ownership not recorded) {where}"
            )
            resource.patch(
                body=body,
                name=name,
                namespace=namespace,
                content_type="application/merge-patch+json",
            )
            verb = "configured"
        lines.append(f"{object_label(doc)} {verb}")
    return lines


def ensure_objects(api: Any, workload: DemoWorkload, t: tuple[float, float]) -> list[str]:
    """Create the namespace, deployment and service that are missing; what was created."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    ns, dep, svc = workload_objects(workload)
    steps = [
        (
            f"namespace/{workload.namespace}",
            lambda: core.read_namespace(workload.namespace, _request_timeout=t),
            lambda: core.create_namespace(ns, _request_timeout=t),
        ),
        (
            f"deployment.apps/{workload.deployment}",
            lambda: apps.read_namespaced_deployment(
                workload.deployment, workload.namespace, _request_timeout=t
            ),
            lambda: apps.create_namespaced_deployment(workload.namespace, dep, _request_timeout=t),
        ),
        (
            f"service/{workload.service}",
            lambda: core.read_namespaced_service(
                workload.service, workload.namespace, _request_timeout=t
            ),
            lambda: core.create_namespaced_service(workload.namespace, svc, _request_timeout=t),
        ),
    ]
    created = []
    for label, read, create in steps:
        try:
            read()
            continue
        except ApiException as exc:
            if exc.status != 404:
                raise
        audit.record_call(f"POST create {label}")
        try:
            create()
        except ApiException as exc:
            if exc.status != 409:  # created meanwhile by someone else
                raise
            continue
        created.append(f"{label} created")
    return created
