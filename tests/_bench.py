"""What benchmarks/README.md says each benchmark script's `--json` holds."""

from __future__ import annotations

from tests._paths import ROOT

BENCH = ROOT / "benchmarks"


def documented_keys() -> dict[str, list[str]]:
    """Each script's top-level JSON keys as benchmarks/README.md lists them."""
    found = {}
    for line in (BENCH / "README.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0].endswith(".py`"):
            found[cells[0].strip("`")] = sorted(key.strip() for key in cells[1].split(","))
    return found
