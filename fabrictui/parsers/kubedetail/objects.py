"""A pod's and a node's full detail from their API objects (what `kubectl describe` reads)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fabrictui.constants import CALICO_NODE_ADDR_ANNOTATION, CALICO_TUNNEL_ADDR_ANNOTATION
from fabrictui.parsers import ParseError, json_list, json_map

BLOCKS_ANNOTATION = "fabrictui.lab/calico-blocks"  # the rehearsal lab's note of a node's blocks


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: str
    reason: str = ""
    message: str = ""
    since: str = ""  # lastTransitionTime


@dataclass(frozen=True, slots=True)
class ContainerDetail:
    name: str
    image: str
    ready: bool
    restarts: int
    state: str  # Running | Waiting | Terminated | Unknown
    reason: str = ""  # the state's reason (CrashLoopBackOff, Error, ...)
    message: str = ""
    since: str = ""  # startedAt / finishedAt
    last_reason: str = ""  # lastState.terminated
    last_exit: int | None = None
    last_finished: str = ""
    readiness: str = ""  # the probe as the pod spec has it ("exec [...]", "http-get :80/")
    liveness: str = ""
    init: bool = False


@dataclass(frozen=True, slots=True)
class PodDetail:
    namespace: str
    name: str
    uid: str
    phase: str
    node: str
    pod_ip: str
    host_ip: str
    ips: tuple[str, ...]
    qos: str
    created: str
    started: str
    owner: str  # "DaemonSet/calico-node"
    labels: tuple[tuple[str, str], ...]
    conditions: tuple[Condition, ...]
    containers: tuple[ContainerDetail, ...]
    host_network: bool
    deleting: str = ""  # deletionTimestamp
    reason: str = ""  # status.reason / message (Evicted ...)
    message: str = ""


@dataclass(frozen=True, slots=True)
class NodeDetail:
    name: str
    roles: tuple[str, ...]
    created: str
    conditions: tuple[Condition, ...]
    addresses: tuple[tuple[str, str], ...]  # (type, address)
    capacity: tuple[tuple[str, str], ...]
    allocatable: tuple[tuple[str, str], ...]
    taints: tuple[str, ...]  # key=value:Effect
    unschedulable: bool
    kubelet: str
    runtime: str
    os_image: str
    kernel: str
    pod_cidr: str
    tunnel_ip: str  # Calico's VXLAN (or IPIP) tunnel address
    calico_ip: str  # projectcalico.org/IPv4Address
    blocks: tuple[str, ...]


def _text(obj: dict[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ParseError(f"{what}: {key} is {type(value).__name__}, not text")
    return str(value)


def _int(value: Any, what: str) -> int:
    if value is None:
        return 0
    if type(value) is not int:
        raise ParseError(f"{what}: {value!r} is not a whole number")
    return value


def _conditions(value: Any, what: str) -> tuple[Condition, ...]:
    out = []
    for raw in json_list(value, f"{what} conditions"):
        c = json_map(raw, f"{what} condition")
        out.append(
            Condition(
                _text(c, "type", what), _text(c, "status", what), _text(c, "reason", what),
                _text(c, "message", what), _text(c, "lastTransitionTime", what),
            )
        )  # fmt: skip
    return tuple(out)


def _probe(value: Any, what: str) -> str:
    probe = json_map(value, what)
    if not probe:
        return ""
    if "exec" in probe:
        command = json_list(json_map(probe["exec"], what).get("command"), what)
        how = "exec [" + " ".join(str(x) for x in command) + "]"
    elif "httpGet" in probe:
        get = json_map(probe["httpGet"], what)
        host, port = _text(get, "host", what), _text(get, "port", what)
        how = f"http-get {host}:{port}{_text(get, 'path', what)}"
    elif "tcpSocket" in probe:
        how = f"tcp-socket :{_text(json_map(probe['tcpSocket'], what), 'port', what)}"
    else:
        how = "?"
    timing = [
        f"{label}={_int(probe.get(key), what)}{unit}"
        for key, label, unit in (
            ("initialDelaySeconds", "delay", "s"),
            ("timeoutSeconds", "timeout", "s"),
            ("periodSeconds", "period", "s"),
            ("failureThreshold", "#failure", ""),
        )
        if probe.get(key) is not None
    ]
    return " ".join([how, *timing])


def _container(
    spec: dict[str, Any], status: dict[str, Any], init: bool, what: str
) -> ContainerDetail:
    name = _text(spec, "name", what) or _text(status, "name", what)
    where = f"{what} container {name}"
    state = json_map(status.get("state"), where)
    kind, detail = "Unknown", {}
    for key in ("running", "waiting", "terminated"):
        if key in state:
            kind, detail = key.capitalize(), json_map(state[key], where)
            break
    last = json_map(json_map(status.get("lastState"), where).get("terminated"), where)
    exit_code = last.get("exitCode")
    return ContainerDetail(
        name=name,
        image=_text(spec, "image", where) or _text(status, "image", where),
        ready=status.get("ready") is True,
        restarts=_int(status.get("restartCount"), where),
        state=kind if status else "Waiting",
        reason=_text(detail, "reason", where),
        message=_text(detail, "message", where),
        since=_text(detail, "startedAt", where) or _text(detail, "finishedAt", where),
        last_reason=_text(last, "reason", where),
        last_exit=_int(exit_code, where) if exit_code is not None else None,
        last_finished=_text(last, "finishedAt", where),
        readiness=_probe(spec.get("readinessProbe"), f"{where} readinessProbe"),
        liveness=_probe(spec.get("livenessProbe"), f"{where} livenessProbe"),
        init=init,
    )


def _labels(meta: dict[str, Any], what: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in json_map(meta.get("labels"), what).items()))


def pod_detail(obj: Any) -> PodDetail:
    pod = json_map(obj, "pod")
    meta = json_map(pod.get("metadata"), "pod metadata")
    name = _text(meta, "name", "pod metadata")
    what = f"pod {name or '?'}"
    spec = json_map(pod.get("spec"), what)
    status = json_map(pod.get("status"), what)
    containers = []
    for key, skey, init in (
        ("initContainers", "initContainerStatuses", True),
        ("containers", "containerStatuses", False),
    ):
        statuses = {
            _text(json_map(s, what), "name", what): json_map(s, what)
            for s in json_list(status.get(skey), f"{what} {skey}")
        }
        for raw in json_list(spec.get(key), f"{what} {key}"):
            c = json_map(raw, f"{what} container")
            containers.append(_container(c, statuses.get(_text(c, "name", what), {}), init, what))
    owner = ""
    for ref in json_list(meta.get("ownerReferences"), what):
        r = json_map(ref, what)
        owner = f"{_text(r, 'kind', what)}/{_text(r, 'name', what)}"
        if r.get("controller") is True:
            break
    ips = tuple(_text(json_map(x, what), "ip", what) for x in json_list(status.get("podIPs"), what))
    pod_ip = _text(status, "podIP", what)
    return PodDetail(
        namespace=_text(meta, "namespace", what),
        name=name,
        uid=_text(meta, "uid", what),
        phase=_text(status, "phase", what) or "Unknown",
        node=_text(spec, "nodeName", what),
        pod_ip=pod_ip,
        host_ip=_text(status, "hostIP", what),
        ips=ips or ((pod_ip,) if pod_ip else ()),
        qos=_text(status, "qosClass", what),
        created=_text(meta, "creationTimestamp", what),
        started=_text(status, "startTime", what),
        owner=owner,
        labels=_labels(meta, what),
        conditions=_conditions(status.get("conditions"), what),
        containers=tuple(containers),
        host_network=spec.get("hostNetwork") is True,
        deleting=_text(meta, "deletionTimestamp", what),
        reason=_text(status, "reason", what),
        message=_text(status, "message", what),
    )


def _pairs(value: Any, what: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in json_map(value, what).items())


def node_detail(obj: Any) -> NodeDetail:
    node = json_map(obj, "node")
    meta = json_map(node.get("metadata"), "node metadata")
    name = _text(meta, "name", "node metadata")
    what = f"node {name or '?'}"
    spec = json_map(node.get("spec"), what)
    status = json_map(node.get("status"), what)
    info = json_map(status.get("nodeInfo"), what)
    annotations = json_map(meta.get("annotations"), what)
    labels = dict(_labels(meta, what))
    prefix = "node-role.kubernetes.io/"
    roles = tuple(sorted(k[len(prefix) :] for k in labels if k.startswith(prefix)))
    taints = []
    for raw in json_list(spec.get("taints"), what):
        t = json_map(raw, what)
        value = _text(t, "value", what)
        key = _text(t, "key", what) + (f"={value}" if value else "")
        taints.append(f"{key}:{_text(t, 'effect', what)}")
    blocks = tuple(
        b.strip() for b in str(annotations.get(BLOCKS_ANNOTATION, "")).split(",") if b.strip()
    )
    return NodeDetail(
        name=name,
        roles=roles,
        created=_text(meta, "creationTimestamp", what),
        conditions=_conditions(status.get("conditions"), what),
        addresses=tuple(
            (_text(json_map(a, what), "type", what), _text(json_map(a, what), "address", what))
            for a in json_list(status.get("addresses"), what)
        ),
        capacity=_pairs(status.get("capacity"), what),
        allocatable=_pairs(status.get("allocatable"), what),
        taints=tuple(taints),
        unschedulable=spec.get("unschedulable") is True,
        kubelet=_text(info, "kubeletVersion", what),
        runtime=_text(info, "containerRuntimeVersion", what),
        os_image=_text(info, "osImage", what),
        kernel=_text(info, "kernelVersion", what),
        pod_cidr=_text(spec, "podCIDR", what),
        tunnel_ip=_text(annotations, CALICO_TUNNEL_ADDR_ANNOTATION, what)
        or _text(annotations, "projectcalico.org/IPv4IPIPTunnelAddr", what),
        calico_ip=_text(annotations, CALICO_NODE_ADDR_ANNOTATION, what),
        blocks=blocks,
    )
