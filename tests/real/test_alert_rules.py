"""The shipped alerting rules (fabrictui/telemetry/rules.yml) are valid for Prometheus and fire
as intended: `promtool check rules`, then `promtool test rules` over
tests/data/prometheus/rules_test.yml (a session down 30 s, an exporter down, a check failing
but not one that was not observed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from fabrictui.lab.telemetry import PROMETHEUS
from tests._paths import ROOT, TEST_DATA
from tests._require import require

RULES = ROOT / "fabrictui" / "telemetry" / "rules.yml"
PROMTOOL = str(Path(PROMETHEUS).with_name("promtool"))


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    require(PROMTOOL, "promtool is not installed (Debian package prometheus)")
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_rules_check(tmp_path: Path) -> None:
    done = _promtool("check", "rules", str(RULES), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 5 rules found" in done.stdout


def test_rules_fire_as_the_unit_tests_say(tmp_path: Path) -> None:
    shutil.copy(RULES, tmp_path / "rules.yml")
    shutil.copy(TEST_DATA / "prometheus" / "rules_test.yml", tmp_path / "rules_test.yml")
    done = _promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    # and the tests can fail: a session down alerted at once would break them
    (tmp_path / "rules.yml").write_text(RULES.read_text().replace("for: 30s", "for: 0s"))
    broken = _promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
    assert broken.returncode != 0 and "FabricBgpSessionDown" in broken.stdout + broken.stderr
