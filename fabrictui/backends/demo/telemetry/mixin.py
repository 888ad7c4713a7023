"""`DemoTelemetry`: the demo's switches read "from Prometheus" once a telemetry fault of the
palette is on (`exporter-down:SWITCH`, `node-exporter-down:SWITCH`), so the demo shows what the
real source shows: each switch's source and sample age, and a stopped exporter named as such,
never as sessions (or interfaces) down.

Among DemoBackend's bases; the simulation's own reading is `simulated_bgp_summary`. Samples are
dated as a Prometheus scraping every SCRAPE_S would date them. Every reading is also kept (the
last HISTORY_KEPT per switch), so that while it reads "from Prometheus" the demo has a history
too: the TUI's `{` shows the fabric as the demo showed it then (`bgp_history`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

from fabrictui.backends.base import BackendError
from fabrictui.model import SwitchReading
from fabrictui.parsers.interfaces import Interface

SCRAPE_S = 2.0
SOURCE = "prometheus"
HISTORY_KEPT = 1200  # readings per switch: an hour of the fabric pane's 3 s polls


class DemoTelemetry:
    faultboard: object

    async def simulated_bgp_summary(self, switch: str) -> SwitchReading:
        raise NotImplementedError  # the demo backend's own

    _kept: dict[str, deque[SwitchReading]] | None = None

    @property
    def has_history(self) -> bool:
        """Reading "from Prometheus" (a telemetry fault on): its history is there to show."""
        board = self.faultboard
        return bool(
            getattr(board, "exporters_down", None) or getattr(board, "node_exporters_down", None)
        )

    async def bgp_summary(self, switch: str) -> SwitchReading:
        reading = await self._telemetry_reading(switch)
        if self._kept is None:
            self._kept = {}
        self._kept.setdefault(switch, deque(maxlen=HISTORY_KEPT)).append(reading)
        return reading

    async def bgp_history(self, at: float) -> dict[str, SwitchReading]:
        """Each switch's last reading at or before `at`, as a Prometheus's history has it."""
        out = {}
        for switch, kept in sorted((self._kept or {}).items()):
            then = [r for r in kept if r.fetched_at <= at]
            out[switch] = (
                replace(then[-1], source=SOURCE)
                if then
                else SwitchReading(
                    switch, None, f"{switch}: no sample in Prometheus's history then", at,
                    source=SOURCE,
                )
            )  # fmt: skip
        return out

    async def _telemetry_reading(self, switch: str) -> SwitchReading:
        reading = await self.simulated_bgp_summary(switch)
        down: dict[str, float] = getattr(self.faultboard, "exporters_down", {})
        if not down:
            return reading  # no telemetry fault: the demo reads its switches "over SSH"
        now = reading.fetched_at
        if switch in down:
            last_good = down[switch] - down[switch] % SCRAPE_S
            error = (
                f"{switch}: frr exporter down (connection refused), "
                f"last good scrape {max(0, round(now - last_good))} s ago"
            )
            return SwitchReading(switch, None, error, last_good, source=SOURCE)
        return replace(reading, fetched_at=now - now % SCRAPE_S, source=SOURCE)

    async def switch_interfaces(self, switch: str) -> list[Interface]:
        down: dict[str, float] = getattr(self.faultboard, "node_exporters_down", {})
        if switch in down:
            now = self._now()  # type: ignore[attr-defined]
            last_good = down[switch] - down[switch] % SCRAPE_S
            raise BackendError(
                f"{switch}: node exporter down (connection refused), "
                f"last good scrape {max(0, round(now - last_good))} s ago"
            )
        return await super().switch_interfaces(switch)  # type: ignore[misc]
