"""A trace to a DNS name, as data: how `--to` names one, and the `dns` step that resolved it
from the source pod (docs/trace.md, "Tracing a DNS name"). Pure: no I/O; `trace/dns.py`
fills it in.

Target syntax: `dns/NAME[:PORT]` is always a DNS name (a short name such as `nginx-service`
goes through the source pod's search list, as an application's lookup does); a name with a
dot, without a `/`, that is not an IPv4 address (`nginx-service.space1`,
`nginx-service.space1.svc.cluster.local[:PORT]`) is a DNS name when no pod has that name.
Pod and Service names are written `[NS/]NAME` and a Service name has no dot, so only a pod
whose name has dots could be taken for a DNS name: the pods are asked first."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from fabrictui.actions.trace.svcsteps import RefError, ServiceStep, StepState
from fabrictui.constants import CLUSTER_DOMAIN
from fabrictui.model import Verdict

PREFIX = "dns/"
_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


@dataclass(frozen=True, slots=True)
class DnsRef:
    """A DNS name as the user wrote it; `explicit`: written `dns/...` (never a pod)."""

    text: str
    name: str
    port: int | None = None
    explicit: bool = False


def parse_dns_ref(text: str) -> DnsRef | None:
    """The DNS name `text` is written as, or None when it is written as a pod, a Service or
    an address. Raises RefError for a `dns/` target that is no valid name or port."""
    body = text.strip()
    explicit = body.startswith(PREFIX)
    if explicit:
        body = body[len(PREFIX) :]
    elif "/" in body or "." not in body:
        return None
    host, colon, port_text = body.rpartition(":") if ":" in body else (body, "", "")
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        pass
    else:
        if not explicit:
            return None  # an address (IP or CLUSTERIP:PORT): as before
        raise RefError(f"{text!r}: {host} is an address, not a name (give it without dns/)")
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if not host or len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise RefError(f"{text!r} is no DNS name (dns/NAME[:PORT], NAME like svc.ns)")
    port = None
    if colon:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise RefError(f"{text!r}: {port_text!r} is not a port number")
        port = int(port_text)
    return DnsRef(text, host, port, explicit)


def service_of(name: str, namespace: str) -> tuple[str, str] | None:
    """(namespace, service) a cluster name stands for, as the pod's search list makes it:
    `svc` (the pod's namespace), `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`; None
    for a name of another form."""
    labels = name.rstrip(".").split(".")
    suffix = ["svc", *CLUSTER_DOMAIN.split(".")]
    if len(labels) == 1 and not name.endswith("."):
        return namespace, labels[0]
    if len(labels) >= 2 and labels[2:] == suffix[: len(labels) - 2]:
        return labels[1], labels[0]
    return None


@dataclass(frozen=True)
class DnsResolution:
    """The `dns` step of a trace: NAME resolved from the source pod through the cluster DNS,
    its answer and time, or why not (`cause`, in the cluster DNS check's words)."""

    name: str
    source: str  # the pod it was resolved from, namespace/name
    step: ServiceStep  # step "dns": state, the lookup as a line, what was read on the way
    addresses: tuple[str, ...] = ()
    answered_as: str | None = None  # the name that answered, after the search list
    elapsed_ms: float | None = None
    via: str = ""  # pod, node
    program: str = ""  # getent, dig
    cause: str | None = None
    port: int | None = None  # the port asked for, for a Service the name stands for

    @property
    def verdict(self) -> Verdict:
        return {StepState.OK: Verdict.PASS, StepState.FAIL: Verdict.FAIL}.get(
            self.step.state, Verdict.NOT_OBSERVED
        )

    @property
    def address(self) -> str | None:
        """The address the trace goes on to: the answer's first."""
        return self.addresses[0] if self.verdict is Verdict.PASS and self.addresses else None

    @property
    def label(self) -> str:
        return f"dns/{self.name}" + (f":{self.port}" if self.port else "")

    def to_json(self) -> dict[str, Any]:
        return {
            **self.step.to_json(),
            "name": self.name,
            "addresses": list(self.addresses),
            "answered_as": self.answered_as,
            "elapsed_ms": None if self.elapsed_ms is None else round(self.elapsed_ms, 3),
            "via": self.via,
            "program": self.program,
        }
