"""Settings: a TOML file in the user's config directory, overridden by the
environment and then by command-line options.

Paths come from platformdirs; `FABRICTUI_CONFIG_DIR` and `FABRICTUI_STATE_DIR`
move them (tests use this to keep the user's machine untouched). Nothing is
created at import time.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from fabrictui import deadlines as deadlines_mod
from fabrictui.deadlines import Deadlines

APP_NAME = "fabrictui"


def config_dir() -> Path:
    override = os.environ.get("FABRICTUI_CONFIG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME))


def state_dir() -> Path:
    override = os.environ.get("FABRICTUI_STATE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_state_dir

    return Path(user_state_dir(APP_NAME))


class ConfigError(ValueError):
    """The config file is unreadable or holds a wrong value; the message says where."""


@dataclass(slots=True)
class Settings:
    theme: str = "fabric-dark"
    read_only: bool = False
    read_only_source: str = ""  # where read-only comes from: "--read-only", "config FILE"
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> keys ("ctrl+d,D")
    host_poll_seconds: float = 10.0
    fabric_poll_seconds: float = 3.0
    overlay_buffer_frames: int = 5000
    ping_count: int = 3
    # a source is marked stale when it has not answered for this many poll intervals
    stale_after_polls: float = 3.0
    themes_dir: Path | None = None  # user themes, in addition to the shipped ones
    record: bool = True  # every TUI session is recorded (docs/replay.md)
    record_cap_mb: int = 1024  # all recordings together; the oldest go first
    # how long each call to a lab part may take, whole (docs/deadlines.md)
    deadlines: Deadlines = field(default_factory=Deadlines)
    # the lab's own Calico manifest for `D` ([deploy] manifest, or `--calico-manifest`);
    # None: the bundled Calico that fits the server
    calico_manifest: Path | None = None
    # `[telemetry] prometheus = URL`: BGP sessions from this Prometheus (docs/telemetry.md)
    prometheus_url: str | None = None


def load_settings(path: Path | None = None) -> Settings:
    """Read the config file (default: <config dir>/config.toml) if it exists."""
    settings = Settings()
    file = path or (config_dir() / "config.toml")
    if not file.exists():
        if path is not None:
            raise ConfigError(f"{file}: no such config file")
        settings.themes_dir = config_dir() / "themes"
        return settings
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{file}: {err}") from None
    ui = data.get("ui", {})
    _set(settings, "theme", ui.get("theme"), str, file)
    _set(settings, "read_only", data.get("read_only", ui.get("read_only")), bool, file)
    if settings.read_only:
        settings.read_only_source = f"read_only = true in {file}"
    polls = data.get("poll", {})
    _set(settings, "host_poll_seconds", polls.get("hosts"), (int, float), file)
    _set(settings, "fabric_poll_seconds", polls.get("fabric"), (int, float), file)
    _set(settings, "overlay_buffer_frames", data.get("overlay", {}).get("buffer"), int, file)
    record = data.get("record", {})
    if not isinstance(record, dict):
        raise ConfigError(f"{file}: [record] is a table (enabled, max_total_mb)")
    _set(settings, "record", record.get("enabled"), bool, file)
    _set(settings, "record_cap_mb", record.get("max_total_mb"), int, file)
    if "deadlines" in data:
        try:
            settings.deadlines = deadlines_mod.from_table(data["deadlines"], str(file))
        except ValueError as err:
            raise ConfigError(str(err)) from None
    deploy = data.get("deploy", {})
    if not isinstance(deploy, dict):
        raise ConfigError(f"{file}: [deploy] is a table (manifest)")
    manifest = deploy.get("manifest")
    if manifest is not None:
        if not isinstance(manifest, str) or not manifest:
            raise ConfigError(f"{file}: manifest has the wrong type ({type(manifest).__name__})")
        settings.calico_manifest = Path(manifest).expanduser()
    telemetry = data.get("telemetry", {})
    if not isinstance(telemetry, dict):
        raise ConfigError(f"{file}: [telemetry] is a table (prometheus)")
    _set(settings, "prometheus_url", telemetry.get("prometheus"), str, file)
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in keymap.items()
    ):
        raise ConfigError(f"{file}: [keymap] maps binding ids to key strings")
    settings.keymap = dict(keymap)
    themes_dir = ui.get("themes_dir")
    settings.themes_dir = Path(themes_dir).expanduser() if themes_dir else config_dir() / "themes"
    return settings


def _set(settings: Settings, name: str, value: object, kind: type | tuple, file: Path) -> None:
    if value is None:
        return
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ConfigError(f"{file}: {name} has the wrong type ({type(value).__name__})")
    setattr(settings, name, value)


def settings_for(config: str | None, read_only_flag: bool) -> Settings:
    """The settings every command runs with: the config file (`--config` or the
    default one), then `--read-only` on top. Raises ConfigError (file and key
    named) when the file cannot be used: callers that would change a lab stop."""
    settings = load_settings(Path(config).expanduser() if config else None)
    # before any backend exists: every client takes its deadlines from here
    deadlines_mod.use(settings.deadlines)
    if read_only_flag:
        settings.read_only = True
        settings.read_only_source = "--read-only"
    return settings
