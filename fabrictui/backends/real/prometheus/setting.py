"""Which Prometheus (if any) a real lab's BGP sessions come from: `--prometheus URL` (or `off`),
else `[telemetry] prometheus` in the config file, else the rehearsal lab's own
(`lab up --telemetry` writes it into DIR/inventory.json); None: SSH."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fabrictui.backends.real.prometheus.client import check_url
from fabrictui.config import ConfigError, load_settings

OFF = "off"


def prometheus_url(args: argparse.Namespace, lab_path: Path) -> str | None:
    """The Prometheus URL in force; PrometheusError for an option that is not a URL."""
    option = getattr(args, "prometheus", None)
    if option is not None:
        return None if option == OFF else check_url(option)
    try:
        config = getattr(args, "config", None)
        configured = load_settings(Path(config) if config else None).prometheus_url
    except ConfigError:
        configured = None  # the command's own settings loading names the file and the key
    if configured:
        return check_url(configured)
    return _lab_own(lab_path)


def _lab_own(lab_path: Path) -> str | None:
    if not lab_path.is_dir():
        return None
    try:
        doc = json.loads((lab_path / "inventory.json").read_text())
    except (OSError, ValueError):
        return None
    telemetry = doc.get("telemetry") if isinstance(doc, dict) else None
    url = telemetry.get("prometheus") if isinstance(telemetry, dict) else None
    return check_url(url) if isinstance(url, str) else None
