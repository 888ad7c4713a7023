"""Helpers for tests of the demo lab: a controllable clock and fast backends."""

from __future__ import annotations

import time

from fabrictui.backends.demo import DemoBackend
from fabrictui.capture.pcap import PcapStreamDecoder
from fabrictui.model import VxlanFrame

SEED_EPOCH = 1573462632.0  # 2019-11-11 08:57:12 UTC, the seed's capture
FAST = 1000.0  # simulated seconds per real second in tests


class FakeClock:
    """Starts at a fixed epoch; follows real time (so background events happen) unless
    frozen, and can be stepped by hand."""

    def __init__(self, start: float = SEED_EPOCH, frozen: bool = False) -> None:
        self.start = start
        self.frozen = frozen
        self.offset = 0.0
        self._m0 = time.monotonic()

    def __call__(self) -> float:
        moving = 0.0 if self.frozen else time.monotonic() - self._m0
        return self.start + self.offset + moving

    def step(self, seconds: float) -> None:
        self.offset += seconds


def fast_backend(scenario: str = "ready", seed: int = 1, speed: float = FAST) -> DemoBackend:
    return DemoBackend(scenario=scenario, seed=seed, clock=FakeClock(), speed=speed)


def fast_demo_only(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`--demo` labs run sped up (a command takes milliseconds); every other choice goes
    through the real selection, so a command without `--demo` meets the real rule (no lab
    named: exit 2), as it does for a user."""
    from fabrictui.backends import select

    real = select.open_backend

    def open_backend(args, **kwargs):  # type: ignore[no-untyped-def]
        if getattr(args, "demo", None) is not None:
            backend = fast_backend(args.demo, seed=args.seed)
            for fault in getattr(args, "demo_fault", None) or ():  # --demo-fault, as the real
                backend.inject_fault(fault)
            return backend
        return real(args, **kwargs)

    monkeypatch.setattr(select, "open_backend", open_backend)


def frozen_backend(scenario: str = "ready", seed: int = 1) -> tuple[DemoBackend, FakeClock]:
    clock = FakeClock(frozen=True)
    return DemoBackend(scenario=scenario, seed=seed, clock=clock, speed=FAST), clock


async def drain(stream) -> tuple[bytes, list[VxlanFrame]]:
    """Close a capture and return every byte and decoded frame it produced."""
    await stream.close()
    data = b"".join([chunk async for chunk in stream.chunks()])
    return data, PcapStreamDecoder().feed(data)
