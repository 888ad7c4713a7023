"""fabrictui's findings in the Prometheus text format (`verify --metrics FILE`), written with the
official `prometheus_client` for node exporter's textfile collector: to a temporary file beside
FILE, then renamed, so the collector never reads half a file. The shipped alerting rules
(fabrictui/telemetry/rules.yml, docs/telemetry.md) read these names.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from fabrictui.model import CheckResult, LabInfo


def findings_registry(
    lab: LabInfo, results: Sequence[CheckResult], mode: str, now: float | None = None
) -> CollectorRegistry:
    registry = CollectorRegistry()
    labels = ("lab", "mode", "check")
    passed = Gauge(
        "fabrictui_check_passed", "1 when the check passed, else 0", labels, registry=registry
    )
    observed = Gauge(
        "fabrictui_check_observed",
        "1 when the check could see what it needs (0: not observed, its verdict unknown)",
        labels,
        registry=registry,
    )
    for result in results:
        passed.labels(lab.name, mode, result.name).set(1 if result.passed else 0)
        observed.labels(lab.name, mode, result.name).set(1 if result.observed else 0)
    stamp = Gauge(
        "fabrictui_verify_timestamp_seconds", "when fabrictui verify ran", ("lab",),
        registry=registry,
    )  # fmt: skip
    stamp.labels(lab.name).set(time.time() if now is None else now)
    return registry


def write_findings(path: str, lab: LabInfo, results: Sequence[CheckResult], mode: str) -> None:
    """Write atomically (OSError: the caller names the file)."""
    write_to_textfile(path, findings_registry(lab, results, mode))
