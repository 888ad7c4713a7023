"""`fabrictui verify --metrics FILE` as typed: the checks in the Prometheus text format, valid
for `promtool check metrics`, a failing check as 0, and a FILE that cannot be written as one
line, exit 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fabrictui import cli
from fabrictui.lab.telemetry import PROMETHEUS
from tests._require import require
from tests.demo_helpers import fast_demo_only


@pytest.fixture(autouse=True)
def fast_demo(monkeypatch):
    fast_demo_only(monkeypatch)


def _values(path: Path) -> dict[tuple[str, str], float]:
    return {
        (sample.name, sample.labels.get("check", "")): sample.value
        for family in text_string_to_metric_families(path.read_text())
        for sample in family.samples
    }


def test_checks_as_metrics(tmp_path: Path, capsys) -> None:
    out = tmp_path / "fabrictui.prom"
    argv = ["verify", "-q", "--demo", "ready", "--demo-fault", "cut-uplink:leaf1:spine-sw1"]
    assert cli.main([*argv, "--metrics", str(out)]) == 1
    capsys.readouterr()
    values = _values(out)
    assert values[("fabrictui_check_passed", "leaf BGP sessions")] == 0
    assert values[("fabrictui_check_observed", "leaf BGP sessions")] == 1
    assert values[("fabrictui_check_passed", "nodes Ready")] == 1
    assert values[("fabrictui_verify_timestamp_seconds", "")] > 0
    assert [p.name for p in tmp_path.iterdir()] == ["fabrictui.prom"]  # no temporary left
    promtool = str(Path(PROMETHEUS).with_name("promtool"))
    require(promtool, "promtool is not installed (Debian package prometheus)")
    lint = subprocess.run(
        [promtool, "check", "metrics"], input=out.read_text(), capture_output=True, text=True,
        timeout=30, check=False,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_a_file_that_cannot_be_written(tmp_path: Path, capsys) -> None:
    target = tmp_path / "no" / "such" / "dir.prom"
    assert cli.main(["verify", "-q", "--demo", "ready", "--metrics", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"fabrictui verify: --metrics {target}: No such file or directory\n"
