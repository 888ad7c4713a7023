"""`PrometheusTelemetry`: the real backend's BGP summaries, switch interfaces and (BGP mode)
nodes' BIRD protocols from Prometheus when a Prometheus is set (`--prometheus URL`,
`[telemetry] prometheus` in the config file, or the rehearsal lab's own `lab up --telemetry`),
SSH otherwise and as the fallback (docs/telemetry.md).

It is among RealLabBackend's bases, first: its own SSH readers are `ssh_bgp_summary`, and the
`switch_interfaces` (bgp_detail.py) and `node_bgp_status` (bgp.py) of the bases after this one.
One round of queries per kind answers every host of one refresh: the panes' concurrent per-host
calls share it (ROUND_TTL_S).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from fabrictui.backends.base import BackendError, TelemetryCut
from fabrictui.backends.real.prometheus.client import PrometheusClient, PrometheusError
from fabrictui.backends.real.prometheus.exporters import BIRD, INTERFACES, Cut, ExporterReader
from fabrictui.backends.real.prometheus.sessions import PrometheusBgp
from fabrictui.model import SwitchReading
from fabrictui.parsers.bird import BirdProtocol
from fabrictui.parsers.interfaces import Interface

ROUND_TTL_S = 1.0


class PrometheusTelemetry:
    prometheus_url: str | None = None
    telemetry_at: float | None = None  # `--at`: readings as they were then (history)
    _telemetry: PrometheusBgp | None = None
    _round: tuple[float, dict[str, SwitchReading]] | None = None
    _round_lock: asyncio.Lock | None = None
    _exporters: dict[str, ExporterReader] | None = None  # by job: node, bird
    _exporter_rounds: dict[str, tuple[float, dict[str, Any]]] | None = None
    _exporter_locks: dict[str, asyncio.Lock] | None = None

    def use_prometheus(self, url: str | None, at: float | None = None) -> None:
        """Read BGP sessions, interfaces and BIRD protocols from the Prometheus at `url`
        (None: over SSH)."""
        self.prometheus_url = url
        self.telemetry_at = at
        client = PrometheusClient(url) if url else None
        self._telemetry = PrometheusBgp(client) if client else None
        kinds = (INTERFACES, BIRD)
        self._exporters = {k.job: ExporterReader(client, k) for k in kinds} if client else None
        self._exporter_rounds, self._exporter_locks = {}, {}
        self._round = None

    @property
    def has_history(self) -> bool:
        """A Prometheus is set: the TUI's `{` can show its history (`bgp_history`)."""
        return self._telemetry is not None

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

    async def bgp_history(self, at: float) -> dict[str, SwitchReading]:
        """Every switch's sessions as Prometheus had them at `at`, in one round of its own:
        the live source (and `telemetry_at`) is left as it is (the TUI's history screen).
        BackendError when no Prometheus is set or it cannot be asked."""
        if self._telemetry is None:
            raise BackendError("no Prometheus for this lab: its history needs --prometheus URL")
        info = getattr(self, "info", None)
        switches = {name for pair in info().expected_sessions for name in pair} if info else ()
        readings = await self._telemetry.read_all(sorted(switches), at)
        return {name: self._named(r) for name, r in sorted(readings.items())}

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
        answer = await self._from_exporter(INTERFACES.job, switch)
        if answer is None:
            return await super().switch_interfaces(switch)  # type: ignore[misc]
        return answer

    async def node_bgp_status(self, node: str) -> list[BirdProtocol]:
        """From bird exporter's series when a Prometheus is set, as switch_interfaces."""
        answer = await self._from_exporter(BIRD.job, node)
        if answer is None:
            return await super().node_bgp_status(node)  # type: ignore[misc]
        return answer

    async def _from_exporter(self, job: str, host: str) -> Any:
        """The host's reading from Prometheus; None: read it over SSH."""
        if self._exporters is None:
            return None
        reader = self._exporters[job]
        try:
            answers = await self._exporter_round(reader)
        except PrometheusError:
            if self.telemetry_at is not None:
                raise  # history has no SSH fallback
            return None
        answer = answers.get(host, reader.kind.missing(host))
        if isinstance(answer, Cut):
            raise TelemetryCut(answer)  # the telemetry's blind spot, not the host's fault
        if isinstance(answer, str):
            raise BackendError(answer)
        return answer

    async def _exporter_round(self, reader: ExporterReader) -> dict[str, Any]:
        assert self._exporter_rounds is not None and self._exporter_locks is not None
        job = reader.kind.job
        lock = self._exporter_locks.setdefault(job, asyncio.Lock())
        async with lock:
            done = self._exporter_rounds.get(job)
            if done is not None and time.monotonic() - done[0] < ROUND_TTL_S:
                return done[1]
            answers = await reader.read_all(self.telemetry_at)
            self._exporter_rounds[job] = (time.monotonic(), answers)
            return answers
