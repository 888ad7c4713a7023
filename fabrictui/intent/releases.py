"""Which bundled Calico fits a Kubernetes API server, and how to apply to it.

The choice reads only what the server says about itself (`ServerFacts`: its version and
the group versions its discovery lists), so the plan screen, the real apply and the demo
lab reach the same answer, and the unit tests can feed it recorded discovery documents.

- Calico v3.10 (the seed's era) is documented for Kubernetes 1.14-1.16; its
  CustomResourceDefinitions are `apiextensions.k8s.io/v1beta1`, which servers stopped
  serving in 1.22.
- Calico v3.26 is documented for 1.24-1.28 and uses only APIs that are GA and still
  served: a newer server is accepted when its discovery lists every one of them (the
  plan says so), and refused when it does not.
- Server-side apply is on by default from 1.16 (beta; GA in 1.22). Discovery does not
  advertise it, so the version decides: older servers get create-or-replace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SERVER_SIDE_APPLY = "server-side apply"
CREATE_OR_REPLACE = "create-or-replace"
SSA_SINCE = (1, 16)  # beta and on by default; alpha behind a feature gate in 1.14-1.15


class NoFittingRelease(Exception):
    """No bundled Calico manifest fits the server; the message names the versions."""


@dataclass(frozen=True)
class ServerFacts:
    """What a Kubernetes API server says about itself: `/version` and discovery."""

    version: tuple[int, int, int]
    git_version: str
    group_versions: frozenset[str]  # "v1", "apps/v1", "apiextensions.k8s.io/v1beta1", ...
    kinds: Mapping[str, frozenset[str]] = field(default_factory=dict)  # gv -> kinds read

    @property
    def minor(self) -> tuple[int, int]:
        return self.version[:2]

    @property
    def short(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    def serves(self, group_version: str) -> bool:
        return group_version in self.group_versions


def parse_version(doc: Mapping[str, Any]) -> tuple[tuple[int, int, int], str]:
    """(major, minor, patch) and gitVersion from a `/version` document.

    gitVersion is the reliable field ("v1.15.2", "v1.29.0-eks-5e0fdde"); `minor` is
    "15+" on some distributions, so it is only the fallback."""
    git = str(doc.get("gitVersion") or "")
    found = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", git)
    if found:
        major, minor, patch = found.group(1), found.group(2), found.group(3) or "0"
        return (int(major), int(minor), int(patch)), git
    try:
        major_n = int(str(doc.get("major", "")).rstrip("+"))
        minor_n = int(str(doc.get("minor", "")).rstrip("+"))
    except ValueError:
        raise ValueError(f"the server's /version names no version: {dict(doc)!r}") from None
    return (major_n, minor_n, 0), git or f"v{major_n}.{minor_n}"


def served_group_versions(core: Mapping[str, Any], groups: Mapping[str, Any]) -> frozenset[str]:
    """Every group version of `/api` (APIVersions) and `/apis` (APIGroupList)."""
    served = {str(v) for v in core.get("versions") or () if v}
    for group in groups.get("groups") or ():
        if not isinstance(group, Mapping):
            continue
        for version in group.get("versions") or ():
            if isinstance(version, Mapping) and version.get("groupVersion"):
                served.add(str(version["groupVersion"]))
    return frozenset(served)


def facts_from_documents(
    version: Mapping[str, Any], core: Mapping[str, Any], groups: Mapping[str, Any]
) -> ServerFacts:
    numbers, git = parse_version(version)
    return ServerFacts(numbers, git, served_group_versions(core, groups))


@dataclass(frozen=True)
class CalicoRelease:
    version: str  # "v3.10.1"
    manifest: str  # the file under fabrictui/manifests/
    documented: tuple[tuple[int, int], tuple[int, int]]  # Kubernetes minors, inclusive
    newer_if_served: bool  # a newer server is fine when it serves every API below
    needs: tuple[str, ...]  # the group versions its manifest uses

    @property
    def range_text(self) -> str:
        (a, b), (c, d) = self.documented
        return f"{a}.{b}-{c}.{d}"


RELEASES: tuple[CalicoRelease, ...] = (
    CalicoRelease(
        "v3.10.1",
        "calico-vxlan-v3.10.yaml",
        ((1, 14), (1, 16)),
        False,
        ("v1", "apps/v1", "rbac.authorization.k8s.io/v1", "apiextensions.k8s.io/v1beta1"),
    ),
    CalicoRelease(
        "v3.26.4",
        "calico-vxlan.yaml",
        ((1, 24), (1, 28)),
        True,
        ("v1", "apps/v1", "rbac.authorization.k8s.io/v1", "apiextensions.k8s.io/v1"),
    ),
)


@dataclass(frozen=True)
class ReleaseChoice:
    release: CalicoRelease
    why: str


def _catalogue(releases: Iterable[CalicoRelease]) -> str:
    return ", ".join(f"Calico {r.version} (Kubernetes {r.range_text})" for r in releases)


def choose_release(
    facts: ServerFacts, releases: tuple[CalicoRelease, ...] = RELEASES
) -> ReleaseChoice:
    """The bundled Calico for this server, or NoFittingRelease naming the versions."""
    server = f"Kubernetes {facts.git_version or facts.short}"
    for release in releases:
        low, high = release.documented
        missing = [gv for gv in release.needs if not facts.serves(gv)]
        if low <= facts.minor <= high:
            if missing:
                raise NoFittingRelease(
                    f"{server} is in Calico {release.version}'s range ({release.range_text}) "
                    f"but does not serve {', '.join(missing)}: nothing applied"
                )
            return ReleaseChoice(
                release,
                f"{server}: Calico {release.version} is documented for Kubernetes "
                f"{release.range_text}",
            )
        if facts.minor > high and release.newer_if_served and release is releases[-1]:
            if missing:
                raise NoFittingRelease(
                    f"{server} is newer than every bundled manifest ({_catalogue(releases)}) "
                    f"and does not serve {', '.join(missing)}: nothing applied; "
                    "apply your own with --manifest FILE"
                )
            return ReleaseChoice(
                release,
                f"{server}: newer than Calico {release.version}'s documented "
                f"{release.range_text}, but it serves every API the manifest uses "
                f"({', '.join(release.needs)})",
            )
    oldest = releases[0].documented[0]
    where = "older than" if facts.minor < oldest else "between the ranges of"
    raise NoFittingRelease(
        f"{server} is {where} the bundled manifests ({_catalogue(releases)}): nothing "
        "applied; apply your own with --manifest FILE"
    )


@dataclass(frozen=True)
class ApplyMethod:
    name: str  # SERVER_SIDE_APPLY or CREATE_OR_REPLACE
    why: str


def choose_apply_method(facts: ServerFacts) -> ApplyMethod:
    server = f"Kubernetes {facts.git_version or facts.short}"
    if facts.minor >= SSA_SINCE:
        return ApplyMethod(
            SERVER_SIDE_APPLY,
            f"{server} has server-side apply: field manager fabrictui, conflicts forced",
        )
    return ApplyMethod(
        CREATE_OR_REPLACE,
        f"{server} has no server-side apply (off by default before 1.16): fabrictui "
        "creates what is missing and replaces the fields that differ (merge patch); no field "
        "ownership is recorded",
    )
