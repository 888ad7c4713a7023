"""The package's layout holds the rules docs/architecture.md gives: rooms named by feature,
no import circles (counting imports under TYPE_CHECKING and inside functions), the top level
only the ground and the entry points, and no folder or module too big to read at a glance."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from tests._paths import ROOT

PACKAGE = ROOT / "fabrictui"
GROUND_AND_ENTRY_POINTS = {
    "__init__", "app", "audit", "cli", "config", "constants", "deadlines", "model", "scrub",
}  # fmt: skip
MAX_MODULES_PER_FOLDER = 16
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every fabrictui module `module` imports, wherever the import statement stands.
    `from package import submodule` counts as importing the submodule only."""

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
            names = subs + ([base] if len(subs) < len(node.names) else [])
        else:
            continue
        for name in names:
            target = known(name) if name.startswith("fabrictui") else None
            if target and target != module:
                found.add(target)
    return found


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_circles():
    modules = _modules()
    edges = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert _cycles(edges) == []


def test_cycle_finder_finds_a_circle():
    """The finder itself: two modules that import each other, even in a function, are one."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_top_level_holds_only_the_ground_and_the_entry_points():
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top == GROUND_AND_ENTRY_POINTS


def test_folders_and_modules_stay_readable():
    problems = []
    for folder in [PACKAGE, *(p for p in PACKAGE.rglob("*") if p.is_dir())]:
        if folder.name == "__pycache__":
            continue
        names = [p.stem for p in folder.glob("*.py") if p.name != "__init__.py"]
        if len(names) > MAX_MODULES_PER_FOLDER:
            problems.append(f"{folder}: {len(names)} modules (at most {MAX_MODULES_PER_FOLDER})")
        prefixes = Counter(name.split("_")[0] for name in names if "_" in name)
        problems += [
            f"{folder}: {count} modules named {prefix}_* (a subpackage waiting to be made)"
            for prefix, count in prefixes.items()
            if count >= 3
        ]
    for path in PACKAGE.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            problems.append(f"{path}: {lines} lines (at most {MAX_LINES})")
    assert problems == []
