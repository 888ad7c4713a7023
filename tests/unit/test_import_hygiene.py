"""The core never imports Textual, and the quick paths import nothing heavy."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._paths import ROOT


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return set(out.stdout.split())


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    code = "from importlinter.cli import lint_imports_command as c; c(['--no-cache'])"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
    )  # fmt: skip


def test_layer_contracts_hold():
    """The contracts in pyproject.toml ([tool.importlinter]): the rooms' layers, the ground
    apart, the real and the demo lab apart, Textual only in the app and ui, the rehearsal
    lab apart, the commands reached by the command line alone."""
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line"),
    [
        # a type-only import of the app under ui/ (ui/replay.py once had one)
        ("ui/replay.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
         "    from fabrictui.app import FabricApp\n"),
        ("render/kube.py", "def later():\n    from fabrictui.ui.widgets import pane\n"),
        ("backends/demo/wire.py", "from fabrictui.backends.real import remote\n"),
    ],
)  # fmt: skip
def test_the_contracts_catch_an_import_against_the_layers(tmp_path, module, line):
    """A copy of the package with one import that runs the wrong way is refused, however
    the import is written (under TYPE_CHECKING, inside a function)."""
    shutil.copytree(ROOT / "fabrictui", tmp_path / "fabrictui",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "fabrictui" / module
    target.write_text(target.read_text() + "\n" + line)
    done = _lint_imports(tmp_path)
    assert done.returncode != 0
    assert "1 broken" in done.stdout, done.stdout[-3000:]


def test_version_and_help_do_not_import_clients_or_textual():
    for argv in (["--version"], ["--help"]):
        code = (
            "import sys\nfrom fabrictui import cli\n"
            f"try:\n    cli.main({argv!r})\nexcept SystemExit:\n    pass"
        )
        modules = _loaded_after(code)
        for heavy in ("kubernetes", "asyncssh", "textual", "vagrant"):
            assert heavy not in modules, f"{argv} imported {heavy}"


def test_reading_a_capture_file_starts_without_asyncio_or_the_audit_log(tmp_path):
    """`fabrictui capture --read FILE` is timed against tcpdump whole (benchmarks/
    capture_cli.py): its start-up imports no event loop, no audit writer, no client."""
    import struct

    pcap = tmp_path / "empty.pcap"
    pcap.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    code = (
        "import sys\nfrom fabrictui import cli\n"
        f"cli.main(['capture', '--read', {str(pcap)!r}, '--json'])"
    )
    modules = _loaded_after(code)
    for heavy in ("asyncio", "fabrictui.audit", "kubernetes", "asyncssh", "textual"):
        assert heavy not in modules, f"capture --read imported {heavy}"
