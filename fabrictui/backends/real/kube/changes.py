"""What fabrictui changes in a cluster, as blocking calls on an ApiClient (the client
runs them in a thread): server-side apply of manifests, and the demo workload."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fabrictui import audit
from fabrictui.backends.base import DemoWorkload
from fabrictui.backends.real.kube.manifests import workload_objects
from fabrictui.parsers.kube import as_dict

FIELD_MANAGER = "fabrictui"


def apply_documents(api: Any, docs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Server-side apply (field manager fabrictui, conflicts forced), in order."""
    from kubernetes import dynamic
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

    dyn = dynamic.DynamicClient(api)
    lines = []
    for doc in docs:
        kind = str(doc.get("kind", ""))
        api_version = str(doc.get("apiVersion", ""))
        meta = as_dict(doc.get("metadata"))
        name = str(meta.get("name", ""))
        try:
            resource = dyn.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            dyn.resources.invalidate_cache()  # a CRD applied just before
            resource = dyn.resources.get(api_version=api_version, kind=kind)
        namespace = meta.get("namespace") or ("default" if resource.namespaced else None)
        before = None
        try:
            before = resource.get(name=name, namespace=namespace)
        except (NotFoundError, ApiException) as exc:
            if getattr(exc, "status", 404) != 404:
                raise
        audit.record_call(
            f"PATCH (server-side apply, fieldManager={FIELD_MANAGER}) "
            f"{api_version} {kind} {namespace + '/' if namespace else ''}{name}"
        )
        after = resource.server_side_apply(
            body=dict(doc),
            name=name,
            namespace=namespace,
            field_manager=FIELD_MANAGER,
            force_conflicts=True,
        )
        group = api_version.split("/")[0] if "/" in api_version else ""
        label = f"{kind.lower()}{'.' + group if group else ''}/{name}"
        if before is None:
            verb = "created"
        elif before.metadata.resourceVersion != after.metadata.resourceVersion:
            verb = "configured"
        else:
            verb = "unchanged"
        lines.append(f"{label} {verb}")
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
