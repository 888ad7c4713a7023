import pytest

from fabrictui.config import ConfigError, load_settings
from fabrictui.render.common import Palette
from fabrictui.ui.themes import OPTIONAL_VARIABLES, STATE_VARIABLES, load_themes, theme_from_toml


def test_defaults_without_a_config_file():
    settings = load_settings()
    assert settings.theme == "fabric-dark" and settings.read_only is False


def test_config_file_sets_theme_read_only_keymap(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        'read_only = true\n[ui]\ntheme = "fabric-16"\n[keymap]\n"action.deploy" = "f5"\n'
    )
    settings = load_settings(path)
    assert settings.theme == "fabric-16" and settings.read_only is True
    assert settings.keymap == {"action.deploy": "f5"}


@pytest.mark.parametrize(
    "text",
    ["read_only = 'yes'\n", "[ui]\ntheme = 3\n", "not toml at all [", "[keymap]\nx = 1\n"],
)
def test_bad_config_is_a_clear_error(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(path) in str(err.value)


def test_shipped_themes_load_with_state_variables():
    loaded = load_themes(None)
    names = {t.name for t in loaded.themes}
    assert {"fabric-dark", "fabric-light", "fabric-16"} <= names
    assert loaded.problems == []
    for theme in loaded.themes:
        assert set(STATE_VARIABLES) <= set(theme.variables)


def test_every_shipped_theme_colours_not_observed_apart_from_failure():
    """Issue 28: a check that could not see has a colour of its own in every theme."""
    for theme in load_themes(None).themes:
        assert set(OPTIONAL_VARIABLES) <= set(theme.variables), theme.name
        palette = Palette.from_variables(theme.variables)
        assert palette.unseen not in (palette.bad, palette.good, palette.bad.removeprefix("bold "))


def test_bad_user_theme_is_reported_not_fatal(tmp_path):
    (tmp_path / "broken.toml").write_text('name = "broken"\nprimary = "not-a-colour"\n')
    (tmp_path / "garbage.toml").write_bytes(b"\xff\xfe[[")
    loaded = load_themes(tmp_path)
    assert len(loaded.problems) == 2
    assert {"fabric-dark", "fabric-light", "fabric-16"} <= {t.name for t in loaded.themes}


def test_theme_needs_state_variables():
    with pytest.raises(ValueError, match="lacks"):
        theme_from_toml('name = "x"\nprimary = "#ffffff"\n', "x.toml")
