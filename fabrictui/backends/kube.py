"""Kubernetes through the official Python client.

The client is synchronous: every call runs in a thread (watches in their own
daemon threads, so a long watch never starves the default executor). Objects
are read as raw API JSON and converted by pure functions (`node_from_api`,
`pod_from_api`) that follow kubectl's columns.

Credentials (tokens, passwords, client keys) come only from the kubeconfig and
never reach a log line or an error message: every message built here goes
through `Secrets.scrub`, and API error bodies are reduced to their `message`.

A cluster whose API the jump host cannot reach directly can be used through an
SSH tunnel: `server_override` points the client at a local forward
(`https://127.0.0.1:PORT`) while TLS still verifies the name in the
kubeconfig (`tls_server_name`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import ipaddress
import json
import logging
import os
import shlex
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from fabrictui import audit
from fabrictui.backends.base import BackendError, DemoWorkload, NotFound, Unreachable
from fabrictui.model import KubeNode, KubePod, PingResult, WatchEvent

log = logging.getLogger(__name__)

FIELD_MANAGER = "fabrictui"
CALICO_MANIFEST = "calico-vxlan.yaml"
TUNNEL_ADDR = "projectcalico.org/IPv4VXLANTunnelAddr"
TUNNEL_MAC = "projectcalico.org/VXLANTunnelMACAddr"
LAB_BLOCKS = "fabrictui.lab/calico-blocks"
ROLE_PREFIX = "node-role.kubernetes.io/"

T = TypeVar("T", KubeNode, KubePod)


# --- kubeconfig and secrets ------------------------------------------------------


def resolve_kubeconfig(explicit: str | os.PathLike[str] | None, lab: Path | None) -> Path | None:
    """--kubeconfig, else KUBECONFIG (first existing entry), else the lab's, else ~/.kube/config."""
    if explicit:
        return Path(os.path.expanduser(os.fspath(explicit)))
    env = os.environ.get("KUBECONFIG")
    if env:
        for entry in env.split(os.pathsep):
            if entry and Path(os.path.expanduser(entry)).is_file():
                return Path(os.path.expanduser(entry))
    if lab is not None:
        return lab
    default = Path(os.path.expanduser("~/.kube/config"))
    return default if default.is_file() else None


_SECRET_KEYS = ("token", "password", "key-data", "secret", "id-token", "refresh-token")


class Secrets:
    """Strings that must never be shown; `scrub` replaces them with `***`."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values = sorted({v for v in values if isinstance(v, str) and len(v) >= 6}, key=len)
        self._values.reverse()

    @classmethod
    def from_kubeconfig(cls, path: Path | None) -> Secrets:
        if path is None:
            return cls()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return cls()
        return cls.from_config(data)

    @classmethod
    def from_config(cls, data: Any) -> Secrets:
        found: list[str] = []

        def walk(node: Any, key: str = "") -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    walk(v, str(k).lower())
            elif isinstance(node, list):
                for v in node:
                    walk(v, key)
            elif isinstance(node, str) and any(s in key for s in _SECRET_KEYS):
                found.append(node)
                found.extend(node.split())  # "Bearer xyz" forms

        users = data.get("users") if isinstance(data, dict) else None
        walk(users or [])
        return cls(found)

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(self._values)

    def add(self, value: str) -> None:
        if isinstance(value, str) and len(value) >= 6 and value not in self._values:
            self._values.append(value)
            self._values.sort(key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, "***")
        return text


def _one_line(text: object, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- API objects -> model --------------------------------------------------------


def _timestamp(text: Any) -> float:
    if not isinstance(text, str) or not text:
        return 0.0
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def node_blocks(node: Mapping[str, Any], affinities: Sequence[str] = ()) -> tuple[str, ...]:
    """The node's Calico /26 blocks: BlockAffinities when known, else what the
    node's annotations say (the lab's list, or the block of the VXLAN tunnel
    address, which Calico takes from the node's first block)."""
    if affinities:
        return tuple(affinities)
    annotations = _dict(_dict(node.get("metadata")).get("annotations"))
    listed = annotations.get(LAB_BLOCKS)
    if isinstance(listed, str) and listed.strip():
        return tuple(b.strip() for b in listed.replace(";", ",").split(",") if b.strip())
    tunnel = annotations.get(TUNNEL_ADDR)
    if isinstance(tunnel, str):
        try:
            addr = ipaddress.ip_address(tunnel.split("/")[0])
        except ValueError:
            return ()
        return (str(ipaddress.ip_network(f"{addr}/26", strict=False)),)
    return ()


