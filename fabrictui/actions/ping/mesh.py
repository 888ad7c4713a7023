"""Full-mesh ping between pods (by default the demo workload's)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from fabrictui.actions.change.scale import belongs
from fabrictui.actions.progress import Progress, Report
from fabrictui.actions.verify.diagnose import LabSnapshot, diagnose_ping, take_snapshot
from fabrictui.backends.base import BackendError, DemoWorkload, LabBackend
from fabrictui.intent.labshape import same_rack
from fabrictui.model import KubePod, PingResult, Verdict, overall

Pair = tuple[str, str]  # (source pod key, target pod key)


@dataclass
class PingMatrix:
    pods: tuple[KubePod, ...]
    results: dict[Pair, PingResult] = field(default_factory=dict)
    racks: dict[str, int | None] = field(default_factory=dict)  # pod key -> rack of its node
    snapshot: LabSnapshot | None = None  # the lab as read after the mesh, when a pair failed

    @property
    def pairs(self) -> list[Pair]:
        return [(a.key, b.key) for a in self.pods for b in self.pods if a.key != b.key]

    def same_rack(self, a: str, b: str) -> bool:
        """Pods `a` and `b` (by key) on one known rack (an unknown rack never matches)."""
        return same_rack(self.racks.get(a), self.racks.get(b))

    @property
    def all_ok(self) -> bool:
        pairs = self.pairs
        return bool(pairs) and all((r := self.results.get(p)) is not None and r.ok for p in pairs)

    def failures(self) -> list[Pair]:
        """Pairs probed and not answered (a pair no method could probe is not a failure)."""
        return [
            p for p in self.pairs if not ((r := self.results.get(p)) and (r.ok or not r.probed))
        ]

    def unprobed(self) -> list[Pair]:
        """Pairs no method could probe (a missing program), with why in their result."""
        return [p for p in self.pairs if (r := self.results.get(p)) and not r.probed]

    def state(self, pair: Pair) -> Verdict:
        """Pass, fail (echoes went out, replies missing) or not observed (no probe ran)."""
        result = self.results.get(pair)
        return Verdict.NOT_OBSERVED if result is None else result.verdict

    @property
    def verdict(self) -> Verdict:
        return overall(self.state(p) for p in self.pairs)

    def counts(self) -> str:
        """`10 of 12 pairs fail, 2 not probed` / `all 12 pairs answer`."""
        states = [self.state(p) for p in self.pairs]
        failed, unseen = states.count(Verdict.FAIL), states.count(Verdict.NOT_OBSERVED)
        if not failed and not unseen:
            return f"all {len(states)} pairs answer"
        parts = [f"{failed} of {len(states)} pairs fail"] if failed else []
        if unseen:
            parts.append(f"{unseen} of {len(states)} pairs not probed")
        return ", ".join(parts)

    def pod(self, key: str) -> KubePod | None:
        return next((p for p in self.pods if p.key == key), None)

    def diagnose(self, pair: Pair) -> str | None:
        """Why this pair failed, from the lab's state (None when it did not fail)."""
        result = self.results.get(pair)
        if result is not None and (result.ok or result.not_probed is not None):
            return None  # answered, or no program to probe with: nothing of the lab to explain
        src, dst = self.pod(pair[0]), self.pod(pair[1])
        if src is None or dst is None:
            return "pod not part of this matrix"
        if result is None:
            return "not run (cancelled or timed out)"
        if self.snapshot is None or dst.ip is None:
            return result.error or "no reply"
        return diagnose_ping(self.snapshot, src, dst.ip, result)


async def default_pods(backend: LabBackend, workload: DemoWorkload | None = None) -> list[KubePod]:
    wl = workload or DemoWorkload()
    pods = await backend.list_pods(wl.namespace)
    return sorted(
        (p for p in pods if belongs(p, wl.namespace, wl.deployment) and p.running and p.ip),
        key=lambda p: p.name,
    )


async def ping_mesh(
    backend: LabBackend,
    report: Report,
    pods: list[KubePod] | None = None,
    count: int = 3,
    timeout: float = 10.0,
    concurrency: int = 4,
    on_result: Callable[[KubePod, KubePod, PingResult], None] | None = None,
) -> PingMatrix:
    chosen = list(pods) if pods is not None else await default_pods(backend)
    chosen = [p for p in chosen if p.ip]
    hosts = await backend.list_hosts()
    rack_of = {h.name: h.rack for h in hosts}
    matrix = PingMatrix(tuple(chosen), racks={p.key: rack_of.get(p.node or "") for p in chosen})
    pairs = matrix.pairs
    if not pairs:
        report(
            Progress("ping mesh: fewer than two pods with an IP, nothing to ping", None, "warning")
        )
        return matrix
    report(Progress(f"ping mesh: {len(pairs)} pairs, {count} echoes each", 0.0))
    by_key = {p.key: p for p in chosen}
    limit = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def one(pair: Pair) -> None:
        nonlocal done
        src, dst = by_key[pair[0]], by_key[pair[1]]
        assert dst.ip is not None
        async with limit:
            try:
                async with asyncio.timeout(timeout + 5.0):
                    result = await backend.ping(src, dst.ip, count=count, timeout=timeout)
            except TimeoutError:
                why = f"ping did not finish within {timeout + 5.0:g} s"
                result = PingResult.failed(src.key, dst.ip, why)
            except BackendError as err:
                result = PingResult.failed(src.key, dst.ip, str(err))
        matrix.results[pair] = result
        if on_result is not None:  # lets a matrix view fill in cell by cell
            on_result(src, dst, result)
        done += 1
        rtt = f" {result.rtt_avg_ms:.2f} ms" if result.rtt_avg_ms is not None else ""
        verdict = "ok" if result.ok else (result.error or f"{result.loss_pct:g}% loss")
        if not result.probed:
            verdict = f"not probed: {result.not_probed or verdict}"
        report(
            Progress(
                f"{src.name} → {dst.name} ({dst.ip}): {verdict}{rtt} (via {result.via})",
                done / len(pairs),
                "info" if result.ok else "warning",
            )
        )

    tasks = [asyncio.create_task(one(pair)) for pair in pairs]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    # a pair that failed, or whose exec failed, is explained from the lab's state (a pod not
    # Running, a session down); a missing program is explained by its own words
    if any(not r.ok and r.not_probed is None for r in matrix.results.values()):
        try:
            matrix.snapshot = await take_snapshot(backend)
        except (BackendError, TimeoutError) as err:
            report(Progress(f"could not read the lab to diagnose: {err}", None, "warning"))
    if matrix.verdict is not Verdict.PASS:
        level = "error" if matrix.verdict is Verdict.FAIL else "warning"
        report(Progress(f"ping mesh: {matrix.counts()}", 1.0, level))
    else:
        report(Progress(f"ping mesh: all {len(pairs)} pairs ok", 1.0, "ok"))
    return matrix
