"""A reverse proxy on 127.0.0.1 in front of the rehearsal lab's Kubernetes API,
for injecting API faults a healthy server never produces on demand.

The client side is plain HTTP (`http://127.0.0.1:PORT`, any token); the proxy
forwards to the lab's API over HTTPS with the lab kubeconfig's CA and bearer
token, re-read whenever that file changes. Modes:

- `pass`: everything forwarded, watches streamed chunk by chunk;
- `500`: every request answers 500 with an InternalError Status;
- `gone`: the next watch of each collection answers, as a real API server
  does for a resourceVersion too old, HTTP 200 and one ERROR event with a 410
  Expired Status; later watches pass.

Switching mode ends the watches in flight cleanly (as a server's watch timeout
does), so clients meet the new mode at their next request.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import yaml
from aiohttp import web

HOP_HEADERS = {"host", "authorization", "content-length", "transfer-encoding", "connection"}


@dataclass(frozen=True)
class Upstream:
    server: str
    token: str
    ssl: ssl.SSLContext


@dataclass(frozen=True)
class Seen:
    at: float  # time.monotonic()
    method: str
    path: str
    watch: bool
    status: int


class KubeProxy:
    def __init__(self, lab_kubeconfig: Path) -> None:
        self.lab_kubeconfig = lab_kubeconfig
        self.mode = "pass"
        self.requests: list[Seen] = []
        self.port = 0
        self._gone_served: set[str] = set()
        self._stops: set[asyncio.Event] = set()
        self._upstream: tuple[float, Upstream] | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    # -- lifecycle -----

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        self._end_watches()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def write_kubeconfig(self, path: Path) -> Path:
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "proxy", "cluster": {"server": f"http://127.0.0.1:{self.port}"}}],
            "users": [{"name": "proxy", "user": {"token": "through-the-test-proxy"}}],
            "contexts": [{"name": "proxy", "context": {"cluster": "proxy", "user": "proxy"}}],
            "current-context": "proxy",
        }
        path.write_text(yaml.safe_dump(doc))
        path.chmod(0o600)
        return path

    def set_mode(self, mode: str) -> float:
        """Switch mode; returns the monotonic time of the switch."""
        assert mode in ("pass", "500", "gone"), mode
        self.mode = mode
        self._gone_served.clear()
        self._end_watches()
        return time.monotonic()

    def _end_watches(self) -> None:
        for stop in list(self._stops):
            stop.set()

    # -- forwarding -----

    def upstream(self) -> Upstream:
        stamp = self.lab_kubeconfig.stat().st_mtime
        if self._upstream is None or self._upstream[0] != stamp:
            doc = yaml.safe_load(self.lab_kubeconfig.read_text())
            cluster = doc["clusters"][0]["cluster"]
            user = doc["users"][0]["user"]
            ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
            context = ssl.create_default_context(cadata=ca)
            self._upstream = (stamp, Upstream(cluster["server"], user["token"], context))
        return self._upstream[1]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        watch = request.query.get("watch", "").lower() in ("1", "true")
        if self.mode == "500":
            self._seen(request, watch, 500)
            return web.json_response(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Failure",
                    "message": "injected by the test proxy: internal error",
                    "reason": "InternalError",
                    "code": 500,
                },
                status=500,
            )
        if watch and self.mode == "gone" and request.path not in self._gone_served:
            self._gone_served.add(request.path)
            self._seen(request, watch, 410)
            response = web.StreamResponse(status=200)
            response.content_type = "application/json"
            await response.prepare(request)
            event = {
                "type": "ERROR",
                "object": {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Failure",
                    "message": "too old resource version",
                    "reason": "Expired",
                    "code": 410,
                },
            }
            await response.write(json.dumps(event).encode() + b"\n")
            await response.write_eof()
            return response
        return await self._forward(request, watch)

    def _seen(self, request: web.Request, watch: bool, status: int) -> None:
        self.requests.append(Seen(time.monotonic(), request.method, request.path, watch, status))

    async def _forward(self, request: web.Request, watch: bool) -> web.StreamResponse:
        assert self._session is not None
        up = self.upstream()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        headers["Authorization"] = f"Bearer {up.token}"
        body = await request.read()
        try:
            upstream = await self._session.request(
                request.method,
                up.server + request.path_qs,
                headers=headers,
                data=body or None,
                ssl=up.ssl,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=5),
            )
        except (aiohttp.ClientError, OSError):
            self._seen(request, watch, 502)
            return web.Response(status=502, text="upstream API server not answering")
        self._seen(request, watch, upstream.status)
        stop = asyncio.Event()
        self._stops.add(stop)
        try:
            async with upstream:
                response = web.StreamResponse(status=upstream.status)
                response.content_type = upstream.content_type
                await response.prepare(request)
                while True:
                    read = asyncio.ensure_future(upstream.content.readany())
                    stopped = asyncio.ensure_future(stop.wait())
                    done, _ = await asyncio.wait(
                        {read, stopped}, return_when=asyncio.FIRST_COMPLETED
                    )
                    if stopped in done:
                        read.cancel()
                        break
                    stopped.cancel()
                    chunk = read.result()
                    if not chunk:
                        break
                    await response.write(chunk)
                await response.write_eof()
                return response
        finally:
            self._stops.discard(stop)
