"""What fabrictui applies and how, decided before anything is applied: the bundled
Calico release that fits the server (or a refusal naming the versions), or a manifest of
the lab's own (`--manifest FILE`), checked whole against the server's discovery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fabrictui.backends.base import BackendError, LabBackend
from fabrictui.intent.manifest_check import (
    ManifestError,
    check_documents,
    read_manifest,
    used_group_versions,
)
from fabrictui.intent.releases import (
    ApplyMethod,
    NoFittingRelease,
    ReleaseChoice,
    choose_apply_method,
    choose_release,
)


async def bundled_choice(backend: LabBackend) -> tuple[ReleaseChoice, ApplyMethod]:
    """The bundled release and apply method for the lab's server; BackendError (nothing
    applied) when no bundled release fits."""
    facts = await backend.server_facts()
    try:
        return choose_release(facts), choose_apply_method(facts)
    except NoFittingRelease as exc:
        raise BackendError(str(exc)) from None


async def checked_manifest(
    backend: LabBackend, path: Path
) -> tuple[list[dict[str, Any]], ApplyMethod]:
    """The manifest's documents, once every one is known to the server; else BackendError
    naming each bad document (index and reason), before anything is applied."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BackendError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BackendError(f"{path}: not UTF-8 text, not a YAML manifest") from None
    try:
        docs = read_manifest(text, str(path))
        facts = await backend.server_facts(sorted(used_group_versions(docs)))
        problems = check_documents(docs, facts)
        if problems:
            raise ManifestError(str(path), problems)
    except ManifestError as exc:
        raise BackendError(str(exc)) from None
    return docs, choose_apply_method(facts)


async def plan_manifest(backend: LabBackend, path: Path) -> list[str]:
    """Every object of the manifest, whether it exists and would change, and the method."""
    docs, method = await checked_manifest(backend, path)
    preview = await backend.preview_objects(docs)
    new = sum(1 for line in preview if line.endswith(": new"))
    changes = sum(1 for line in preview if line.endswith("would change"))
    return [
        f"will apply {len(docs)} objects from {path}: {new} new, {changes} would change, "
        f"{len(docs) - new - changes} unchanged",
        f"by {method.name}: {method.why}",
        *preview,
    ]
