"""`PrometheusTelemetry`: the real backend's BGP summaries and switch interfaces from Prometheus
when a Prometheus is set (`--prometheus URL`, `[telemetry] prometheus` in the config file, or
the rehearsal lab's own `lab up --telemetry`), SSH otherwise and as the
fallback (docs/telemetry.md).

It is among RealLabBackend's bases, first: its own SSH readers are `ssh_bgp_summary` and the
`switch_interfaces` of the bases after this one (bgp_detail.py). One round of queries answers
every switch of one refresh: the pane's concurrent per-switch calls share it (ROUND_TTL_S).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from fabrictui.backends.base import BackendError
from fabrictui.backends.real.prometheus.client import PrometheusClient, PrometheusError
from fabrictui.backends.real.prometheus.interfaces import Answer, PrometheusInterfaces
from fabrictui.backends.real.prometheus.sessions import PrometheusBgp
from fabrictui.model import SwitchReading
from fabrictui.parsers.interfaces import Interface

ROUND_TTL_S = 1.0


class PrometheusTelemetry:
    prometheus_url: str | None = None
    telemetry_at: float | None = None  # `--at`: readings as they were then (history)
    _telemetry: PrometheusBgp | None = None
    _round: tuple[float, dict[str, SwitchReading]] | None = None
    _round_lock: asyncio.Lock | None = None
    _interfaces: PrometheusInterfaces | None = None
    _if_round: tuple[float, dict[str, Answer]] | None = None
    _if_lock: asyncio.Lock | None = None

    def use_prometheus(self, url: str | None, at: float | None = None) -> None:
        """Read BGP sessions from the Prometheus at `url` (None: over SSH)."""
        self.prometheus_url = url
        self.telemetry_at = at
        client = PrometheusClient(url) if url else None
        self._telemetry = PrometheusBgp(client) if client else None
        self._interfaces = PrometheusInterfaces(client) if client else None
        self._round = self._if_round = None

    @property
    def telemetry_source(self) -> str:
        return f"prometheus {self.prometheus_url}" if self._telemetry else "ssh"

    async def ssh_bgp_summary(self, switch: str) -> SwitchReading:
        raise NotImplementedError  # the backend's own, over SSH

    async def bgp_summary(self, switch: str) -> SwitchReading:
        ssh = self
        if self._telemetry is None:
            return await ssh.ssh_bgp_summary(switch)
        try:
            readings = await self._readings()
        except PrometheusError as err:
            if self.telemetry_at is not None:
                raise  # history has no SSH fallback
            reading = await ssh.ssh_bgp_summary(switch)
            return replace(reading, source=f"ssh (Prometheus failed: {err})")
        return readings.get(switch) or self._telemetry.missing(switch, self.telemetry_at)

    def _named(self, reading: SwitchReading) -> SwitchReading:
        """Peers named as the switch's own summary names them (the exporter carries only the
        address): from the lab's neighbor addresses, so both sources draw the same pane."""
        info = getattr(self, "info", None)
        if reading.summary is None or info is None:
            return reading
        hosts = dict(info().peer_addresses)
        peers = tuple(
            replace(p, hostname=p.hostname or hosts.get(p.neighbor)) for p in reading.summary.peers
        )
        return replace(reading, summary=replace(reading.summary, peers=peers))

    async def _readings(self) -> dict[str, SwitchReading]:
        assert self._telemetry is not None
        if self._round_lock is None:
            self._round_lock = asyncio.Lock()
        async with self._round_lock:
            if self._round is not None and time.monotonic() - self._round[0] < ROUND_TTL_S:
                return self._round[1]
            readings = await self._telemetry.read_all((), self.telemetry_at)
            readings = {k: self._named(r) for k, r in readings.items()}
            self._round = (time.monotonic(), readings)
            return readings

    async def switch_interfaces(self, switch: str) -> list[Interface]:
        """From node exporter's series when a Prometheus is set; over SSH (the next base's)
        when none is, or when Prometheus fails (live only: `--at` has no SSH to fall back on).
        An exporter down, stale or missing raises BackendError naming it."""
        ssh = super()
        if self._interfaces is None:
            return await ssh.switch_interfaces(switch)  # type: ignore[misc]
        try:
            answers = await self._interface_round()
        except PrometheusError:
            if self.telemetry_at is not None:
                raise
            return await ssh.switch_interfaces(switch)  # type: ignore[misc]
        answer = answers.get(switch, self._interfaces.missing(switch))
        if isinstance(answer, str):
            raise BackendError(answer)
        return answer

    async def _interface_round(self) -> dict[str, Answer]:
        assert self._interfaces is not None
        if self._if_lock is None:
            self._if_lock = asyncio.Lock()
        async with self._if_lock:
            if self._if_round is not None and time.monotonic() - self._if_round[0] < ROUND_TTL_S:
                return self._if_round[1]
            answers = await self._interfaces.read_all(self.telemetry_at)
            self._if_round = (time.monotonic(), answers)
            return answers
