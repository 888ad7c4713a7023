"""A tiny Kubernetes-API-shaped HTTP server on 127.0.0.1 for tests: each request
goes to `handler(path, query, headers) -> (status, body, hang)`; `body` is bytes or an
iterable of byte chunks written one after another (a streaming watch)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class FakeApi:
    """Answers a script of (method, path-and-query predicate) -> response."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, list[str]], str]] = []
        self.handler: Any = None
        self.release = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                auth = self.headers.get("Authorization", "")
                api.requests.append((self.command, url.path, query, auth))
                status, body, hang = api.handler(url.path, query, self.headers)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                chunks = [body] if isinstance(body, bytes) else body  # or a generator
                try:
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except OSError:  # the client went away mid-stream
                    return
                if hang:
                    api.release.wait(30)

            do_PATCH = do_GET
            do_POST = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
