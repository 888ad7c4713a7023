"""A trace to a Service, as data: how the target was written, the steps a connection takes
(the Service, its endpoints, kube-proxy's rule on the sending node, the connect, the
endpoint) and what each showed. Pure: no I/O; `trace/service.py` fills it in.

Target syntax (docs/trace.md): `svc/[NS/]NAME[:PORT]` (or `service/...`) is always a
Service; `[NS/]NAME` is a pod when a pod has that name, else a Service; `IP:PORT` is the
Service with that ClusterIP and port; a bare IP that no pod holds and that is a Service's
ClusterIP is that Service. Without a port, the Service's first TCP port."""

from __future__ import annotations

import enum
import ipaddress
from collections import Counter
from dataclasses import dataclass
from typing import Any

from fabrictui.model import KubePod, KubeService, Verdict

PREFIXES = ("svc/", "service/", "services/")


class StepState(enum.StrEnum):
    OK = "ok"
    FAIL = "fail"
    UNOBSERVED = "unobserved"  # could not be read or run: nothing seen wrong
    SKIPPED = "skipped"  # not reached: an earlier step broke


@dataclass(frozen=True, slots=True)
class ServiceRef:
    """A Service as the user wrote it: by name (namespace optional) or by ClusterIP."""

    text: str
    name: str | None = None
    namespace: str | None = None
    ip: str | None = None
    port: int | None = None
    explicit: bool = False  # written `svc/...`: never a pod

    def matches(self, svc: KubeService) -> bool:
        if self.ip is not None:
            return svc.cluster_ip == self.ip
        return svc.name == self.name and self.namespace in (None, svc.namespace)

    @property
    def label(self) -> str:
        if self.ip is not None:
            return self.ip + (f":{self.port}" if self.port else "")
        return f"{self.namespace}/{self.name}" if self.namespace else str(self.name)


class RefError(ValueError):
    """The target is written like a Service and is not a valid one (a bad port)."""


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise RefError(f"{whole!r}: {text!r} is not a port number")
    return int(text)


def parse_ref(text: str) -> ServiceRef | None:
    """The Service `text` names, or None when it is written as a pod or an address may be
    (`[NS/]NAME`, a bare IP): those are Services only when no pod answers to them."""
    body = text.strip()
    explicit = False
    for prefix in PREFIXES:
        if body.startswith(prefix):
            body, explicit = body[len(prefix) :], True
            break
    body, colon, port_text = body.rpartition(":") if ":" in body else (body, "", "")
    port = _port(port_text, text) if colon else None
    try:
        ip = str(ipaddress.IPv4Address(body))
    except ValueError:
        ip = None
    if ip is not None:
        return ServiceRef(text, ip=ip, port=port, explicit=True) if explicit or port else None
    namespace, _, name = body.rpartition("/")
    if not name or "/" in namespace:
        raise RefError(f"{text!r} names no Service (svc/[NS/]NAME[:PORT])")
    if not explicit and port is None:
        return None
    return ServiceRef(text, name, namespace or None, None, port, True)


def name_ref(text: str) -> ServiceRef:
    """`[NS/]NAME` taken as a Service's name (no pod had it)."""
    namespace, _, name = text.rpartition("/")
    return ServiceRef(text, name, namespace or None)


def ip_ref(ip: str) -> ServiceRef:
    return ServiceRef(ip, ip=ip)


def selector_text(svc: KubeService) -> str:
    return ",".join(f"{k}={v}" for k, v in svc.selector) or "(none)"


def matching(svc: KubeService, pods: tuple[KubePod, ...] | list[KubePod]) -> list[KubePod]:
    wanted = dict(svc.selector)
    return [
        p
        for p in pods
        if p.namespace == svc.namespace
        and wanted
        and all(dict(p.labels).get(k) == v for k, v in wanted.items())
    ]


def near_misses(svc: KubeService, pods: list[KubePod] | tuple[KubePod, ...], limit: int = 3) -> str:
    """The pods that come closest to the selector, grouped by what they carry instead:
    `4 pods carry app=nginx (nginx-deployment-...-nnzz5, ...)`. Closest: the most of the
    selector's labels matched, then the most of its keys present; pods in the Service's
    namespace only (a selector never reaches another namespace), but a matching pod in
    another namespace is named, as that is a usual mistake."""
    wanted = dict(svc.selector)
    if not wanted:
        return ""
    scored: dict[str, list[KubePod]] = {}
    score_of: dict[str, tuple[int, int]] = {}
    for pod in pods:
        labels = dict(pod.labels)
        if pod.namespace != svc.namespace:
            continue
        same = sum(labels.get(k) == v for k, v in wanted.items())
        keys = sum(k in labels for k in wanted)
        if not keys:
            continue
        carry = ",".join(f"{k}={labels[k]}" for k in wanted if k in labels)
        scored.setdefault(carry, []).append(pod)
        score_of[carry] = (same, keys)
    parts = []
    for carry in sorted(scored, key=lambda c: (score_of[c], len(scored[c])), reverse=True)[:limit]:
        group = scored[carry]
        names = ", ".join(p.name for p in group[:2])
        more = ", ..." if len(group) > 2 else ""
        what = f"{len(group)} pods carry" if len(group) > 1 else "1 pod carries"
        parts.append(f"{what} {carry} ({names}{more})")
    elsewhere = Counter(
        p.namespace
        for p in pods
        if p.namespace != svc.namespace
        and all(dict(p.labels).get(k) == v for k, v in wanted.items())
    )
    for ns, count in sorted(elsewhere.items()):
        parts.append(f"{count} pod{'s' if count > 1 else ''} in namespace {ns} match it")
    if not parts:
        return f"no pod in {svc.namespace} has a label {' or '.join(wanted)}"
    return "closest: " + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class ServiceStep:
    """One step of the way to a Service: what it is, what was seen, and the lines that show
    it (each read as `host$ command -> output` where one was read)."""

    step: str  # service, endpoints, kube-proxy rule, connect, endpoint
    state: StepState
    text: str
    evidence: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "state": str(self.state),
            "text": self.text,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True)
class ServiceTrace:
    """The Service part of a trace: its steps in order, the cause of the first broken one,
    and the endpoint the pod trace went on to (None: the trace stopped at the Service)."""

    service: str  # namespace/name, or the ref as written when there is no such Service
    cluster_ip: str | None
    port: int | None
    steps: tuple[ServiceStep, ...]
    cause: str | None = None
    endpoint: str | None = None  # namespace/name of the endpoint pod traced
    endpoint_ip: str | None = None

    @property
    def verdict(self) -> Verdict:
        if self.cause is not None or any(s.state is StepState.FAIL for s in self.steps):
            return Verdict.FAIL
        if any(s.state is StepState.UNOBSERVED for s in self.steps):
            return Verdict.NOT_OBSERVED
        return Verdict.PASS

    @property
    def label(self) -> str:
        where = f"{self.cluster_ip}:{self.port}" if self.cluster_ip and self.port else ""
        return f"svc/{self.service}" + (f" ({where})" if where else "")

    def step_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.steps]
