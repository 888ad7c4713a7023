"""Every command reads the same settings and goes through the same guard:
read-only from a config file binds the headless commands too, a broken config
stops any command that would change a lab, and refusals are audited. Run
through the installed command line, as a user or a script would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fabrictui import audit


def fabrictui(*args: str, config_dir: Path | None = None, timeout: float = 60.0):
    env = dict(os.environ)
    if config_dir is not None:
        env["FABRICTUI_CONFIG_DIR"] = str(config_dir)
    return subprocess.run(
        [sys.executable, "-m", "fabrictui.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def config_dir(isolated_user_dirs) -> Path:
    path = Path(os.environ["FABRICTUI_CONFIG_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


CHANGES = [
    ["deploy-calico", "--demo", "--yes"],
    ["scale", "--demo", "ready", "--replicas", "2", "--yes"],
]


@pytest.mark.parametrize("command", CHANGES, ids=["deploy-calico", "scale"])
def test_read_only_in_the_user_config_refuses_headless_changes(config_dir, command):
    (config_dir / "config.toml").write_text("read_only = true\n")
    done = fabrictui(*command)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "refused: fabrictui runs read-only (read_only = true in" in done.stderr
    assert str(config_dir / "config.toml") in done.stderr
    rows = audit.read_audit()
    assert [(row.action, row.result) for row in rows] == [(command[0], "refused")]


def test_read_only_in_a_config_given_with_config_refuses(tmp_path, config_dir):
    config = tmp_path / "shared.toml"
    config.write_text('[ui]\nread_only = true\ntheme = "fabric-16"\n')
    done = fabrictui(
        "scale", "--demo", "ready", "--replicas", "2", "--yes", "--config", str(config)
    )
    assert done.returncode == 2 and str(config) in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("read_only = tru\n", "config.toml"),
        ('read_only = "yes"\n', "read_only"),
        ('[keymap]\n"action.deploy" = 5\n', "keymap"),
    ],
    ids=["not-toml", "read_only-not-bool", "keymap-not-string"],
)
def test_a_broken_config_stops_changes_and_warns_reads(config_dir, text, names):
    (config_dir / "config.toml").write_text(text)
    done = fabrictui("deploy-calico", "--demo", "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert names in done.stderr and "not changing the lab" in done.stderr
    assert "Traceback" not in done.stderr
    # reading goes on, warned, and is not silently "not read-only"
    done = fabrictui("verify", "--demo", "ready", "--json")
    assert "warning" in done.stderr and names in done.stderr, done.stderr
    assert done.returncode in (0, 1) and json.loads(done.stdout)
    # the TUI stops too (before touching the terminal)
    done = fabrictui("--demo")
    assert done.returncode == 2 and names in done.stderr


def test_without_read_only_the_change_runs_and_is_audited(config_dir):
    (config_dir / "config.toml").write_text("read_only = false\n")
    done = fabrictui("deploy-calico", "--demo", "--yes", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = audit.read_audit()
    assert [(row.action, row.result) for row in rows] == [("deploy-calico", "ok")]