def node_from_api(node: Mapping[str, Any], affinities: Sequence[str] = ()) -> KubeNode:
    meta = _dict(node.get("metadata"))
    status = _dict(node.get("status"))
    labels = _dict(meta.get("labels"))
    roles = {k[len(ROLE_PREFIX) :] for k in labels if k.startswith(ROLE_PREFIX)}
    if labels.get("kubernetes.io/role"):
        roles.add(str(labels["kubernetes.io/role"]))
    roles.discard("")
    ready = any(
        _dict(c).get("type") == "Ready" and _dict(c).get("status") == "True"
        for c in _list(status.get("conditions"))
    )
    internal_ip = next(
        (
            str(_dict(a).get("address"))
            for a in _list(status.get("addresses"))
            if _dict(a).get("type") == "InternalIP"
        ),
        "",
    )
    annotations = _dict(meta.get("annotations"))
    mac = annotations.get(TUNNEL_MAC)
    return KubeNode(
        name=str(meta.get("name", "")),
        ready=ready,
        roles=tuple(sorted(roles)),
        created=_timestamp(meta.get("creationTimestamp")),
        version=str(_dict(status.get("nodeInfo")).get("kubeletVersion", "")),
        internal_ip=internal_ip,
        calico_blocks=node_blocks(node, affinities),
        vtep_mac=str(mac) if isinstance(mac, str) and mac else None,
        uid=str(meta.get("uid", "")),
    )


def pod_status_text(pod: Mapping[str, Any]) -> tuple[str, int, int]:
    """kubectl's STATUS column, the ready container count and the restart sum."""
    meta = _dict(pod.get("metadata"))
    spec = _dict(pod.get("spec"))
    status = _dict(pod.get("status"))
    reason = str(status.get("phase") or "Unknown")
    if status.get("reason"):
        reason = str(status["reason"])
    restarts = 0
    ready = 0
    initializing = False
    init_specs = _list(spec.get("initContainers"))
    for i, cs in enumerate(_list(status.get("initContainerStatuses"))):
        cs = _dict(cs)
        state = _dict(cs.get("state"))
        restarts += int(cs.get("restartCount") or 0)
        terminated = _dict(state.get("terminated"))
        waiting = _dict(state.get("waiting"))
        if state.get("terminated") is not None and terminated.get("exitCode") == 0:
            continue
        initializing = True
        if state.get("terminated") is not None:
            if terminated.get("reason"):
                reason = f"Init:{terminated['reason']}"
            elif terminated.get("signal"):
                reason = f"Init:Signal:{terminated['signal']}"
            else:
                reason = f"Init:ExitCode:{terminated.get('exitCode')}"
        elif waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = f"Init:{waiting['reason']}"
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        break
    if not initializing:
        restarts = 0
        has_running = False
        for cs in reversed(_list(status.get("containerStatuses"))):
            cs = _dict(cs)
            state = _dict(cs.get("state"))
            restarts += int(cs.get("restartCount") or 0)
            waiting = _dict(state.get("waiting"))
            terminated = _dict(state.get("terminated"))
            if waiting.get("reason"):
                reason = str(waiting["reason"])
            elif terminated.get("reason"):
                reason = str(terminated["reason"])
            elif state.get("terminated") is not None:
                if terminated.get("signal"):
                    reason = f"Signal:{terminated['signal']}"
                else:
                    reason = f"ExitCode:{terminated.get('exitCode')}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(
                _dict(c).get("type") == "Ready" and _dict(c).get("status") == "True"
                for c in _list(status.get("conditions"))
            )
            reason = "Running" if pod_ready else "NotReady"
    if meta.get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason, ready, restarts


def pod_owner(pod: Mapping[str, Any]) -> str | None:
    meta = _dict(pod.get("metadata"))
    refs = [_dict(r) for r in _list(meta.get("ownerReferences"))]
    if not refs:
        return None
    ref = next((r for r in refs if r.get("controller")), refs[0])
    name = str(ref.get("name", "")) or None
    if name and ref.get("kind") == "ReplicaSet":
        template_hash = _dict(meta.get("labels")).get("pod-template-hash")
        if template_hash and name.endswith(f"-{template_hash}"):
            return name[: -len(template_hash) - 1]
        head, sep, _ = name.rpartition("-")
        return head if sep else name
    return name


