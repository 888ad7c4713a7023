"""Kubernetes through the official Python client.

The client is synchronous: every call runs in a thread (watches in their own
daemon threads, see `watch.py`). Objects are read as raw API JSON and converted
by the pure functions of `convert.py`, which follow kubectl's columns.

Credentials come only from the kubeconfig and never reach a log line or an
error message: every message built here goes through `Secrets.scrub`, and API
error bodies are reduced to their `message`.

Every call has one deadline for the whole of it (`deadlines.Deadlines.kube_api`: connect,
TLS handshake, request, reading the answer, the retry): each request carries a socket
timeout (the client's `_request_timeout`, given by `TimedApiClient` to the calls that do not
set one), and the call runs in a daemon thread the caller stops waiting for at the deadline
(`deadlines.in_thread`), so a hung API server never holds up a command, nor its exit.

A cluster whose API the jump host cannot reach directly can be used through an
SSH tunnel: `server_override` points the client at a local forward
(`https://127.0.0.1:PORT`) while TLS still verifies the name in the
kubeconfig (`tls_server_name`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import shlex
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from fabrictui import audit, deadlines
from fabrictui.backends.base import (
    MAX_PING_SIZE,
    BackendError,
    DemoWorkload,
    Unreachable,
)
from fabrictui.backends.real.kube.changes import (
    apply_documents,
    ensure_objects,
    preview_documents,
)
from fabrictui.backends.real.kube.config import Secrets, one_line, pointed_at, timed_api_client
from fabrictui.backends.real.kube.discovery import read_server_facts
from fabrictui.backends.real.kube.errors import call_error
from fabrictui.backends.real.kube.manifests import load_calico_manifest
from fabrictui.backends.real.kube.pod_exec import (
    ExecOutput,
    exec_in_pod,
    ping_result,
    unprobed_if_missing,
)
from fabrictui.backends.real.kube.watch import QUEUE_SIZE, stream_watch
from fabrictui.constants import CALICO_CRD_GROUP, POD_POOL
from fabrictui.intent.releases import (
    NoFittingRelease,
    ServerFacts,
    choose_apply_method,
    choose_release,
)
from fabrictui.model import KubeNode, KubePod, PingResult, WatchEvent
from fabrictui.parsers.kube import (
    as_dict,
    as_list,
    node_from_api,
    object_name,
    pod_from_api,
)

log = logging.getLogger(__name__)

T = TypeVar("T", KubeNode, KubePod)


class KubeClient:
    """One cluster, through one kubeconfig context."""

    def __init__(
        self,
        kubeconfig: Path | None,
        context: str | None = None,
        *,
        config_dict: dict[str, Any] | None = None,
        request_timeout: float | None = None,
        watch_timeout: int = 60,
        server_override: str | None = None,
        watch_queue: int = QUEUE_SIZE,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        # one call, whole; the config file's [deadlines] kube_api unless given
        self.request_timeout = (
            deadlines.current().kube_api if request_timeout is None else request_timeout
        )
        self.watch_timeout = watch_timeout
        self.watch_queue = watch_queue  # events a watch holds for the loop (see watch.py)
        self.server_override = server_override
        self.config_dict = config_dict
        self.secrets = (
            Secrets.from_config(config_dict)
            if config_dict is not None
            else Secrets.from_kubeconfig(kubeconfig)
        )
        self._api: Any = None
        self._server = ""  # the API's URL, once the kubeconfig is read
        self._lock = threading.Lock()
        self._affinities: dict[str, tuple[str, ...]] = {}
        self._stamp: tuple[int, int] | None = None

    # -- plumbing ---------------------------------------------------------------

    def _kubeconfig_stamp(self) -> tuple[int, int] | None:
        if self.config_dict is not None or self.kubeconfig is None:
            return None
        try:
            st = self.kubeconfig.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _client(self) -> Any:
        with self._lock:
            stamp = self._kubeconfig_stamp()
            if self._api is not None and stamp != self._stamp:
                # The kubeconfig changed (new token or CA after an API server
                # restart, a refreshed file): build a new client from it.
                log.info("kubeconfig %s changed: reloading", self.kubeconfig)
                with contextlib.suppress(Exception):
                    self._api.close()
                self._api = None
                for value in Secrets.from_kubeconfig(self.kubeconfig).values:
                    self.secrets.add(value)
            if self._api is not None:
                return self._api
            self._stamp = stamp
            if self.kubeconfig is None and self.config_dict is None:
                raise BackendError(
                    "no kubeconfig: pass --kubeconfig, set KUBECONFIG, or use a lab that has one"
                )
            if self.config_dict is None and not (self.kubeconfig and self.kubeconfig.is_file()):
                raise BackendError(f"kubeconfig {self.kubeconfig}: no such file")
            from kubernetes import client, config

            configuration = client.Configuration()
            try:
                data = self.config_dict
                if self.server_override:
                    # Patch the kubeconfig itself: the client re-applies the
                    # cluster's server to its configuration before every request.
                    if data is None:
                        assert self.kubeconfig is not None
                        data = yaml.safe_load(self.kubeconfig.read_text(encoding="utf-8"))
                    data = pointed_at(data, self.context, self.server_override)
                if data is not None:
                    config.load_kube_config_from_dict(
                        data,
                        context=self.context,
                        persist_config=False,
                        client_configuration=configuration,
                    )
                else:
                    config.load_kube_config(
                        config_file=str(self.kubeconfig),
                        context=self.context,
                        persist_config=False,
                        client_configuration=configuration,
                    )
            except Exception as exc:  # ConfigException, yaml errors, bad base64 ...
                raise BackendError(
                    f"kubeconfig {self.kubeconfig}: {self.secrets.scrub(one_line(exc))}"
                ) from None
            conf = configuration
            # one retry: a pooled connection the server closed meanwhile is not a failure
            conf.retries = 1
            api = timed_api_client(conf, self._timeout())
            for value in (conf.api_key or {}).values():
                self.secrets.add(str(value))
                for part in str(value).split():
                    self.secrets.add(part)
            if conf.password:
                self.secrets.add(str(conf.password))
            self._server = conf.host
            self._api = api
            return api

    def _error(self, exc: BaseException, what: str) -> BackendError:
        """A one-line, secret-free BackendError for any failure of a client call."""
        return call_error(exc, what, self.part, self.secrets.scrub)

    @property
    def part(self) -> str:
        """The lab part, as messages name it."""
        return f"the Kubernetes API at {self._server}" if self._server else "the Kubernetes API"

    async def _call(
        self, what: str, fn: Callable[[Any], Any], *, requests: int = 1, extra: float = 0.0
    ) -> Any:
        """`fn(api)` in a thread, within the whole-call deadline: `kube_api` per request
        it makes (`requests`), plus `extra` seconds it spends on purpose (an exec's own
        run time). Past it: Unreachable naming the API and what was asked."""

        def run() -> Any:
            try:
                return fn(self._client())
            except Exception as exc:
                raise self._error(exc, what) from None

        seconds = self.request_timeout * max(1, requests) + extra
        try:
            return await deadlines.in_thread(run, seconds, what)
        except deadlines.DeadlineExceeded:
            # the part first: a pane's subtitle may show only the start of it
            text = f"{self.part} did not answer within {seconds:g} s ({what})"
            deadlines.note_unanswered(self.secrets.scrub(text))
            raise Unreachable(self.secrets.scrub(text)) from None
        except Unreachable as exc:
            deadlines.note_unanswered(str(exc))
            raise

    def _timeout(self) -> tuple[float, float]:
        """One request's socket timeouts (connect and TLS handshake, each read)."""
        return (min(5.0, self.request_timeout), self.request_timeout)

    def _get_json(self, api: Any, list_name: str, **kw: Any) -> dict[str, Any]:
        from kubernetes import client

        core = client.CoreV1Api(api)
        resp = getattr(core, list_name)(
            _preload_content=False, _request_timeout=self._timeout(), **kw
        )
        try:
            data = json.loads(resp.data)
        except (ValueError, TypeError):
            raise BackendError(
                f"{list_name}: the API answered something that is not JSON"
            ) from None
        return data if isinstance(data, dict) else {}

    def _block_affinities(self, api: Any) -> dict[str, tuple[str, ...]]:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        custom = client.CustomObjectsApi(api)
        try:
            data = custom.list_cluster_custom_object(
                CALICO_CRD_GROUP, "v1", "blockaffinities", _request_timeout=self._timeout()
            )
        except ApiException as exc:
            if exc.status in (404, 403):
                return {}
            raise
        result: dict[str, list[str]] = {}
        for item in as_list(as_dict(data).get("items")):
            spec = as_dict(as_dict(item).get("spec"))
            if (
                spec.get("state", "confirmed") == "confirmed"
                and spec.get("node")
                and spec.get("cidr")
            ):
                result.setdefault(str(spec["node"]), []).append(str(spec["cidr"]))
        return {k: tuple(sorted(v)) for k, v in result.items()}

    # -- reads ---------------------------------------------------------------------

    async def list_nodes(self) -> list[KubeNode]:
        def read(api: Any) -> tuple[dict[str, Any], dict[str, tuple[str, ...]]]:
            return self._get_json(api, "list_node"), self._block_affinities(api)

        data, affinities = await self._call("list nodes", read)
        self._affinities = affinities
        nodes = [as_dict(i) for i in as_list(data.get("items"))]
        return [node_from_api(n, affinities.get(object_name(n), ())) for n in nodes]

    async def list_pods(self, namespace: str | None = None) -> list[KubePod]:
        def read(api: Any) -> dict[str, Any]:
            if namespace is None:
                return self._get_json(api, "list_pod_for_all_namespaces")
            return self._get_json(api, "list_namespaced_pod", namespace=namespace)

        data = await self._call("list pods", read)
        return [pod_from_api(as_dict(i)) for i in as_list(data.get("items"))]

    # -- watches -------------------------------------------------------------------

    def watch_nodes(self) -> AsyncIterator[WatchEvent[KubeNode]]:
        def convert(obj: Mapping[str, Any]) -> KubeNode:
            return node_from_api(obj, self._affinities.get(object_name(obj), ()))

        def relist(api: Any) -> dict[str, Any]:
            with contextlib.suppress(Exception):
                self._affinities = self._block_affinities(api)
            return self._get_json(api, "list_node")

        return self._watch("nodes", relist, "list_node", convert)

    def watch_pods(self) -> AsyncIterator[WatchEvent[KubePod]]:
        def relist(api: Any) -> dict[str, Any]:
            return self._get_json(api, "list_pod_for_all_namespaces")

        return self._watch("pods", relist, "list_pod_for_all_namespaces", pod_from_api)

    async def _watch(
        self,
        what: str,
        relist: Callable[[Any], dict[str, Any]],
        list_name: str,
        convert: Callable[[Mapping[str, Any]], T],
    ) -> AsyncIterator[WatchEvent[T]]:
        """RELIST, then changes; on 410 Gone RELIST again; on loss raise BackendError.

        A watch the server ends normally (its timeout) is resumed from the last
        resourceVersion without the caller noticing.
        """
        while True:
            data = await self._call(f"list {what}", relist)
            rv = str(as_dict(data.get("metadata")).get("resourceVersion") or "")
            items = tuple(convert(as_dict(i)) for i in as_list(data.get("items")))
            yield WatchEvent("RELIST", items=items)
            async for kind, obj in self._stream(what, list_name, rv):
                if kind == "GONE":
                    log.info("watch %s: 410 Gone, listing again", what)
                    break
                yield WatchEvent(kind, obj=convert(obj))  # type: ignore[arg-type]

    def _stream(
        self, what: str, list_name: str, rv: str
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        return stream_watch(
            what,
            list_name,
            rv,
            open_api=self._client,
            to_error=self._error,
            watch_timeout=self.watch_timeout,
            request_timeout=self.request_timeout,
            queue_size=self.watch_queue,
        )

    async def server_facts(self, group_versions: Sequence[str] = ()) -> ServerFacts:
        """The server's version and discovery (and the kinds of `group_versions`)."""
        t = self._timeout()
        return await self._call(
            "read the API server's version and discovery",
            lambda api: read_server_facts(api, t, group_versions),
        )

    async def preview_objects(self, docs: Sequence[Mapping[str, Any]]) -> list[str]:
        # each document is one read, and the first may fill the client's cache
        return await self._call(
            "read the objects to apply",
            lambda a: preview_documents(a, docs),
            requests=len(docs) + 2,
        )

    async def apply_objects(self, docs: Sequence[Mapping[str, Any]]) -> list[str]:
        """In order, by the method the server has (intent/releases.choose_apply_method)."""
        method = choose_apply_method(await self.server_facts()).name
        # each document is a read and an apply, and the first may fill the client's cache
        return await self._call(
            "apply", lambda api: apply_documents(api, docs, method), requests=2 * len(docs) + 2
        )

    async def apply_calico(self, pool_cidr: str = POD_POOL) -> list[str]:
        """The bundled Calico that fits the server; refused, nothing applied, if none does."""
        try:
            release = choose_release(await self.server_facts()).release
        except NoFittingRelease as exc:
            raise BackendError(str(exc)) from None
        return await self.apply_objects(load_calico_manifest(pool_cidr, name=release.manifest))

    async def ensure_workload(self, workload: DemoWorkload) -> list[str]:
        """Create the seed's namespace, deployment and service when missing."""

        def ensure(api: Any) -> list[str]:
            return ensure_objects(api, workload, self._timeout())

        return await self._call("ensure workload", ensure, requests=6)

    async def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        if replicas < 0:
            raise BackendError(f"replicas must be 0 or more, not {replicas}")

        def scale(api: Any) -> None:
            from kubernetes import client

            audit.record_call(
                f"PATCH apps/v1 deployments/{name}/scale -n {namespace} replicas={replicas}"
            )
            client.AppsV1Api(api).patch_namespaced_deployment_scale(
                name,
                namespace,
                {"spec": {"replicas": replicas}},
                _request_timeout=self._timeout(),
            )

        await self._call(f"scale deployment {namespace}/{name}", scale)

    async def deployment_replicas(self, namespace: str, name: str) -> int | None:
        """spec.replicas of the deployment, None when it does not exist."""

        def read(api: Any) -> int | None:
            from kubernetes import client
            from kubernetes.client.exceptions import ApiException

            try:  # raw JSON, as for lists: no model validation of fields not needed
                resp = client.AppsV1Api(api).read_namespaced_deployment(
                    name, namespace, _preload_content=False, _request_timeout=self._timeout()
                )
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise
            try:
                data = json.loads(resp.data)
            except (ValueError, TypeError):
                raise BackendError(
                    f"read deployment {namespace}/{name}: the API answered something "
                    "that is not JSON"
                ) from None
            replicas = as_dict(as_dict(data).get("spec")).get("replicas")
            return replicas if isinstance(replicas, int) else 1  # the API's default is 1

        return await self._call(f"read deployment {namespace}/{name}", read)

    async def ping(
        self,
        pod: KubePod,
        target_ip: str,
        count: int = 3,
        timeout: float = 10.0,
        size: int | None = None,
        df: bool = False,
    ) -> PingResult:
        """`ping -c COUNT -W 1 [-M do] [-s SIZE] IP` through exec; loss is a result, failures
        are in `error`; a DF probe refused for its size carries the MTU reported (data)."""
        try:
            ipaddress.ip_address(target_ip)
        except ValueError:
            raise BackendError(f"ping: {target_ip!r} is not an IP address") from None
        if size is not None and not 0 <= size <= MAX_PING_SIZE:
            raise BackendError(f"ping: illegal packet size {size}")
        sized = [] if size is None else ["-s", str(int(size))]
        dont_fragment = ["-M", "do"] if df else []
        command = ["ping", "-c", str(int(count)), "-W", "1", *dont_fragment, *sized, target_ip]
        audit.record_call(f"exec in {pod.namespace}/{pod.name}: {shlex.join(command)}")

        def run(api: Any) -> ExecOutput:
            return exec_in_pod(
                api, pod.namespace, pod.name, command, timeout,
                request_timeout=self._timeout(), cancelled=cancelled,
            )  # fmt: skip

        source = pod.key
        cancelled = threading.Event()  # a cancelled ping closes its exec stream at once
        try:
            output = await self._call(f"exec in {source}", run, extra=timeout)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        except BackendError as exc:
            # containerd refuses the exec itself when the image has no ping
            failed = PingResult.failed(source, target_ip, str(exc))
            return unprobed_if_missing(pod, target_ip, str(exc)) or failed
        return ping_result(pod, target_ip, output, timeout, df)

    def reset(self, server_override: str | None = None) -> None:
        """Forget the client (the next call builds a new one), e.g. after a new tunnel."""
        with self._lock:
            api, self._api = self._api, None
            self.server_override = server_override
        if api is not None:
            with contextlib.suppress(Exception):
                api.close()

    async def close(self) -> None:
        api, self._api = self._api, None
        if api is not None:
            # a thread still inside a hung call may hold the connection pool: closing it
            # is never waited for long (an ending command has 5 s in all)
            with contextlib.suppress(Exception):
                await deadlines.in_thread(api.close, 1.0, "close the API client")
