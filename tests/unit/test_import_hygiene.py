"""The core never imports Textual, and the quick paths import nothing heavy."""

import subprocess
import sys

from tests._paths import ROOT


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return set(out.stdout.split())


def test_layer_contracts_hold():
    """The contracts in pyproject.toml ([tool.importlinter]): ui -> session ->
    actions -> backends -> capture -> parsers -> model, Textual only in the app
    and ui, the rehearsal lab apart."""
    root = ROOT
    code = "from importlinter.cli import lint_imports_command as c; c(['--no-cache'])"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_version_and_help_do_not_import_clients_or_textual():
    for argv in (["--version"], ["--help"]):
        code = (
            "import sys\nfrom fabrictui import cli\n"
            f"try:\n    cli.main({argv!r})\nexcept SystemExit:\n    pass"
        )
        modules = _loaded_after(code)
        for heavy in ("kubernetes", "asyncssh", "textual", "vagrant"):
            assert heavy not in modules, f"{argv} imported {heavy}"
