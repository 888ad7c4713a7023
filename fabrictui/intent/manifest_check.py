"""A manifest is checked whole before any of it is applied.

Bad YAML, a document that is not a Kubernetes object, a kind the server does not know or
an API version it does not serve: each is reported with its document's index (1-based,
as `kubectl` counts) and the reason, and nothing is applied. Kinds and group versions
that a CustomResourceDefinition in the same manifest defines count as known, since
they will be served by the time their objects are applied (CRDs go first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from fabrictui.intent.releases import ServerFacts

CRD_KIND = "CustomResourceDefinition"
# calicoctl's own API: not a Kubernetes API unless the Calico API server is installed
CALICOCTL_GROUP = "projectcalico.org/v3"


class ManifestError(Exception):
    """The manifest cannot be applied; `problems` has one line per bad document."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{source}: nothing applied:\n  " + "\n  ".join(self.problems))


def read_manifest(text: str, source: str) -> list[dict[str, Any]]:
    """The documents of a YAML manifest (empty ones skipped); bad YAML names its document."""
    docs: list[dict[str, Any]] = []
    index = 0
    try:
        for index, doc in enumerate(yaml.safe_load_all(text), start=1):
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise ManifestError(
                    source, [f"document {index}: a {type(doc).__name__}, not an object"]
                )
            docs.append(doc)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ManifestError(source, [f"document {index + 1}{where}: bad YAML: {problem}"]) from None
    if not docs:
        raise ManifestError(source, ["no Kubernetes object in it"])
    return docs


def crd_kinds(docs: Sequence[Mapping[str, Any]]) -> dict[str, set[str]]:
    """group version -> kinds that the manifest's own CRDs define (v1 and v1beta1 shapes)."""
    found: dict[str, set[str]] = {}
    for doc in docs:
        if doc.get("kind") != CRD_KIND:
            continue
        spec = doc.get("spec") if isinstance(doc.get("spec"), Mapping) else {}
        group = spec.get("group")
        kind = (
            (spec.get("names") or {}).get("kind")
            if isinstance(spec.get("names"), Mapping)
            else None
        )
        versions = [v.get("name") for v in spec.get("versions") or () if isinstance(v, Mapping)]
        if spec.get("version"):  # v1beta1's single version
            versions.append(spec["version"])
        for version in versions:
            if group and kind and version:
                found.setdefault(f"{group}/{version}", set()).add(str(kind))
    return found


def used_group_versions(docs: Sequence[Mapping[str, Any]]) -> set[str]:
    return {str(d["apiVersion"]) for d in docs if isinstance(d.get("apiVersion"), str)}


def check_documents(docs: Sequence[Mapping[str, Any]], facts: ServerFacts) -> list[str]:
    """One line per document the server cannot take (empty: all can be applied)."""
    defined = crd_kinds(docs)
    problems: list[str] = []
    for index, doc in enumerate(docs, start=1):
        why = _problem(doc, facts, defined)
        if why:
            name = (
                (doc.get("metadata") or {}).get("name")
                if isinstance(doc.get("metadata"), Mapping)
                else None
            )
            what = f" ({doc.get('kind')} {name})" if doc.get("kind") and name else ""
            problems.append(f"document {index}{what}: {why}")
    return problems


def _problem(doc: Mapping[str, Any], facts: ServerFacts, defined: dict[str, set[str]]) -> str:
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    meta = doc.get("metadata")
    if not isinstance(api_version, str) or not api_version:
        return "no apiVersion"
    if not isinstance(kind, str) or not kind:
        return "no kind"
    if not isinstance(meta, Mapping) or not meta.get("name"):
        return "no metadata.name"
    server = f"Kubernetes {facts.git_version or facts.short}"
    if api_version in defined:
        if kind in defined[api_version]:
            return ""
        return f"kind {kind} is not defined by the manifest's CRDs for {api_version}"
    if not facts.serves(api_version):
        if api_version == CALICOCTL_GROUP:
            return (
                f"{api_version} is calicoctl's API, not served by {server}: "
                "write it as crd.projectcalico.org/v1 or apply it with calicoctl"
            )
        group = api_version.rpartition("/")[0]
        others = sorted(gv for gv in facts.group_versions if gv.rpartition("/")[0] == group)
        hint = f" (it serves {', '.join(others)})" if others and group else ""
        return f"API version {api_version} is not served by {server}{hint}"
    known = facts.kinds.get(api_version)
    if known is not None and kind not in known:
        return f"unknown kind {kind} in {api_version} on {server}"
    return ""
