"""Hypothesis profiles shared by every fuzz test.

"ci" (the default) runs 300 examples per test; "long" runs 10,000, the
dedicated run: FABRICTUI_FUZZ=long pytest tests/test_fuzz_*.py
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILES = {"ci": 300, "long": 10_000}


def fuzz_examples() -> int:
    return PROFILES.get(os.environ.get("FABRICTUI_FUZZ", "ci"), PROFILES["ci"])


def fuzz_settings(*extra_health_checks: HealthCheck) -> settings:
    """Settings for one fuzz test: the profile's example count, no deadline."""
    return settings(
        max_examples=fuzz_examples(),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, *extra_health_checks],
    )