def pod_from_api(pod: Mapping[str, Any]) -> KubePod:
    meta = _dict(pod.get("metadata"))
    spec = _dict(pod.get("spec"))
    status = _dict(pod.get("status"))
    text, ready, restarts = pod_status_text(pod)
    labels = _dict(meta.get("labels"))
    return KubePod(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        ready_containers=ready,
        total_containers=len(_list(spec.get("containers"))),
        status=text,
        restarts=restarts,
        created=_timestamp(meta.get("creationTimestamp")),
        ip=str(status["podIP"]) if status.get("podIP") else None,
        node=str(spec["nodeName"]) if spec.get("nodeName") else None,
        owner=pod_owner(pod),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
        uid=str(meta.get("uid", "")),
    )


# --- manifests -------------------------------------------------------------------


def load_calico_manifest(pool_cidr: str, path: Path | None = None) -> list[dict[str, Any]]:
    """The bundled Calico manifest with CALICO_IPV4POOL_CIDR set to `pool_cidr`."""
    try:
        network = ipaddress.ip_network(pool_cidr, strict=True)
    except ValueError:
        raise BackendError(
            f"bad pod pool {pool_cidr!r}: expected a network like 10.64.0.0/12"
        ) from None
    try:
        if path is None:
            text = resources.files("fabrictui.manifests").joinpath(CALICO_MANIFEST).read_text()
        else:
            text = path.read_text(encoding="utf-8")
        docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except (OSError, ModuleNotFoundError, yaml.YAMLError) as exc:
        raise BackendError(f"cannot read the Calico manifest: {_one_line(exc)}") from None
    found = 0
    for doc in docs:
        for container in _pod_containers(doc):
            for env in _list(container.get("env")):
                if isinstance(env, dict) and env.get("name") == "CALICO_IPV4POOL_CIDR":
                    env["value"] = str(network)
                    env.pop("valueFrom", None)
                    found += 1
    if not found:
        raise BackendError("the Calico manifest sets no CALICO_IPV4POOL_CIDR")
    return docs


def _pod_containers(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    template = _dict(_dict(doc.get("spec")).get("template"))
    pod_spec = _dict(template.get("spec"))
    return [
        c
        for c in _list(pod_spec.get("containers")) + _list(pod_spec.get("initContainers"))
        if isinstance(c, dict)
    ]


def workload_objects(w: DemoWorkload) -> list[dict[str, Any]]:
    labels = {"app": w.app_label}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": w.namespace}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": w.deployment, "namespace": w.namespace, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "nginx",
                                "image": w.image,
                                "ports": [{"containerPort": 80}],
                            }
                        ]
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": w.service, "namespace": w.namespace, "labels": labels},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 80}]},
        },
    ]


# --- the client ------------------------------------------------------------------


