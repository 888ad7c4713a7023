"""The Kubernetes versions the lab API can claim, and what each one serves.

A server is only as useful a rehearsal as it is faithful: what a real kube-apiserver of
that version does not serve, the lab does not serve either (404 for a group version it
lacks, 415 for an apply patch without server-side apply), so a client that works here
works there. Only the differences that matter to what the labs apply are modelled; the
rest are listed in docs/rehearsal-lab-kubeapi.md.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_VERSION = "1.15.2"  # the seed's cluster


@dataclass(frozen=True)
class KubeProfile:
    version: str  # "v1.15.2"
    crd_versions: tuple[str, ...]  # apiextensions.k8s.io, preferred first
    pdb_versions: tuple[str, ...]  # policy
    server_side_apply: bool  # on by default from 1.16 (beta), GA in 1.22
    build_date: str
    slice_versions: tuple[str, ...] = ()  # discovery.k8s.io EndpointSlices (v1 from 1.21)
    event_versions: tuple[str, ...] = ()  # events.k8s.io (v1beta1 from 1.8, v1 from 1.19)

    @property
    def minor(self) -> tuple[int, int]:
        major, minor, _ = self.version.lstrip("v").split(".")
        return int(major), int(minor)


PROFILES: dict[str, KubeProfile] = {
    # CustomResourceDefinition v1 arrived in 1.16; server-side apply was alpha behind a
    # feature gate (off) in 1.14-1.15; PodDisruptionBudget was policy/v1beta1 only.
    # events.k8s.io/v1beta1 is served beside core/v1 Events (the same objects, another shape).
    "1.15.2": KubeProfile(
        "v1.15.2",
        ("v1beta1",),
        ("v1beta1",),
        False,
        "2019-08-05T09:15:22Z",
        event_versions=("v1beta1",),
    ),
    # CRD v1beta1 was removed in 1.22 and policy/v1beta1 in 1.25.
    # EndpointSlice discovery.k8s.io/v1 arrived in 1.21 (1.15 has only core/v1 Endpoints).
    # events.k8s.io/v1beta1 was removed in 1.25.
    "1.29.0": KubeProfile(
        "v1.29.0", ("v1",), ("v1",), True, "2023-12-13T08:42:41Z", ("v1",), event_versions=("v1",)
    ),
}


def profile(version: str) -> KubeProfile:
    """The profile of `version` ("1.15.2" or "v1.15.2"); ValueError naming the choices."""
    found = PROFILES.get(version.lstrip("v"))
    if found is None:
        raise ValueError(
            f"the lab API cannot claim Kubernetes {version!r}: it can be "
            + " or ".join(sorted(PROFILES))
        )
    return found
