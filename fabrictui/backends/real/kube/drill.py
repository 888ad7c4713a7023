"""Drill down on a real cluster (issue 26): one pod's or node's API object, Events (from
events.k8s.io where the server serves it, else core/v1: the seed's 1.15 serves both, in
v1beta1), and a container's log, read or followed, never all in memory: a read asks the
server for at most LOG_LINES lines and LOG_BYTES bytes; a follow goes through a bounded
queue (FOLLOW_QUEUE lines) that holds the reading thread, and so the server, back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fabrictui.backends.base import BackendError
from fabrictui.backends.real.kube.watch import STOP_POLL, read_lines
from fabrictui.parsers import ParseError
from fabrictui.parsers.kubedetail.events import KubeEvent, events_from_api

if TYPE_CHECKING:
    from fabrictui.backends.real.kube.client import KubeClient

LOG_LINES = 5000  # a read without --tail: the newest this many
LOG_BYTES = 4 * 1024 * 1024
FOLLOW_QUEUE = 1000
FOLLOW_READ_S = 86400.0  # the client wants a number: a day without a line ends a follow
LINE_MAX = 16 * 1024  # a longer line is cut (a log line of megabytes is not read whole)
EVENT_GROUP = "events.k8s.io"


def _json(resp: Any, what: str) -> Any:
    try:
        return json.loads(resp.data)
    except (ValueError, TypeError):
        raise BackendError(f"{what}: the API answered something that is not JSON") from None


class KubeDrillReal:
    """Mixed into RealLabBackend (which owns `kube`)."""

    kube: KubeClient

    async def read_object(
        self, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any]:
        kube = self.kube

        def read(api: Any) -> Any:
            from kubernetes import client

            core = client.CoreV1Api(api)
            if kind == "pod":
                resp = core.read_namespaced_pod(
                    name, namespace or "default", _preload_content=False,
                    _request_timeout=kube._timeout(),
                )  # fmt: skip
            elif kind == "node":
                resp = core.read_node(
                    name, _preload_content=False, _request_timeout=kube._timeout()
                )
            else:
                raise BackendError(f"no Kubernetes object kind {kind!r} (pod or node)")
            return _json(resp, f"read {kind} {name}")

        obj = await kube._call(f"read {kind} {name}", read)
        if not isinstance(obj, dict):
            raise BackendError(f"read {kind} {name}: the API answered something not an object")
        return obj

    async def list_events(
        self,
        namespace: str | None = None,
        about: tuple[str, str] | None = None,
        warnings_only: bool = False,
    ) -> list[KubeEvent]:
        """Events of `namespace` (None: all), of the object `about` = (kind, name) if given,
        only the Warnings if asked (the server filters: `type=Warning`)."""
        warning = ["type=Warning"] if warnings_only else []
        kube = self.kube

        def read(api: Any) -> Any:
            from kubernetes import client
            from kubernetes.client.exceptions import ApiException

            timeout = kube._timeout()
            custom = client.CustomObjectsApi(api)
            for version in ("v1", "v1beta1"):  # the group's newest first
                selector = f"regarding.kind={about[0]},regarding.name={about[1]}" if about else None
                try:
                    if namespace is None:
                        return custom.list_cluster_custom_object(
                            EVENT_GROUP, version, "events", field_selector=selector,
                            _request_timeout=timeout,
                        )  # fmt: skip
                    return custom.list_namespaced_custom_object(
                        EVENT_GROUP, version, namespace, "events", field_selector=selector,
                        _request_timeout=timeout,
                    )  # fmt: skip
                except ApiException as exc:
                    if exc.status not in (404, 400):  # not served, or a selector it lacks
                        raise
            terms = [f"involvedObject.kind={about[0]}", f"involvedObject.name={about[1]}"]
            selector = ",".join((terms if about else []) + warning) or None
            if namespace is None:
                return kube._get_json(api, "list_event_for_all_namespaces", field_selector=selector)
            return kube._get_json(
                api, "list_namespaced_event", namespace=namespace, field_selector=selector
            )

        raw = await kube._call("list events", read, requests=3)
        try:
            events = events_from_api(raw)
        except ParseError as err:
            raise BackendError(f"{kube.part}: events: {err}") from None
        if about:  # a server that ignored the selector still answers only what was asked
            events = [e for e in events if (e.kind, e.object_name) == about]
        if warnings_only:
            events = [e for e in events if e.warning]
        return events

    async def pod_log(
        self,
        namespace: str,
        name: str,
        container: str | None = None,
        previous: bool = False,
        tail: int | None = None,
    ) -> list[str]:
        kube = self.kube

        def read(api: Any) -> bytes:
            from kubernetes import client

            resp = client.CoreV1Api(api).read_namespaced_pod_log(
                name, namespace, container=container or None, previous=previous,
                tail_lines=LOG_LINES if tail is None else min(tail, LOG_LINES),
                limit_bytes=LOG_BYTES, _preload_content=False,
                _request_timeout=kube._timeout(),
            )  # fmt: skip
            return bytes(resp.data or b"")

        data = await kube._call(f"logs of {namespace}/{name}", read)
        text = data.decode("utf-8", errors="replace")
        return [line[:LINE_MAX] for line in text.splitlines()]

    async def follow_pod_log(
        self,
        namespace: str,
        name: str,
        container: str | None = None,
        tail: int | None = None,
    ) -> AsyncIterator[str]:
        """Lines as the container writes them, until the stream ends or the caller stops."""
        kube = self.kube
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        room = threading.Semaphore(FOLLOW_QUEUE)
        stop = threading.Event()
        current: dict[str, Any] = {}
        what = f"logs of {namespace}/{name}"

        def put(item: tuple[str, Any]) -> None:
            while not room.acquire(timeout=STOP_POLL):
                if stop.is_set():
                    return
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            from kubernetes import client

            try:
                resp = client.CoreV1Api(kube._client()).read_namespaced_pod_log(
                    name, namespace, container=container or None, follow=True,
                    tail_lines=LOG_LINES if tail is None else min(tail, LOG_LINES),
                    _preload_content=False,
                    # a follow may be silent for long: only the connect is bounded here
                    _request_timeout=(min(5.0, kube.request_timeout), FOLLOW_READ_S),
                )  # fmt: skip
                current["resp"] = resp
                for line in read_lines(resp):
                    if stop.is_set():
                        return
                    put(("LINE", line[:LINE_MAX]))
            except Exception as exc:
                if not stop.is_set():
                    put(("ERROR", kube._error(exc, what)))
            finally:
                put(("END", None))

        thread = threading.Thread(target=work, name="fabrictui-logs", daemon=True)
        thread.start()
        try:
            while True:
                kind, value = await queue.get()
                room.release()
                if kind == "ERROR":
                    raise value
                if kind == "END":
                    return
                yield value
        finally:
            stop.set()
            resp = current.get("resp")
            if resp is not None:
                with contextlib.suppress(Exception):
                    resp.shutdown()