class KubeClient:
    """One cluster, through one kubeconfig context."""

    def __init__(
        self,
        kubeconfig: Path | None,
        context: str | None = None,
        *,
        config_dict: dict[str, Any] | None = None,
        request_timeout: float = 10.0,
        watch_timeout: int = 60,
        server_override: str | None = None,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.request_timeout = request_timeout
        self.watch_timeout = watch_timeout
        self.server_override = server_override
        self.config_dict = config_dict
        self.secrets = (
            Secrets.from_config(config_dict)
            if config_dict is not None
            else Secrets.from_kubeconfig(kubeconfig)
        )
        self._api: Any = None
        self._server = "the Kubernetes API"
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
                    data = _pointed_at(data, self.context, self.server_override)
                if data is not None:
                    api = config.new_client_from_config_dict(
                        data,
                        context=self.context,
                        persist_config=False,
                        client_configuration=configuration,
                    )
                else:
                    api = config.new_client_from_config(
                        config_file=str(self.kubeconfig),
                        context=self.context,
                        persist_config=False,
                        client_configuration=configuration,
                    )
            except Exception as exc:  # ConfigException, yaml errors, bad base64 ...
                raise BackendError(
                    f"kubeconfig {self.kubeconfig}: {self.secrets.scrub(_one_line(exc))}"
                ) from None
            conf = api.configuration
            for value in (conf.api_key or {}).values():
                self.secrets.add(str(value))
                for part in str(value).split():
                    self.secrets.add(part)
            if conf.password:
                self.secrets.add(str(conf.password))
            conf.retries = 1
            self._server = conf.host
            self._api = api
            return api

    def _error(self, exc: BaseException, what: str) -> BackendError:
        """A one-line, secret-free BackendError for any failure of a client call."""
        from kubernetes.client.exceptions import ApiException

        if isinstance(exc, BackendError):
            return exc
        if isinstance(exc, ApiException):
            status = exc.status or 0
            message = ""
            with contextlib.suppress(Exception):
                body = json.loads(exc.body) if exc.body else {}
                message = str(body.get("message", "")) if isinstance(body, dict) else ""
            if status == 0:
                text = f"{what}: {self._server} is not answering ({_one_line(exc.reason, 80)})"
                return Unreachable(self.secrets.scrub(text))
            detail = f"{status} {exc.reason or ''}".strip()
            if message:
                detail += f": {message}"
            text = self.secrets.scrub(_one_line(f"{what}: {detail}"))
            if status == 404:
                return NotFound(text)
            if status in (401, 403):
                return BackendError(f"{text} (check the kubeconfig's credentials)")
            if status >= 500 or status == 429:
                return Unreachable(text)
            return BackendError(text)
        reason = type(exc).__name__
        inner = getattr(exc, "reason", None)
        if inner is not None:
            reason = _one_line(inner, 120)
        text = f"{what}: {self._server} is not answering ({reason})"
        return Unreachable(self.secrets.scrub(_one_line(text)))

    async def _call(self, what: str, fn: Callable[[Any], Any]) -> Any:
        def run() -> Any:
            try:
                return fn(self._client())
            except Exception as exc:
                raise self._error(exc, what) from None

        return await asyncio.to_thread(run)

    def _timeout(self) -> tuple[float, float]:
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
                "crd.projectcalico.org", "v1", "blockaffinities", _request_timeout=self._timeout()
            )
        except ApiException as exc:
            if exc.status in (404, 403):
                return {}
            raise
        result: dict[str, list[str]] = {}
        for item in _list(_dict(data).get("items")):
            spec = _dict(_dict(item).get("spec"))
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
        nodes = [_dict(i) for i in _list(data.get("items"))]
        return [node_from_api(n, affinities.get(_name(n), ())) for n in nodes]

    async def list_pods(self, namespace: str | None = None) -> list[KubePod]:
        def read(api: Any) -> dict[str, Any]:
            if namespace is None:
                return self._get_json(api, "list_pod_for_all_namespaces")
            return self._get_json(api, "list_namespaced_pod", namespace=namespace)

        data = await self._call("list pods", read)
        return [pod_from_api(_dict(i)) for i in _list(data.get("items"))]

    # -- watches -------------------------------------------------------------------

    def watch_nodes(self) -> AsyncIterator[WatchEvent[KubeNode]]:
        def convert(obj: Mapping[str, Any]) -> KubeNode:
            return node_from_api(obj, self._affinities.get(_name(obj), ()))

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
            rv = str(_dict(data.get("metadata")).get("resourceVersion") or "")
            items = tuple(convert(_dict(i)) for i in _list(data.get("items")))
            yield WatchEvent("RELIST", items=items)
            async for kind, obj in self._stream(what, list_name, rv):
                if kind == "GONE":
                    log.info("watch %s: 410 Gone, listing again", what)
                    break
                yield WatchEvent(kind, obj=convert(obj))  # type: ignore[arg-type]

    async def _stream(
        self, what: str, list_name: str, rv: str
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()
        current: dict[str, Any] = {}

        def put(item: tuple[str, Any]) -> None:
            with contextlib.suppress(RuntimeError):  # loop closed
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            from kubernetes import client
            from kubernetes.client.exceptions import ApiException

            version = rv
            try:
                api = self._client()
                core = client.CoreV1Api(api)
                while not stop.is_set():
                    opened = time.monotonic()
                    resp = getattr(core, list_name)(
                        watch=True,
                        resource_version=version,
                        allow_watch_bookmarks=True,
                        timeout_seconds=self.watch_timeout,
                        _preload_content=False,
                        _request_timeout=(min(5.0, self.request_timeout), self.watch_timeout + 30),
                    )
                    current["resp"] = resp
                    try:
                        for line in _lines(resp):
                            if stop.is_set():
                                return
                            event = json.loads(line)
                            kind = event.get("type")
                            obj = _dict(event.get("object"))
                            if kind == "ERROR":
                                if obj.get("code") == 410:
                                    put(("GONE", {}))
                                    return
                                raise ApiException(
                                    status=int(obj.get("code") or 500),
                                    reason=str(obj.get("reason") or "watch error"),
                                )
                            meta = _dict(obj.get("metadata"))
                            version = str(meta.get("resourceVersion") or version)
                            if kind in ("ADDED", "MODIFIED", "DELETED"):
                                put((kind, obj))
                    finally:
                        current.pop("resp", None)
                        with contextlib.suppress(Exception):
                            resp.release_conn()
                    if time.monotonic() - opened < 1.0:
                        # A server that ends watches at once: do not spin on it.
                        stop.wait(1.0)
            except ApiException as exc:
                if exc.status == 410:
                    put(("GONE", {}))
                else:
                    put(("ERROR", self._error(exc, f"watch {what}")))
            except Exception as exc:
                if not stop.is_set():
                    put(("ERROR", self._error(exc, f"watch {what}")))
            finally:
                put(("END", None))

        thread = threading.Thread(target=work, name=f"fabrictui-watch-{what}", daemon=True)
        thread.start()
        try:
            while True:
                kind, value = await queue.get()
                if kind == "ERROR":
                    raise value
                if kind == "END":
                    raise Unreachable(f"watch {what}: stream ended")
                yield kind, value
                if kind == "GONE":
                    return
        finally:
            stop.set()
            resp = current.get("resp")
            if resp is not None:
                with contextlib.suppress(Exception):
                    resp.shutdown()

    # -- changes ---------------------------------------------------------------------

    async def apply_objects(self, docs: Sequence[Mapping[str, Any]]) -> list[str]:
        """Server-side apply (field manager fabrictui, conflicts forced), in order."""

        def apply(api: Any) -> list[str]:
            from kubernetes import dynamic
            from kubernetes.client.exceptions import ApiException
            from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

            dyn = dynamic.DynamicClient(api)
            lines = []
            for doc in docs:
                kind = str(doc.get("kind", ""))
                api_version = str(doc.get("apiVersion", ""))
                meta = _dict(doc.get("metadata"))
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

        return await self._call("apply", apply)

    async def apply_calico(self, pool_cidr: str = "10.64.0.0/12") -> list[str]:
        return await self.apply_objects(load_calico_manifest(pool_cidr))

    async def ensure_workload(self, workload: DemoWorkload) -> list[str]:
        """Create the seed's namespace, deployment and service when missing."""

        def ensure(api: Any) -> list[str]:
            from kubernetes import client
            from kubernetes.client.exceptions import ApiException

            core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
            ns, dep, svc = workload_objects(workload)
            t = self._timeout()
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
                    lambda: apps.create_namespaced_deployment(
                        workload.namespace, dep, _request_timeout=t
                    ),
                ),
                (
                    f"service/{workload.service}",
                    lambda: core.read_namespaced_service(
                        workload.service, workload.namespace, _request_timeout=t
                    ),
                    lambda: core.create_namespaced_service(
                        workload.namespace, svc, _request_timeout=t
                    ),
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

        return await self._call("ensure workload", ensure)

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

    async def ping(
        self, pod: KubePod, target_ip: str, count: int = 3, timeout: float = 10.0
    ) -> PingResult:
        """`ping -c COUNT -W 1 IP` through exec; loss is a result, failures are in `error`."""
        from fabrictui.parsers import ParseError
        from fabrictui.parsers.ping import parse_ping_output

        try:
            ipaddress.ip_address(target_ip)
        except ValueError:
            raise BackendError(f"ping: {target_ip!r} is not an IP address") from None
        command = ["ping", "-c", str(int(count)), "-W", "1", target_ip]
        audit.record_call(f"exec in {pod.namespace}/{pod.name}: {shlex.join(command)}")

        def run(api: Any) -> tuple[str, str, bool]:
            from kubernetes import client

            # stream() swaps the ApiClient's call_api for a websocket one while it
            # opens the exec: on the shared client that races with the other
            # threads (concurrent pings, lists, watches), which then go out as
            # websockets and fail ("Handshake status 200 OK"). Each exec gets a
            # client of its own, with the same configuration.
            exec_client = client.ApiClient(api.configuration)
            core = client.CoreV1Api(exec_client)
            try:
                return exec_ping(core)
            finally:
                exec_client.close()

        def exec_ping(core: Any) -> tuple[str, str, bool]:
            from kubernetes.stream import stream

            ws = stream(
                core.connect_get_namespaced_pod_exec,
                pod.name,
                pod.namespace,
                command=command,
                stderr=True,
                stdin=False,
                stdout=True,
                tty=False,
                _preload_content=False,
                _request_timeout=self._timeout(),
            )
            out: list[str] = []
            err: list[str] = []
            deadline = time.monotonic() + timeout
            try:
                while ws.is_open() and time.monotonic() < deadline and not cancelled.is_set():
                    ws.update(timeout=min(0.5, max(0.0, deadline - time.monotonic())))
                    if ws.peek_stdout():
                        out.append(ws.read_stdout())
                    if ws.peek_stderr():
                        err.append(ws.read_stderr())
                timed_out = ws.is_open()
                if not timed_out:
                    # anything left after the close
                    with contextlib.suppress(Exception):
                        out.append(ws.read_stdout(timeout=0))
                        err.append(ws.read_stderr(timeout=0))
            finally:
                ws.close()
            return "".join(out), "".join(err), timed_out

        source = pod.key
        cancelled = threading.Event()  # a cancelled ping closes its exec stream at once
        try:
            stdout, stderr, timed_out = await self._call(f"exec in {source}", run)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        except BackendError as exc:
            return PingResult(source, target_ip, 0, 0, None, None, None, error=str(exc))
        try:
            stats = parse_ping_output(stdout)
        except ParseError as exc:
            why = _one_line(stderr, 120) or _one_line(exc, 120)
            if timed_out:
                why = f"timed out after {timeout:g}s"
            return PingResult(source, target_ip, 0, 0, None, None, None, error=why)
        result = stats.as_result(source, target_ip)
        if timed_out and result.error is None and not stats.complete:
            result = PingResult(
                source,
                target_ip,
                result.transmitted,
                result.received,
                result.rtt_min_ms,
                result.rtt_avg_ms,
                result.rtt_max_ms,
                result.ttl,
                error=f"timed out after {timeout:g}s",
            )
        return result

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
            with contextlib.suppress(Exception):
                await asyncio.to_thread(api.close)


def _pointed_at(config: Any, context: str | None, server: str) -> dict[str, Any]:
    """A copy of a kubeconfig whose (current) context's cluster is reached at `server`,
    TLS still checking the name the original server URL had."""
    from urllib.parse import urlparse

    data = copy.deepcopy(config) if isinstance(config, dict) else {}
    name = context or data.get("current-context")
    ctx = next(
        (
            _dict(c.get("context"))
            for c in _list(data.get("contexts"))
            if _dict(c).get("name") == name
        ),
        {},
    )
    for entry in _list(data.get("clusters")):
        if _dict(entry).get("name") == ctx.get("cluster"):
            cluster = _dict(entry.get("cluster"))
            original = urlparse(str(cluster.get("server", ""))).hostname
            cluster["server"] = server
            if original and "tls-server-name" not in cluster:
                cluster["tls-server-name"] = original
    return data


def _name(obj: Mapping[str, Any]) -> str:
    return str(_dict(obj.get("metadata")).get("name", ""))


def _lines(resp: Any) -> Iterable[str]:
    """Lines of a streaming HTTP response (one JSON watch event each), as they arrive.

    `read1` returns whatever has arrived, chunked or not, so an event is seen
    at once even when a server streams without chunked encoding.
    """
    buffer = b""
    while True:
        chunk = resp.read1(65536, decode_content=False)
        if not chunk:
            break
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield line.decode("utf-8", errors="replace")
    if buffer.strip():
        yield buffer.decode("utf-8", errors="replace")
