"""A pod's or a node's full detail in a recording (issue 26): `kubedetail` events, read when
a pod turns not ready, restarts or is ready again, and when a node turns NotReady or Ready
again (session/detail_reads.py), so a replay shows the conditions, container states and (for
a pod) the not-ready container's last log lines of that moment, and the report lists what
changed.

The data is one plain record (dicts, lists, numbers, text), as `bgpdetail`'s: a fabrictui
older than this kind decodes it and skips it, and an absent kind means "not recorded":

    {"object": "pod" | "node", "namespace": "" for a node, "name", "why": what changed,
     "detail": the PodDetail / NodeDetail as plain data, or None when it could not be read,
     "error": why not ("" when read),
     "log": {"container", "previous", "lines", "error"} or None (a node, a pod ready again)}

A field added to PodDetail or NodeDetail later is its default (or None) in an older
recording's."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from fabrictui.parsers.kubedetail.objects import Condition, ContainerDetail, NodeDetail, PodDetail

KIND = "kubedetail"
LOG_LINES = 50  # the not-ready container's newest lines, kept with its detail


@dataclass(frozen=True, slots=True)
class RecordedLog:
    container: str
    previous: bool  # the instance before the last restart (`kubectl logs --previous`)
    lines: tuple[str, ...]
    error: str = ""  # the API's refusal in its words, when it refused


@dataclass(frozen=True, slots=True)
class RecordedDetail:
    """One `kubedetail` event, rebuilt."""

    t: float
    kind: str  # "pod" | "node"
    namespace: str
    name: str
    why: str
    detail: PodDetail | NodeDetail | None
    error: str
    log: RecordedLog | None


def detail_record(
    kind: str,
    namespace: str,
    name: str,
    why: str,
    detail: PodDetail | NodeDetail | None,
    error: str = "",
    log: RecordedLog | None = None,
) -> dict[str, Any]:
    return {
        "object": kind,
        "namespace": namespace,
        "name": name,
        "why": why,
        "detail": None if detail is None else dataclasses.asdict(detail),
        "error": error,
        "log": None if log is None else dataclasses.asdict(log),
    }


def _value(kind: str, value: Any, name: str) -> Any:
    """A scalar field as its annotation says (a damaged file's wrong type is refused here,
    not met by the screen that draws it): ValueError otherwise."""
    if kind == "str":
        return "" if value is None else str(value)
    if kind == "bool":
        return bool(value)
    if kind in ("int", "int | None"):
        if value is None and kind == "int | None":
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name}: {value!r} is not a number")
        return value
    return value  # tuples: built by the callers


def _build(cls: type, data: Any) -> Any:
    """`cls` from a dict: the fields it has, defaults for those it lacks (a field added
    later), each scalar of its annotated type; ValueError when it is not one."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: {type(data).__name__}, not a record")
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            value = data[f.name]
        elif f.default is not dataclasses.MISSING:
            value = f.default
        else:
            value = None
        values[f.name] = _value(str(f.type), value, f"{cls.__name__}.{f.name}")
    return cls(**values)


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(a), str(b)) for a, b in value or ())


def _texts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str | dict):
        raise ValueError(f"{value!r}: not a list")
    return tuple(str(v) for v in value or ())


def _conditions(value: Any) -> tuple[Condition, ...]:
    return tuple(_build(Condition, c) for c in value or ())


def _pod(data: dict[str, Any]) -> PodDetail:
    fields = dict(data)
    fields["conditions"] = _conditions(fields.get("conditions"))
    fields["containers"] = tuple(_build(ContainerDetail, c) for c in fields.get("containers") or ())
    fields["labels"] = _pairs(fields.get("labels"))
    fields["ips"] = _texts(fields.get("ips"))
    return _build(PodDetail, fields)


def _node(data: dict[str, Any]) -> NodeDetail:
    fields = dict(data)
    fields["conditions"] = _conditions(fields.get("conditions"))
    for name in ("addresses", "capacity", "allocatable"):
        fields[name] = _pairs(fields.get(name))
    for name in ("roles", "taints", "blocks"):
        fields[name] = _texts(fields.get(name))
    return _build(NodeDetail, fields)


def detail_from_record(t: float, data: Any) -> RecordedDetail:
    """What `detail_record` wrote; ValueError (or TypeError) when it is not one."""
    if not isinstance(data, dict):
        raise ValueError("a pod or node detail that is not a record")
    kind = str(data.get("object") or "")
    raw = data.get("detail")
    detail: PodDetail | NodeDetail | None = None
    if isinstance(raw, dict):
        detail = _pod(raw) if kind == "pod" else _node(raw) if kind == "node" else None
    log = data.get("log")
    return RecordedDetail(
        t=t,
        kind=kind,
        namespace=str(data.get("namespace") or ""),
        name=str(data.get("name") or ""),
        why=str(data.get("why") or ""),
        detail=detail,
        error=str(data.get("error") or ""),
        log=None if not isinstance(log, dict) else _build(RecordedLog, {
            **log, "lines": _texts(log.get("lines")),
            "previous": bool(log.get("previous")), "error": str(log.get("error") or ""),
        }),
    )  # fmt: skip


def recorded_details(events: Any, until: float | None = None) -> list[RecordedDetail]:
    """Every readable `kubedetail` among a recording's events (up to `until`), oldest first;
    a damaged one is left out (the rows and the events still say what they can)."""
    found = []
    for event in events:
        if until is not None and event.t > until:
            break
        if event.kind != KIND:
            continue
        try:
            found.append(detail_from_record(event.t, event.data))
        except (ValueError, TypeError, KeyError):
            continue
    return found


def change_line(rd: RecordedDetail) -> str:
    """One recorded detail as the report lists it: when, the object, what changed and the
    condition or container state that says why."""
    when = time.strftime("%H:%M:%S", time.localtime(rd.t))
    name = f"{rd.namespace}/{rd.name}" if rd.namespace else rd.name
    head = f"{when} {rd.kind} {name}: {rd.why}"
    if rd.detail is None:
        return f"{head}; not read: {rd.error}"
    words = []
    bad = [c for c in rd.detail.conditions if c.type == "Ready" or c.status != "True"]
    if isinstance(rd.detail, NodeDetail):
        # a node's pressure conditions are healthy when False: only Ready (and
        # NetworkUnavailable when True) say why it is not ready
        bad = [c for c in rd.detail.conditions if c.type == "Ready"]
    for c in bad[:1]:
        why = ": ".join(x for x in (c.reason, c.message) if x)
        words.append(f"{c.type} {c.status}" + (f" ({why})" if why else ""))
    if isinstance(rd.detail, PodDetail):
        for c in rd.detail.containers:
            if c.init or (c.ready and not c.restarts):
                continue
            state = c.state + (f" ({c.reason})" if c.reason else "")
            text = f"{c.name} {state}, {'ready' if c.ready else 'not ready'}, {c.restarts} restarts"
            if c.last_reason or c.last_exit is not None:
                text += f", last terminated {c.last_reason or '?'}"
                text += "" if c.last_exit is None else f" (exit {c.last_exit})"
            words.append(text)
    return "; ".join([head, *words])
