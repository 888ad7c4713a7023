"""The Prometheus HTTP API over aiohttp (the HTTP client the project already has).

Every failure is a `PrometheusError` naming what it is: not answering (refused, timed out),
not Prometheus (an answer that is not the API's JSON), or Prometheus's own error
(`bad_data: ...`). The URL is the user's or the lab's; nothing else is ever asked.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp

from fabrictui.backends.base import BackendError
from fabrictui.parsers import ParseError
from fabrictui.parsers.promql import Sample, Target, parse_query, parse_targets

TIMEOUT_S = 5.0


class PrometheusError(BackendError):
    """Prometheus could not be asked, or answered with an error."""


def check_url(url: str) -> str:
    """The base URL without a trailing slash; PrometheusError for what is not an http(s) URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PrometheusError(f"--prometheus {url}: not an http:// or https:// URL")
    return url.strip().rstrip("/")


class PrometheusClient:
    def __init__(self, url: str, timeout: float = TIMEOUT_S) -> None:
        self.url = check_url(url)
        self.timeout = timeout
        self.requests = 0  # HTTP requests made (the benchmark counts them)

    async def _get(self, path: str, params: dict[str, str]) -> bytes:
        self.requests += 1
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            # a session per request: nothing to close when the backend ends (a few loopback
            # connections per refresh cost nothing next to an SSH command)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(f"{self.url}{path}", params=params) as answer,
            ):
                body = await answer.read()
                status = answer.status
        except TimeoutError:
            raise PrometheusError(
                f"Prometheus at {self.url} did not answer within {self.timeout:g} s"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            why = " ".join(str(exc).split()) or type(exc).__name__
            raise PrometheusError(f"Prometheus at {self.url} not answering: {why}") from None
        if status >= 400 and not body.lstrip().startswith(b"{"):
            raise PrometheusError(f"{self.url}{path}: HTTP {status}: not a Prometheus API")
        return body

    async def query(self, promql: str, at: float | None = None) -> list[Sample]:
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        body = await self._get("/api/v1/query", params)
        try:
            return parse_query(body)
        except ParseError as exc:
            raise PrometheusError(f"{self.url}: {exc}") from None

    async def targets(self) -> list[Target]:
        body = await self._get("/api/v1/targets", {"state": "active"})
        try:
            return parse_targets(body)
        except ParseError as exc:
            raise PrometheusError(f"{self.url}: {exc}") from None
