"""Themes as data: TOML files shipped in `themes/` plus the user's own folder.

A theme file holds Textual's colour fields and a `[variables]` table with the
state colours the renderers use (`state-good`, `state-bad`, ...). A broken
user theme is skipped and reported, never fatal.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from textual.theme import Theme

DEFAULT_THEME = "fabric-dark"
STATE_VARIABLES = (
    "state-good",
    "state-warn",
    "state-bad",
    "state-muted",
    "badge-demo",
    "cross-rack",
)
# Shipped themes define these too; a user's theme written before them still loads (the
# renderers fall back to a default colour: `render.common.Palette.from_variables`).
OPTIONAL_VARIABLES = ("state-not-observed",)
_THEME_FIELDS = (
    "primary", "secondary", "warning", "error", "success", "accent",
    "foreground", "background", "surface", "panel", "boost",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ThemeLoad:
    themes: list[Theme]
    problems: list[str]  # one line per file that could not be used


def theme_from_toml(text: str, origin: str) -> Theme:
    """Build a Theme from a theme file's text; ValueError says what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{origin}: {err}") from None
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{origin}: missing name")
    if not isinstance(data.get("primary"), str):
        raise ValueError(f"{origin}: missing primary colour")
    variables = data.get("variables", {})
    missing = [v for v in STATE_VARIABLES if v not in variables]
    if missing:
        raise ValueError(f"{origin}: [variables] lacks {', '.join(missing)}")
    fields = {key: data[key] for key in _THEME_FIELDS if isinstance(data.get(key), str)}
    theme = Theme(
        name=name,
        dark=bool(data.get("dark", True)),
        ansi=bool(data.get("ansi", False)),
        variables={str(k): str(v) for k, v in variables.items()},
        **fields,
    )
    theme.to_color_system()  # raises on an unparsable colour
    return theme


def load_themes(user_dir: Path | None) -> ThemeLoad:
    themes: list[Theme] = []
    problems: list[str] = []
    shipped = resources.files("fabrictui.themes")
    sources: list[tuple[str, str]] = [
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in sorted(shipped.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    ]
    if user_dir is not None and user_dir.is_dir():
        for path in sorted(user_dir.glob("*.toml")):
            try:
                sources.append((str(path), path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as err:
                problems.append(f"{path}: {err}")
    for origin, text in sources:
        try:
            themes.append(theme_from_toml(text, origin))
        except Exception as err:  # a bad colour raises deep inside Textual
            problems.append(str(err) if isinstance(err, ValueError) else f"{origin}: {err}")
    return ThemeLoad(themes, problems)
