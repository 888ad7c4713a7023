"""The core never imports Textual, and the quick paths import nothing heavy."""

import subprocess
import sys

CORE = [
    "fabrictui.model", "fabrictui.parsers.bgp", "fabrictui.capture.pcap", "fabrictui.live",
    "fabrictui.overlay", "fabrictui.sessions", "fabrictui.backends.base", "fabrictui.config",
    "fabrictui.backends.select",
]  # fmt: skip


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return set(out.stdout.split())


def test_core_modules_do_not_import_textual():
    modules = _loaded_after("\n".join(f"import {name}" for name in CORE))
    assert not any(m == "textual" or m.startswith("textual.") for m in modules)


def test_version_and_help_do_not_import_clients_or_textual():
    for argv in (["--version"], ["--help"]):
        code = (
            "import sys\nfrom fabrictui import cli\n"
            f"try:\n    cli.main({argv!r})\nexcept SystemExit:\n    pass"
        )
        modules = _loaded_after(code)
        for heavy in ("kubernetes", "asyncssh", "textual", "vagrant"):
            assert heavy not in modules, f"{argv} imported {heavy}"
