"""Label and field selectors, the common forms kubectl and clients send."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fabrictui.lab.kubeapi.errors import ApiError

Predicate = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")


def _split_terms(selector: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms, depth, current = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def _label_term(term: str) -> Callable[[dict[str, str]], bool]:
    for op in ("!=", "==", "="):
        if op in term:
            key, _, value = term.partition(op)
            key, value = key.strip(), value.strip()
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    m = _SET_RE.match(term)
    if not m:
        raise ApiError(400, f"unable to parse requirement: {term!r}")
    negate, key, op, values = m.groups()
    if op:
        options = {v.strip() for v in values.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in options
        return lambda labels: labels.get(key) not in options
    if negate:
        return lambda labels: key not in labels
    return lambda labels: key in labels


def label_selector(selector: str | None) -> Predicate:
    if not selector:
        return lambda obj: True
    tests = [_label_term(t) for t in _split_terms(selector)]

    def match(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(t(labels) for t in tests)

    return match


def selector_from_match_labels(selector: dict[str, Any] | None) -> Predicate:
    """A Deployment/DaemonSet `spec.selector` (matchLabels and matchExpressions)."""
    selector = selector or {}
    terms = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            terms.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            terms.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            terms.append(key)
        elif op == "DoesNotExist":
            terms.append(f"!{key}")
    if not terms:
        return lambda obj: False  # an empty selector selects nothing for workloads
    return label_selector(",".join(terms))


def _field_value(obj: dict[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def field_selector(selector: str | None) -> Predicate:
    if not selector:
        return lambda obj: True
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for term in _split_terms(selector):
        for op in ("!=", "==", "="):
            if op in term:
                path, _, value = term.partition(op)
                path, value = path.strip(), value.strip()
                if op == "!=":
                    tests.append(lambda o, p=path, v=value: _field_value(o, p) != v)
                else:
                    tests.append(lambda o, p=path, v=value: _field_value(o, p) == v)
                break
        else:
            raise ApiError(400, f"invalid field selector: {term!r}")
    return lambda obj: all(t(obj) for t in tests)
